"""CloudWatch metrics (EMF via Powertools) of the calls the backends make to hosted models.

The alarms and the dashboard in template.yaml read these series, and CloudWatch matches a
metric by its exact dimension set, so the names and dimensions here are the template's:

- per model call, with the dimension ``service`` only (what the ``model-failures`` alarm and the
  *Model calls* / *Model call latency* panels read): ``ModelCalls`` (1), ``ModelFailures`` (1 when
  the call failed: error, throttle, timeout, empty answer; else 0) and ``ModelLatency`` (ms);
- the same three again with the dimensions ``model`` and ``service``, for the per-model panel;
- per request the filter refused, on the handler's metric set (dimension ``service``):
  ``ContentFiltered`` (the ``content-filtered-spike`` alarm);
- per generation, on the handler's metric set: ``ModelCallsPerRequest`` and
  ``SequentialModelCalls``, next to the end-to-end ``GenerationLatency`` (tryon_api/http/app.py).

``tests/integration/models/test_alarms_fire.py`` reads the template's alarms and dashboard,
runs requests against the model emulator and checks these lines make each alarm fire.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

metrics = Metrics()  # Powertools shares one metric set between instances: this is the handler's
logger = Logger(child=True)

# Outcomes of a call (model_calls.Outcome) that count as a failure of the model endpoint; a
# content-filter refusal ("filtered") is the model working as meant.
FAILED_OUTCOMES = frozenset({"empty", "throttled", "timeout", "transient", "failed", "config"})


@contextmanager
def _whole_lines() -> Iterator[None]:
    """Hold the log handler's lock while a blob is printed: model calls run in worker threads,
    and an EMF ``print`` racing a log line's write would glue them into one broken line."""
    handler = logger.registered_handler
    if handler is None:
        yield
        return
    handler.acquire()
    try:
        yield
    finally:
        handler.release()


def record_model_call(model: str, outcome: str, latency_ms: float) -> None:
    failed = 1 if outcome in FAILED_OUTCOMES else 0
    with _whole_lines():
        for dimensions in ({}, {"model": model}):
            # Its own metric set (not the handler's): calls finish in worker threads, and each
            # blob carries one dimension set. Powertools adds the ``service`` dimension.
            blob = EphemeralMetrics()
            for name, value in dimensions.items():
                blob.add_dimension(name=name, value=value)
            blob.add_metric(name="ModelCalls", unit=MetricUnit.Count, value=1)
            blob.add_metric(name="ModelFailures", unit=MetricUnit.Count, value=failed)
            blob.add_metric(name="ModelLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
            blob.flush_metrics()


def record_content_filtered() -> None:
    metrics.add_metric(name="ContentFiltered", unit=MetricUnit.Count, value=1)


def record_generation(calls: int, sequential: int) -> None:
    metrics.add_metric(name="ModelCallsPerRequest", unit=MetricUnit.Count, value=calls)
    metrics.add_metric(name="SequentialModelCalls", unit=MetricUnit.Count, value=sequential)

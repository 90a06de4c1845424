"""CloudWatch metrics (EMF via Powertools) of the calls the backends make to hosted models.

Per call: ``ModelCalls`` (count) and ``ModelLatency`` (ms) with the dimensions ``model`` and
``outcome`` (ok, filtered, empty, throttled, timeout, transient, failed, config), emitted as
single metrics because their dimensions differ from the handler's. Per request:
``ModelCallsPerRequest`` and ``SequentialModelCalls`` on the handler's shared metric set, next
to the end-to-end ``GenerationLatency`` that tryon_api/http/app.py records.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

metrics = Metrics()  # Powertools shares one metric set between instances: this is the handler's
logger = Logger(child=True)


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
    dimensions = {"model": model, "outcome": outcome}
    with _whole_lines():
        with single_metric(name="ModelCalls", unit=MetricUnit.Count, value=1, default_dimensions=dimensions):
            pass
        with single_metric(
            name="ModelLatency", unit=MetricUnit.Milliseconds, value=latency_ms, default_dimensions={"model": model}
        ):
            pass


def record_generation(calls: int, sequential: int) -> None:
    metrics.add_metric(name="ModelCallsPerRequest", unit=MetricUnit.Count, value=calls)
    metrics.add_metric(name="SequentialModelCalls", unit=MetricUnit.Count, value=sequential)

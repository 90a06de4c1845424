"""Run one event through the Lambda handler's code path, and print its metrics as Lambda would."""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping
from typing import Any

from tryon_dev.lambda_context import new_context

_flush_lock = threading.Lock()


def invoke(event: dict[str, Any], timeout_seconds: float | None = None) -> dict[str, Any]:
    from tryon_api.entrypoints.function_url import handle_event
    from tryon_api.entrypoints.wiring import get_services
    from tryon_api.http.app import metrics

    timeout = timeout_seconds or get_services().settings.local_timeout_seconds
    response = handle_event(event, new_context(timeout))
    print_metrics(metrics)
    return response


def print_metrics(metrics: Any) -> None:
    """Print the EMF metrics as Lambda would, without ever costing a request its answer.

    The dev server answers in threads, but Powertools Metrics and the EMF ``print`` are made for
    one request at a time: the log handler's lock keeps the printed blob and log lines from
    interleaving into broken lines, and a metric added by another thread mid-flush only costs
    that blob (the metrics are local-run information; the response is what must not be lost).
    """
    from tryon_api.http.app import logger

    handler = logger.registered_handler
    with _flush_lock:
        handler.acquire()
        try:
            if metrics.metric_set:  # another thread may have flushed ours already
                metrics.flush_metrics(raise_on_empty_metrics=False)
        except RuntimeError:  # "dictionary changed size during iteration"
            metrics.clear_metrics()
        finally:
            handler.release()


def decode_event_body(response: Mapping[str, Any]) -> bytes:
    """The response body as bytes."""
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)

"""The API function's Lambda entry point (template.yaml ``TryOnFunction``): function-URL events
answered by the HTTP front (``tryon_api.http.app``) over this container's services."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tryon_api.entrypoints.wiring import get_services
from tryon_api.http.app import answer_event, logger, metrics, tracer
from tryon_api.settings import SettingsError


def handle_event(event: Mapping[str, Any], context: LambdaContext | Any) -> dict[str, Any]:
    """Answer one function-URL (payload 2.0) event; never raises."""
    return answer_event(event, context, get_services)


def build_services_at_start_up() -> None:
    """Lambda's init phase builds the container's services (init runs on a full CPU, the first
    request does not) and names a bad setting once, in one log line, instead of per request."""
    try:
        get_services()
    except SettingsError as error:
        logger.error("invalid configuration", extra={"error": str(error)})
    except Exception as exc:  # noqa: BLE001 - start-up must not crash: each request answers 500 and logs it
        logger.error("services unavailable at start-up", extra={"error_type": type(exc).__name__})


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    build_services_at_start_up()


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_event(event, context)

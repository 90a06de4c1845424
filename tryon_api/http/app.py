"""Lambda entry point: function-URL events in, JSON responses out.

Order of work for every request: request id and logging context, CORS preflight, API key,
body size, then routing. Authentication comes before any parsing so an unauthenticated caller
learns nothing about validation. Every error is mapped to a status in ``error_response``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import CORSConfig, LambdaFunctionUrlResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tryon_api.http.log_redaction import install_log_redaction
from tryon_api.http.openapi import (
    GENERATE_IMAGE_RESPONSES,
    OPENAPI_DOCUMENT_RESPONSES,
    PLAYGROUND_RESPONSES,
    openapi_document,
)
from tryon_api.http.playground import playground_page
from tryon_api.http.request_parsing import parse_generate_request, raw_body
from tryon_api.http.request_schema import GenerateImageResponse
from tryon_api.http.services import get_services
from tryon_api.http.thread_safe_resolver import ThreadSafeFunctionUrlResolver
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import MethodNotAllowed, NotFound, PayloadTooLarge, TryOnError, error_body

logger = Logger()
install_log_redaction(logger.registered_handler)
tracer = Tracer()
metrics = Metrics()

API_KEY_HEADER = "x-api-key"
REQUEST_ID_HEADER = "X-Request-Id"
# Path -> methods it answers; anything else on a known path is a 405.
ROUTE_METHODS: dict[str, tuple[str, ...]] = {
    "/generate_image": ("POST",),
    "/": ("GET",),
    "/openapi.json": ("GET",),
}
# (method, path) pairs that need no API key: the playground page and the API document hold no data.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset({("GET", "/"), ("GET", "/openapi.json")})

CORS = CORSConfig(
    allow_origin="*",
    allow_headers=["Content-Type", "X-API-Key"],
    expose_headers=["X-Request-Id", "Retry-After"],
    max_age=600,
)


def json_response(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, separators=(",", ":")),
        headers=dict(headers or {}),
    )


def error_response(error: TryOnError) -> Response:
    return json_response(error.status, error_body(error), error.headers())


def _log_error(error: TryOnError) -> None:
    extra = {"status": error.status, "error_type": type(error).__name__, "error": error.message}
    if error.status >= 500:
        logger.warning("request failed", extra=extra)
    else:
        logger.info("request refused", extra=extra)


def _unexpected(exc: BaseException) -> TryOnError:
    # No traceback or message (it may hold data): the type and where it was raised.
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_globals.get('__name__', '?')}.{tb.tb_frame.f_code.co_name}" if tb else "?"
    logger.error("unexpected error", extra={"error_type": type(exc).__name__, "raised_in": where})
    return TryOnError()


def request_deadline(context: LambdaContext | None, fallback_seconds: float, margin: float) -> Deadline:
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    seconds = remaining_ms() / 1000.0 if callable(remaining_ms) else fallback_seconds
    return Deadline.after(seconds - margin)


def build_resolver() -> LambdaFunctionUrlResolver:
    """One resolver per thread, each holding its own current event (see thread_safe_resolver)."""
    app = ThreadSafeFunctionUrlResolver(cors=CORS)

    @app.post(
        "/generate_image",
        summary="Generate a try-on image",
        description="Dress the person in the selfie in the described clothing (10 to 30 s on the production model).",
        operation_id="generateImage",
        responses=GENERATE_IMAGE_RESPONSES,
        security=[{"apiKey": []}],
    )
    def generate_image() -> Response[GenerateImageResponse]:
        services = get_services()
        request = parse_generate_request(raw_body(app.current_event.body, app.current_event.is_base64_encoded))
        settings = services.settings
        deadline = request_deadline(
            app.lambda_context, settings.local_timeout_seconds, settings.deadline_margin_seconds
        )
        # Counted before generating, so the dashboard's requests by mode include the failures.
        metrics.add_metric(f"Requests{request.mode.capitalize()}", MetricUnit.Count, 1)
        started = time.perf_counter()
        result = services.tryon.generate(request, deadline)
        metrics.add_metric("GenerationLatency", MetricUnit.Milliseconds, (time.perf_counter() - started) * 1000)
        return json_response(200, {"image_base64": result.image_base64, "mime_type": result.mime_type})

    @app.get(
        "/",
        summary="The try-on playground page",
        operation_id="getPlayground",
        responses=PLAYGROUND_RESPONSES,
    )
    def playground() -> Response[str]:
        page = playground_page()
        return Response(
            status_code=200, content_type="text/html; charset=utf-8", body=page.html, headers=dict(page.headers)
        )

    @app.get(
        "/openapi.json",
        summary="This API's OpenAPI document",
        operation_id="getOpenApiDocument",
        responses=OPENAPI_DOCUMENT_RESPONSES,
    )
    def get_openapi_document() -> Response[dict[str, Any]]:
        return json_response(200, openapi_document())

    @app.exception_handler(TryOnError)
    def handle_tryon_error(error: TryOnError) -> Response:
        _log_error(error)
        return error_response(error)

    @app.not_found
    def handle_not_found(_: NotFoundError) -> Response:
        path = app.current_event.path
        allowed = ROUTE_METHODS.get(path)
        error: TryOnError = NotFound() if allowed is None else MethodNotAllowed()
        _log_error(error)
        response = error_response(error)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.exception_handler(Exception)
    def handle_unexpected(exc: Exception) -> Response:
        return error_response(_unexpected(exc))

    return app


_resolvers = threading.local()


def _resolver() -> LambdaFunctionUrlResolver:
    resolver = getattr(_resolvers, "app", None)
    if resolver is None:
        resolver = _resolvers.app = build_resolver()
    return resolver


def _body_size(event: Mapping[str, Any]) -> int:
    body = event.get("body") or ""
    size = len(body.encode("utf-8")) if isinstance(body, str) else len(body)
    return size * 3 // 4 if event.get("isBase64Encoded") else size


def _cors_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return CORS.to_dict(headers.get("origin"))


def _plain_response(error: TryOnError, headers: Mapping[str, str]) -> dict[str, Any]:
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **error.headers(), **_cors_headers(headers)},
        "body": json.dumps(error_body(error), separators=(",", ":")),
        "isBase64Encoded": False,
    }


def handle_event(event: Mapping[str, Any], context: LambdaContext | Any) -> dict[str, Any]:
    """Answer one function-URL (payload 2.0) event; never raises."""
    if not isinstance(event, Mapping):
        event = {}
    request_context = event.get("requestContext") or {}
    request_id = str(getattr(context, "aws_request_id", None) or request_context.get("requestId") or uuid.uuid4())
    logger.thread_safe_append_keys(correlation_id=request_id)
    started = time.perf_counter()
    # Function URLs lower-case header names and join repeated ones with commas; direct invokes
    # and tests may not, so names differing only in case are joined the same way here.
    headers: dict[str, str] = {}
    for key, value in (event.get("headers") or {}).items():
        name = str(key).lower()
        headers[name] = f"{headers[name]},{value}" if name in headers else str(value)
    event = {**event, "headers": headers}
    method = str((request_context.get("http") or {}).get("method", "")).upper()
    path = str(event.get("rawPath") or (request_context.get("http") or {}).get("path") or "/")
    try:
        if method != "OPTIONS" and (method, path) not in PUBLIC_ROUTES:
            get_services().verifier.verify(headers.get(API_KEY_HEADER))
            if _body_size(event) > get_services().settings.max_body_bytes:
                raise PayloadTooLarge("request body is too large: the limit is 6 MB")
        response = _resolver().resolve(event, context)
    except TryOnError as error:
        _log_error(error)
        response = _plain_response(error, headers)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a generic 500
        response = _plain_response(_unexpected(exc), headers)
    response.setdefault("headers", {})[REQUEST_ID_HEADER] = request_id
    status = int(response.get("statusCode", 500))
    metrics.add_metric(f"Status{status // 100}xx", MetricUnit.Count, 1)
    logger.info(
        "answered",
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    logger.thread_safe_clear_keys()
    return response


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_event(event, context)

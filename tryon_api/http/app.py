"""Lambda entry point: function-URL events in, JSON responses out.

Order of work for every request: request id and logging context, credential (an API key, or a
browser token) and the key's per-minute limit, body size, then routing (``routes.ROUTES``).
Authentication comes before any parsing so an unauthenticated caller
learns nothing about validation. Every answer is written by ``responses``. CORS is not here: the
function URL's ``Cors`` (template.yaml) is its one source, and the URL answers preflights itself;
headers set here as well would reach browsers twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tryon_api.http import routes
from tryon_api.http.auth import HTTP_OPTIONAL_WHITESPACE
from tryon_api.http.body_limit import body_too_large, event_body_bytes
from tryon_api.http.log_redaction import install_log_redaction
from tryon_api.http.request_parsing import parse_generate_request, raw_body
from tryon_api.http.responses import error_event_response, error_response, json_response
from tryon_api.http.services import Services, get_services
from tryon_api.http.thread_safe_resolver import ThreadSafeFunctionUrlResolver, per_thread_resolver
from tryon_api.keys.credentials import legacy_key_id
from tryon_api.keys.interface import Caller
from tryon_api.settings import SettingsError
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import MethodNotAllowed, NotFound, TryOnError

logger = Logger()
install_log_redaction(logger.registered_handler)
# botocore only: the model and secret calls. The garment fetcher patches requests when it is first built.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()

REQUEST_ID_HEADER = "X-Request-Id"


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


def generate_image(app: ThreadSafeFunctionUrlResolver) -> Response:
    services: Services = app.context["services"]
    request = parse_generate_request(raw_body(app.current_event.body, app.current_event.is_base64_encoded))
    settings = services.settings
    deadline = request_deadline(app.lambda_context, settings.local_timeout_seconds, settings.deadline_margin_seconds)
    # Counted before generating, so the dashboard's requests by mode include the failures.
    metrics.add_metric(f"Requests{request.mode.capitalize()}", MetricUnit.Count, 1)
    started = time.perf_counter()
    caller: Caller | None = app.context.get("caller")
    refund = services.keys.reserve_images(caller, 1) if services.keys is not None and caller is not None else None
    try:
        result = services.tryon.generate(request, deadline)
    except BaseException:
        if refund is not None:
            refund()  # no image was made: the quota gets it back
        raise
    metrics.add_metric("GenerationLatency", MetricUnit.Milliseconds, (time.perf_counter() - started) * 1000)
    return json_response(200, {"image_base64": result.image_base64, "mime_type": result.mime_type})


def submit_job(app: ThreadSafeFunctionUrlResolver) -> Response:
    from tryon_api.http import job_api  # the jobs code loads on the jobs routes only (cold start)

    settings = app.context["services"].settings
    deadline = request_deadline(app.lambda_context, settings.local_timeout_seconds, settings.deadline_margin_seconds)
    return job_api.submit(app, deadline)


def get_job(app: ThreadSafeFunctionUrlResolver, job_id: str) -> Response:
    from tryon_api.http import job_api

    return job_api.get(app, job_id)


def delete_job(app: ThreadSafeFunctionUrlResolver, job_id: str) -> Response:
    from tryon_api.http import job_api

    return job_api.delete(app, job_id)


def get_usage(app: ThreadSafeFunctionUrlResolver) -> Response:
    from tryon_api.http import key_api

    return key_api.usage(app)


def create_client_token(app: ThreadSafeFunctionUrlResolver) -> Response:
    from tryon_api.http import key_api

    return key_api.create_client_token(app)


def playground(app: ThreadSafeFunctionUrlResolver) -> Response:
    from tryon_api.http.playground import playground_page  # only for the page's own requests

    page = playground_page()
    return Response(
        status_code=200, content_type="text/html; charset=utf-8", body=page.html, headers=dict(page.headers)
    )


def openapi_document(app: ThreadSafeFunctionUrlResolver) -> Response:
    from tryon_api.http.openapi import openapi_document  # pydantic and Powertools' OpenAPI models: only here
    from tryon_api.http.wait_hint import wait_hint

    document = openapi_document()
    # The playground's waiting text: how long this deployment's backend usually takes (seconds only).
    document["info"]["x-tryon-wait"] = wait_hint(get_services().settings.backend)
    return json_response(200, document)


HANDLERS: dict[str, Callable[..., Response]] = {
    routes.GENERATE_IMAGE.operation_id: generate_image,
    routes.SUBMIT_JOB.operation_id: submit_job,
    routes.GET_JOB.operation_id: get_job,
    routes.DELETE_JOB.operation_id: delete_job,
    routes.GET_USAGE.operation_id: get_usage,
    routes.CREATE_CLIENT_TOKEN.operation_id: create_client_token,
    routes.PLAYGROUND.operation_id: playground,
    routes.OPENAPI_DOCUMENT.operation_id: openapi_document,
}


def build_resolver() -> ThreadSafeFunctionUrlResolver:
    app = ThreadSafeFunctionUrlResolver()
    for route in routes.ROUTES:
        handler = HANDLERS[route.operation_id]
        # Path parameters (``/jobs/<job_id>``) arrive as keyword arguments.
        app.route(route.path, route.method)(lambda handler=handler, **parameters: handler(app, **parameters))

    @app.exception_handler(TryOnError)
    def handle_tryon_error(error: TryOnError) -> Response:
        _log_error(error)
        return error_response(error)

    @app.not_found
    def handle_not_found(_: NotFoundError) -> Response:
        allowed = routes.allowed_methods(app.current_event.path)
        error: TryOnError = MethodNotAllowed() if allowed else NotFound()
        _log_error(error)
        response = error_response(error)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.exception_handler(Exception)
    def handle_unexpected(exc: Exception) -> Response:
        return error_response(_unexpected(exc))

    return app


resolver = per_thread_resolver(build_resolver)


def _new_request_id() -> str:
    import uuid  # only for events that carry no id (direct invokes): Lambda and function URLs give one

    return str(uuid.uuid4())


def authenticate(services: Services, method: str, path: str, headers: Mapping[str, str]) -> Caller:
    """The caller of a request that needs a credential (an API key, or a browser token on the
    routes it covers), or 401."""
    operation = routes.operation_for(method, path) or ""
    if services.keys is None:  # plain keys only
        services.verifier.verify(headers.get(routes.API_KEY_HEADER))
        presented = str(headers.get(routes.API_KEY_HEADER)).strip(HTTP_OPTIONAL_WHITESPACE)
        return Caller(key_id=legacy_key_id(presented), owner_seed=presented)
    return services.keys.authenticate(
        operation,
        headers.get(routes.API_KEY_HEADER),
        headers.get(routes.AUTHORIZATION_HEADER),
        headers.get(routes.ORIGIN_HEADER),
    )


def handle_event(event: Mapping[str, Any], context: LambdaContext | Any) -> dict[str, Any]:
    """Answer one function-URL (payload 2.0) event; never raises."""
    if not isinstance(event, Mapping):
        event = {}
    request_context = event.get("requestContext") or {}
    request_id = str(getattr(context, "aws_request_id", None) or request_context.get("requestId") or _new_request_id())
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
    caller: Caller | None = None
    services: Services | None = None
    try:
        if method == "OPTIONS":
            # A preflight: deployed, the function URL answers it and never calls the function.
            # Direct invokes (sam local invoke) get an empty 204, with no CORS headers.
            response: dict[str, Any] = {"statusCode": 204, "headers": {}, "body": "", "isBase64Encoded": False}
        else:
            services = get_services()
            if not routes.is_public(method, path):
                caller = authenticate(services, method, path, headers)
                if services.keys is not None:
                    services.keys.admit(caller, routes.operation_for(method, path) or "")
                if event_body_bytes(event) > services.settings.max_body_bytes:
                    raise body_too_large(services.settings.max_body_bytes)
            app = resolver()
            app.append_context(services=services, caller=caller)
            response = app.resolve(event, context)
    except TryOnError as error:
        _log_error(error)
        response = error_event_response(error)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a generic 500
        response = error_event_response(_unexpected(exc))
    response.setdefault("headers", {})[REQUEST_ID_HEADER] = request_id
    if caller is not None and services is not None and services.keys is not None:
        # Every answer to a limited key, refusals included (IETF RateLimit header fields).
        try:
            response["headers"].update(services.keys.rate_limit_headers(caller))
        except Exception as exc:  # noqa: BLE001 - the answer stands without them
            _unexpected(exc)
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

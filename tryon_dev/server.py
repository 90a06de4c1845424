"""The local HTTP server: waitress, a maintained production WSGI server, in front of the Lambda handler.

Every request becomes the function-URL (payload 2.0) event Lambda would send
(``tryon_dev.events``) and goes through ``tryon_api.entrypoints.function_url.handle_event``. The HTTP layer is
waitress's, with the limits a function URL has, each answered with a documented status and the
API's ``{"error": ...}`` shape:

- the body limit (413) is enforced while the body is read, before a byte past it is kept;
  a declared ``Content-Length`` over it is refused without reading the body; a body that is not
  JSON or text counts base64-encoded, as in the event (the handler checks that, as in Lambda);
- HTTP/1.0 and 1.1 only: any other version in the request line is refused (505) before the body;
- a ``HEAD`` answer carries the headers and no body;
- the path is taken as sent, as a function URL passes ``rawPath`` (``//x`` is not ``/x``);
- chunked bodies are decoded (and counted against the same limit); other transfer codings: 400;
- the request line and headers together are limited to ``MAX_REQUEST_HEADER_BYTES``: 400 above;
  a malformed request line or header: 400;
- read timeout: a request (line, headers and body) must arrive within ``read_timeout_seconds``
  of its first byte, however slowly it trickles in, else 400 and the connection is closed;
- idle timeout: a connection with no request in flight is closed after ``idle_timeout_seconds``;
- repeated headers are joined with commas, as a function URL joins them;
- CORS as the function URL does it, from template.yaml's rules (``tryon_dev.function_url_cors``):
  preflights answered without calling the handler, the URL's headers added to its answers.

Logs are one JSON line per event: the handler's own lines carry the request id, the server's
refusals carry the request id they answered with, and waitress's own records are re-written as
JSON without a traceback or a path (``JsonServerLogs``).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask
from waitress.utilities import BadRequest, RequestEntityTooLarge, RequestHeaderFieldsTooLarge, ServerNotImplemented

from tryon_api.http.body_limit import body_too_large
from tryon_api.http.log_redaction import RedactingFilter
from tryon_api.http.responses import error_event_response
from tryon_api.results.local_links import register_local_server_url
from tryon_api.tryon.errors import BadRequest as InvalidRequest
from tryon_api.tryon.errors import HttpVersionNotSupported, TryOnError
from tryon_dev.events import function_url_event
from tryon_dev.function_url_cors import CorsRules, function_url_cors, template_cors_rules
from tryon_dev.invoke import decode_event_body, invoke
from tryon_dev.result_files import answer_result_request, is_result_request

DEFAULT_READ_TIMEOUT_SECONDS = 60.0
DEFAULT_IDLE_TIMEOUT_SECONDS = 15
MAX_REQUEST_HEADER_BYTES = 16 * 1024
DEFAULT_THREADS = 16
# Bodies over this are spooled to a temporary file while they are read, not held in memory.
BODY_MEMORY_BYTES = 512 * 1024

StartResponse = Callable[..., Any]


# --- The one place a request meets the handler -------------------------------------------------


def answer_event(event: dict[str, Any], cors_rules: CorsRules | None = None) -> dict[str, Any]:
    """Answer one function-URL event: the hook for per-request HTTP behaviour around the handler
    (what the function URL itself adds, such as CORS, belongs here)."""
    method = str(event["requestContext"]["http"]["method"])
    cors = function_url_cors(cors_rules or template_cors_rules(), method, event.get("headers") or {})
    if cors.preflight is not None:  # the URL answers preflights without calling the function
        status, headers = cors.preflight
        return {"statusCode": status, "headers": headers, "body": "", "isBase64Encoded": False}
    response = invoke(event)
    # The URL adds its CORS headers to the function's; a header the function set as well is then
    # sent twice ("*, *"), as the function URL does, and browsers refuse it.
    answered = dict(response.get("headers") or {})
    for name, value in cors.headers.items():
        same = next((key for key in answered if key.lower() == name.lower()), None)
        answered[same or name] = f"{answered[same]}, {value}" if same else value
    return {**response, "headers": answered}


def result_response(raw_path: str) -> dict[str, Any]:
    """A result link's answer (``tryon_dev.result_files``) in the event response's form."""
    request_id = str(uuid.uuid4())
    try:
        status, headers, data = answer_result_request(raw_path)
    except TryOnError as error:
        server_log.info("result link refused", extra={"status": error.status, "correlation_id": request_id})
        return error_event_response(error, {"X-Request-Id": request_id})
    return {
        "statusCode": status,
        "headers": {**headers, "X-Request-Id": request_id},
        "body": base64.b64encode(data).decode("ascii"),
        "isBase64Encoded": True,
    }


def _request_headers(environ: dict[str, Any]) -> dict[str, str]:
    """Header names as a function URL sends them (lower case, dashes); repeats already joined."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers[key.replace("_", "-").lower()] = value
    return headers


def function_url_app(
    environ: dict[str, Any], start_response: StartResponse, cors_rules: CorsRules | None = None
) -> Iterable[bytes]:
    """The WSGI application: the request as a function-URL event, the handler's answer as HTTP."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    raw_path = environ.get("REQUEST_URI") or environ.get("PATH_INFO") or "/"
    try:
        if is_result_request(environ["REQUEST_METHOD"], raw_path):  # S3's part locally: result links
            response = result_response(raw_path)
        else:
            event = function_url_event(
                environ["REQUEST_METHOD"], raw_path, _request_headers(environ), body, environ.get("REMOTE_ADDR", "")
            )
            response = answer_event(event, cors_rules)
    except Exception as exc:  # noqa: BLE001 - the handler never raises; this is the server's own net
        server_log.error("the handler raised", extra={"error_type": type(exc).__name__})
        response = error_event_response(TryOnError())
    status = int(response.get("statusCode", 500))
    payload = decode_event_body(response)
    headers = [
        (str(name), str(value))
        for name, value in (response.get("headers") or {}).items()
        if str(name).lower() not in ("content-length", "connection", "transfer-encoding")
    ]
    headers.append(("Content-Length", str(len(payload))))
    start_response(f"{status} {_phrase(status)}", headers)
    # A HEAD answer has the headers of the GET answer and no body (RFC 9110, 9.3.2); body bytes
    # after it would be read as the start of the next answer on a kept-alive connection.
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [payload]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


# --- Refusals of the HTTP layer, in the API's shape --------------------------------------------


class RequestReadTimeout(BadRequest):
    """The request did not arrive in full within the read timeout."""


class VersionNotSupported(BadRequest):
    """A request line naming an HTTP version other than 1.0 or 1.1 (or none, HTTP/0.9)."""

    code = 505
    reason = "HTTP Version Not Supported"


SUPPORTED_HTTP_VERSIONS = ("1.0", "1.1")


class _UnsupportedVersion(ParsingError):
    pass


class LocalRequestParser(HTTPRequestParser):
    """waitress's parser, refusing the HTTP versions it does not speak instead of answering them
    as 1.0 (waitress's fallback) with 1.1's framing; the body, if any, is then never read."""

    version_refused = False
    error: Any  # waitress's (untyped): the refusal to answer, if any

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        if self.version not in SUPPORTED_HTTP_VERSIONS:
            self.version_refused = True
            raise _UnsupportedVersion("unsupported HTTP version")

    def received(self, data: bytes) -> int:
        consumed = int(super().received(data))
        if self.version_refused and not isinstance(self.error, VersionNotSupported):
            self.error = VersionNotSupported("unsupported HTTP version")
        return consumed


def _refusal(error: object, max_body_bytes: int) -> TryOnError:
    """The documented error for a refusal of waitress's parser (or our read timeout)."""
    if isinstance(error, RequestEntityTooLarge):
        return body_too_large(max_body_bytes)
    if isinstance(error, RequestHeaderFieldsTooLarge):
        return InvalidRequest("request line or headers are too large")
    if isinstance(error, VersionNotSupported):
        return HttpVersionNotSupported()
    if isinstance(error, RequestReadTimeout):
        return InvalidRequest("request was not received in time")
    if isinstance(error, ServerNotImplemented):
        return InvalidRequest("transfer-encoding is not supported: send a content-length or a chunked body")
    if isinstance(error, BadRequest):
        return InvalidRequest("bad request")
    return TryOnError()


class JsonErrorTask(ErrorTask):
    """waitress's error answer, as a JSON ``{"error": ...}`` with a request id, logged in one line."""

    def execute(self) -> None:
        server = self.channel.server
        error = _refusal(self.request.error, getattr(server, "max_body_bytes", 0))
        request_id = str(uuid.uuid4())
        response = error_event_response(error, {"X-Request-Id": request_id})
        body = decode_event_body(response)
        self.status = f"{error.status} {_phrase(error.status)}"
        self.response_headers.extend(response["headers"].items())
        self.set_close_on_finish()
        self.content_length = len(body)
        if getattr(self.request, "command", None) != "HEAD":  # a malformed request line sets none
            self.write(body)
        server_log.info(
            "request refused by the server",
            extra={"status": error.status, "error": error.message, "correlation_id": request_id},
        )


class LocalChannel(HTTPChannel):
    """A connection that remembers when its current request began to arrive (the read timeout)."""

    error_task_class = JsonErrorTask
    parser_class = LocalRequestParser
    reading_since: float | None = None

    def received(self, data: bytes) -> bool:
        if data and self.request is None:
            self.reading_since = time.monotonic()
        result = bool(super().received(data))
        if self.request is None:  # nothing half-read is waiting
            self.reading_since = None
        return result


class LocalServer(TcpWSGIServer):
    """waitress's TCP server with the read timeout and a stop that works from another thread."""

    channel_class = LocalChannel

    def __init__(self, app: Any, *, read_timeout_seconds: float, max_body_bytes: int, adj: Adjustments) -> None:
        self.read_timeout_seconds = read_timeout_seconds
        self.max_body_bytes = max_body_bytes
        self._stopped = threading.Event()
        super().__init__(app, adj=adj)

    @property
    def server_address(self) -> tuple[str, int]:
        return str(self.effective_host), int(self.effective_port)

    def maintenance(self, now: float) -> None:
        """Answer (400) and close a request that trickles in past the read timeout or stalls past
        the idle timeout; then waitress closes the connections idle with nothing in flight."""
        read_cutoff = time.monotonic() - self.read_timeout_seconds
        idle_cutoff = now - self.adj.channel_timeout
        for channel in list(self.active_channels.values()):
            since = getattr(channel, "reading_since", None)
            if since is None or channel.will_close:
                continue
            if since > read_cutoff and channel.last_activity >= idle_cutoff:
                continue
            with channel.requests_lock:
                partial = channel.request
                if partial is None or channel.requests:
                    channel.will_close = True
                    continue
                partial.error = RequestReadTimeout("request not received in time")
                partial.completed = True
                channel.request = None
                channel.reading_since = None
                channel.requests.append(partial)
            self.add_task(channel)
        super().maintenance(now)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until ``shutdown`` (the socketserver-style name the tests and the CLI use)."""
        self.adj.asyncore_loop_timeout = poll_interval
        try:
            self.run()
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop the loop: every connection and the listener are closed on the loop's own thread."""

        def close_all() -> None:
            for dispatcher in list(self._map.values()):
                if dispatcher is not self.trigger:
                    dispatcher.close()
            self.trigger.close()

        if not self._stopped.is_set():
            # A trigger already closed means the loop is ending on its own: nothing left to ask.
            with contextlib.suppress(OSError):
                self.trigger.pull_trigger(close_all)
            self._stopped.wait(timeout=10)
        self.task_dispatcher.shutdown(timeout=5)

    def server_close(self) -> None:
        if self.socket is not None:
            self.close()


# --- Logs: one JSON line per event ------------------------------------------------------------


class _OneLineNoTraceback(logging.Filter):
    """waitress's records without their traceback (the exception's type is kept) or request path."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage().splitlines()[0] if record.getMessage() else ""
        record.msg, record.args = message.split(" while serving ")[0], None
        if record.exc_info:
            exc_type = record.exc_info[0]
            record.error_type = exc_type.__name__ if exc_type else "unknown"
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


server_log = logging.getLogger("waitress.tryon")


class _CurrentStdout:
    """Whatever ``sys.stdout`` is at the time of writing (the handler's own lines go there too)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def install_json_server_logs(stream: Any = None) -> None:
    """waitress's loggers write JSON lines (Powertools' formatter) to stdout, as the handler does."""
    root = logging.getLogger("waitress")
    if any(getattr(h, "tryon_json", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(stream or _CurrentStdout())
    handler.setFormatter(LambdaPowertoolsFormatter(service="tryon-local-server"))
    handler.addFilter(_OneLineNoTraceback())
    handler.addFilter(RedactingFilter())
    handler.tryon_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


# --- Building the server ----------------------------------------------------------------------


def make_server(
    host: str,
    port: int,
    *,
    read_timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS,
    idle_timeout_seconds: int = DEFAULT_IDLE_TIMEOUT_SECONDS,
    threads: int = DEFAULT_THREADS,
    cors_rules: CorsRules | None = None,
) -> LocalServer:
    """``cors_rules``: the function URL's CORS, from template.yaml unless given (tests)."""
    from tryon_api.entrypoints.wiring import get_services

    max_body_bytes = get_services().settings.max_body_bytes
    install_json_server_logs()
    adj = Adjustments(
        host=host,
        port=port,
        threads=threads,
        ident="tryon-local",
        # waitress refuses a body of max_request_body_size bytes or more; ours allows exactly the limit.
        max_request_body_size=max_body_bytes + 1,
        max_request_header_size=MAX_REQUEST_HEADER_BYTES,
        inbuf_overflow=BODY_MEMORY_BYTES,
        # Reads big enough to take a whole over-long header block at once, so that it is refused
        # and closed without unread bytes (which would reset the connection before the answer).
        recv_bytes=64 * 1024,
        channel_timeout=idle_timeout_seconds,
        cleanup_interval=1,
        connection_limit=200,
        log_socket_errors=False,
        expose_tracebacks=False,
        clear_untrusted_proxy_headers=False,
    )
    app = functools.partial(function_url_app, cors_rules=cors_rules or template_cors_rules())
    server = LocalServer(app, read_timeout_seconds=read_timeout_seconds, max_body_bytes=max_body_bytes, adj=adj)
    bound_host, bound_port = server.server_address
    # Result links point here; one listening on every interface is reached on the loopback.
    reachable = "127.0.0.1" if bound_host in ("0.0.0.0", "::", "") else bound_host  # noqa: S104
    register_local_server_url(f"http://{'[' + reachable + ']' if ':' in reachable else reachable}:{bound_port}")
    return server

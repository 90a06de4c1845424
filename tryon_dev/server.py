"""The local HTTP server: every request becomes a function-URL event for the Lambda handler."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tryon_dev.events import function_url_event
from tryon_dev.invoke import decode_event_body, invoke


class TryOnRequestHandler(BaseHTTPRequestHandler):
    server_version = "tryon-local"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    max_body_bytes = 6 * 1024 * 1024

    def _handle(self) -> None:
        length_header = self.headers.get("Content-Length")
        try:
            length = int(length_header) if length_header else 0
        except ValueError:
            length = -1
        if length < 0:
            self._send(400, {"Content-Type": "application/json"}, b'{"error":"invalid content-length"}', close=True)
            return
        if length > self.max_body_bytes:
            # Like the function URL: refuse without reading the body, then close.
            self._send(
                413,
                {"Content-Type": "application/json"},
                b'{"error":"request body is too large: the limit is 6 MB"}',
                close=True,
            )
            return
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        event = function_url_event(self.command, self.path, headers, body, self.client_address[0])
        response = invoke(event)

        self._send(int(response.get("statusCode", 500)), response.get("headers") or {}, decode_event_body(response))

    def _send(self, status: int, headers: dict[str, str], body: bytes, close: bool = False) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _handle

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, made-up ones) reaches the handler too, like on a
        # function URL, and gets the API's JSON 404/405 instead of http.server's HTML 501.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (malformed request line, headers) as JSON, never HTML."""
        # The standard phrase only: http.server's messages quote the client's request line.
        text = self.responses.get(code, ("error",))[0].lower()
        body = json.dumps({"error": text}, separators=(",", ":")).encode()
        self.close_connection = True
        if getattr(self, "command", None) is None:
            self.command = "GET"  # the request line did not parse: answer with a body
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.1"  # with a status line and headers, not HTTP/0.9's bare body
        self._send(code, {"Content-Type": "application/json"}, body, close=True)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # the handler's structured log line already records every request


class TryOnHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def make_server(host: str, port: int) -> TryOnHTTPServer:
    from tryon_api.http.services import get_services

    TryOnRequestHandler.max_body_bytes = get_services().settings.max_body_bytes
    return TryOnHTTPServer((host, port), TryOnRequestHandler)

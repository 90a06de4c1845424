"""The lifecycle the emulators share: an ``http.server`` on a loopback port, served from a thread.

A subclass names its request handler; the handler reaches the service as ``self.emulator``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class AwsAnswerHandler(BaseHTTPRequestHandler):
    """A request handler that answers as an AWS service does: HTTP/1.1, a request id, the body
    written whole (a client that hung up is not an error of the emulator's)."""

    protocol_version = "HTTP/1.1"
    sys_version = ""

    def read_request(self) -> tuple[dict[str, str], bytes]:
        """Lower-cased headers and the body."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return {name.lower(): value for name, value in self.headers.items()}, raw

    def write_answer(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("x-amzn-RequestId", f"emulated-{time.monotonic_ns()}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


class LoopbackService:
    thread_name = "loopback-service"

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def request_handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        handler = type("BoundHandler", (self.request_handler(),), {"emulator": self})
        server = ThreadingHTTPServer((host, port), handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def before_stop(self) -> None:
        """Release what in-flight requests wait on, so that the stop does not wait for them."""

    def stop(self) -> None:
        self.before_stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

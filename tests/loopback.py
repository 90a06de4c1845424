"""Loopback servers on 127.0.0.1 for tests and benchmarks: a file host (garment URLs), a webhook
receiver, and an endpoint that accepts connections and never answers (a stalled AWS service)."""

from __future__ import annotations

import socket
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# A held answer goes out after this long even if the test never released it (a failed test).
HOLD_LIMIT_SECONDS = 300.0


class FileHost:
    """Serves ``publish``-ed bodies by path; anything else is a 404. ``requested[path]`` is set
    when a path is first asked for; a path published with ``hold`` answers once that event is set,
    so a test can keep a client's fetch in flight for as long as it needs, without a sleep."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str, int]] = {}
        self.holds: dict[str, threading.Event] = {}
        self.requested: defaultdict[str, threading.Event] = defaultdict(threading.Event)
        files, holds, requested = self.files, self.holds, self.requested

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requested[self.path].set()
                hold = holds.get(self.path)
                if hold is not None:
                    hold.wait(HOLD_LIMIT_SECONDS)
                body, content_type, status = files.get(self.path, (b"missing", "text/plain", 404))
                with suppress(OSError):  # a held client may have gone (a killed server)
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def publish(
        self,
        path: str,
        body: bytes,
        content_type: str = "image/jpeg",
        status: int = 200,
        hold: threading.Event | None = None,
    ) -> str:
        self.files[path] = (body, content_type, status)
        if hold is not None:
            self.holds[path] = hold
        return self.base_url + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def file_host() -> Iterator[FileHost]:
    host = FileHost()
    try:
        yield host
    finally:
        host.close()


class WebhookReceiver:
    """Records every POST it gets (headers and raw body); answers ``status`` (settable: 500 to fail)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.arrived:
                    receiver.deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    receiver.arrived.notify_all()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[tuple[dict[str, str], bytes]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.deliveries) >= count, timeout=timeout)
            return list(self.deliveries)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def webhook_receiver(status: int = 200) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(status)
    try:
        yield receiver
    finally:
        receiver.close()


@dataclass
class StalledEndpoint:
    url: str
    connections: list[socket.socket]


@contextmanager
def stalled_endpoint(poll_seconds: float = 0.05) -> Iterator[StalledEndpoint]:
    """An HTTP endpoint that accepts every connection and never answers a byte: what a client sees
    of a service that hangs. Its accept loop waits ``poll_seconds`` at a time and stops with the block;
    the held connections are closed then."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(poll_seconds)
    stop = threading.Event()
    endpoint = StalledEndpoint(f"http://127.0.0.1:{listener.getsockname()[1]}", [])

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            endpoint.connections.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in endpoint.connections:
            connection.close()
        listener.close()

"""Servers on loopback for integration tests: the dev server and a garment image host."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from handler.local import make_server
from handler.services import set_services

API_KEY = "integration-key"


@dataclass
class RunningServer:
    url: str
    api_key: str


@pytest.fixture
def dev_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    """The local dev server (embedded backend) on an ephemeral loopback port."""
    monkeypatch.setenv("TRYON_API_KEYS", API_KEY)
    monkeypatch.setenv("TRYON_BACKEND", "embedded")
    set_services(None)
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield RunningServer(f"http://127.0.0.1:{server.server_address[1]}", API_KEY)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def garment_host() -> Iterator[Callable[[str, bytes, str], str]]:
    """A loopback HTTP server; ``publish(path, body, content_type)`` returns the URL."""
    files: dict[str, tuple[bytes, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, content_type = files.get(self.path, (b"missing", "text/plain"))
            self.send_response(200 if self.path in files else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def publish(path: str, body: bytes, content_type: str = "image/jpeg") -> str:
        files[path] = (body, content_type)
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    try:
        yield publish
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        os.environ.pop("TRYON_ALLOW_PRIVATE_GARMENT_URLS", None)

"""Servers on loopback for integration tests: the dev server and a garment image host."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.loopback import file_host
from tryon_api.http.services import set_services
from tryon_dev.server import make_server

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
def garment_host() -> Iterator[Callable[..., str]]:
    """A loopback HTTP server; ``publish(path, body, content_type)`` returns the URL."""
    with file_host() as host:
        yield host.publish

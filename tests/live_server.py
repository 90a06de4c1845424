"""The dev server in a background thread on an ephemeral loopback port: the one way tests run it.

The environment it reads (keys, backend, ...) is set for the server's lifetime and restored
after, and the per-container services are rebuilt from it on the first request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from tryon_api.http.services import set_services
from tryon_dev.server import LocalServer, make_server

TEST_API_KEY = "fuzz-key-3f9a1c7e5b2d4068"


@dataclass(frozen=True)
class LiveServer:
    url: str
    api_key: str
    server: LocalServer


@contextmanager
def serving(server: LocalServer, poll_interval: float = 0.05) -> Iterator[str]:
    """Serve ``server`` on a thread; its base URL while it runs; stopped and joined after."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def live_server(
    api_key: str = TEST_API_KEY, env: Mapping[str, str] | None = None, **server_options: Any
) -> Iterator[LiveServer]:
    """The dev server with ``TRYON_API_KEYS=api_key`` and ``env``; ``server_options`` go to make_server."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRYON_API_KEYS", api_key)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        set_services(None)
        server = make_server("127.0.0.1", 0, **server_options)
        try:
            with serving(server) as url:
                yield LiveServer(url, api_key, server)
        finally:
            set_services(None)

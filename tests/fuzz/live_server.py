"""The dev server with the embedded backend, in a background thread on an ephemeral loopback port."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tryon_api.http.services import set_services
from tryon_dev.server import make_server

TEST_API_KEY = "fuzz-key-3f9a1c7e5b2d4068"


@dataclass(frozen=True)
class LiveServer:
    url: str
    api_key: str


@contextmanager
def live_server(api_key: str = TEST_API_KEY) -> Iterator[LiveServer]:
    saved = os.environ.get("TRYON_API_KEYS")
    os.environ["TRYON_API_KEYS"] = api_key
    set_services(None)
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield LiveServer(url=f"http://{host}:{port}", api_key=api_key)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        set_services(None)
        if saved is None:
            os.environ.pop("TRYON_API_KEYS", None)
        else:
            os.environ["TRYON_API_KEYS"] = saved

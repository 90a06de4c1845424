"""Servers on loopback for integration tests: the dev server and a garment image host."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.live_server import live_server
from tests.loopback import file_host

API_KEY = "integration-key"


@dataclass
class RunningServer:
    url: str
    api_key: str


@pytest.fixture
def dev_server() -> Iterator[RunningServer]:
    """The local dev server (embedded backend) on an ephemeral loopback port."""
    with live_server(API_KEY, env={"TRYON_BACKEND": "embedded"}) as running:
        yield RunningServer(running.url, API_KEY)


@pytest.fixture
def garment_host() -> Iterator[Callable[..., str]]:
    """A loopback HTTP server; ``publish(path, body, content_type)`` returns the URL."""
    with file_host() as host:
        yield host.publish

"""Loopback stand-ins for the function's dependencies: Secrets Manager (moto_server) that can be
stopped and started again on the same port, and the dev server in a background thread."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from tests.live_server import serving
from tryon_dev.server import make_server

SECRET_ID = "tryon/api-keys"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class SecretStore:
    """moto_server on a fixed loopback port; ``stop``/``start`` make it unreachable and back."""

    port: int = field(default_factory=free_port)
    _server: ThreadedMotoServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self) -> object:
        """The handler's client: short timeouts and one retry, so an outage fails fast."""
        return boto3.client(
            "secretsmanager",
            endpoint_url=self.url,
            region_name="us-east-1",
            config=Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2}),
        )

    def put_keys(self, *keys: str) -> None:
        client = self.client()
        value = json.dumps({"api_keys": list(keys)})
        try:
            client.create_secret(Name=SECRET_ID, SecretString=value)  # type: ignore[attr-defined]
        except client.exceptions.ResourceExistsException:  # type: ignore[attr-defined]
            client.put_secret_value(SecretId=SECRET_ID, SecretString=value)  # type: ignore[attr-defined]


@contextmanager
def secret_store() -> Iterator[SecretStore]:
    store = SecretStore()
    store.start()
    try:
        yield store
    finally:
        store.stop()


@contextmanager
def dev_server() -> Iterator[str]:
    """The dev server on an ephemeral loopback port; services come from ``set_services``."""
    with serving(make_server("127.0.0.1", 0)) as url:
        yield url

"""The keys' two stores: SQLite in a temporary folder, and the template's keys table in moto's
DynamoDB (created from template.yaml's own properties), reached through a real boto3 client."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.cfn_template import create_table_from_template, load_template
from tryon_api.keys.dynamodb_store import DynamoDbKeyStore
from tryon_api.keys.interface import KeyStore
from tryon_api.keys.sqlite_store import SqliteKeyStore

REGION = "us-east-1"
TEMPLATE = load_template()


def create_keys_table(dynamodb: Any) -> str:
    return create_table_from_template(dynamodb, "KeysTable", TEMPLATE)


@dataclass
class StoreUnderTest:
    kind: str
    store: KeyStore
    dynamodb: Any = None
    table: str = ""


@contextmanager
def serialized_moto_server() -> Iterator[str]:
    """moto's server on a loopback port, answering one request at a time.

    DynamoDB applies the writes to one item one after another; moto's in-process mock does not
    (two threads can both pass a condition), so parallel clients talk real HTTP to a server that
    serialises requests, as DynamoDB serialises an item's writes. The clients stay truly parallel.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    server = make_server(
        "127.0.0.1",
        0,
        DomainDispatcherApplication(create_backend_app),
        threaded=False,
        request_handler=MotoRequestHandler,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield url
    finally:
        try:
            urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10)
        finally:
            server.shutdown()
            thread.join(timeout=10)


@pytest.fixture
def moto_url() -> Iterator[str]:
    with serialized_moto_server() as url:
        yield url


def dynamodb_client(url: str) -> Any:
    return boto3.client("dynamodb", region_name=REGION, endpoint_url=url)


@pytest.fixture(params=["sqlite", "dynamodb"])
def key_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreUnderTest]:
    """The same behaviour, checked against each adapter."""
    if request.param == "sqlite":
        yield StoreUnderTest("sqlite", SqliteKeyStore(tmp_path / "keys.sqlite3"))
        return
    with serialized_moto_server() as url:
        client = dynamodb_client(url)
        table = create_keys_table(client)
        yield StoreUnderTest("dynamodb", DynamoDbKeyStore(client, table), client, table)

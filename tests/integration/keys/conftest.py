"""The keys' two stores: SQLite in a temporary folder, and the template's keys table in moto's
DynamoDB (created from template.yaml's own properties), reached through a real boto3 client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.cfn_template import load_template, resolve
from tryon_api.keys.dynamodb_store import DynamoDbKeyStore
from tryon_api.keys.interface import KeyStore
from tryon_api.keys.sqlite_store import SqliteKeyStore

REGION = "us-east-1"
TEMPLATE = load_template()


def create_keys_table(dynamodb: Any) -> str:
    table = TEMPLATE["Resources"]["KeysTable"]["Properties"]
    name = str(resolve(table["TableName"], TEMPLATE))
    dynamodb.create_table(
        TableName=name,
        BillingMode=table["BillingMode"],
        AttributeDefinitions=table["AttributeDefinitions"],
        KeySchema=table["KeySchema"],
    )
    ttl = table["TimeToLiveSpecification"]
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
    )
    return name


@dataclass
class StoreUnderTest:
    kind: str
    store: KeyStore
    dynamodb: Any = None
    table: str = ""


@pytest.fixture
def moto_dynamodb() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        yield client, create_keys_table(client)


@pytest.fixture(params=["sqlite", "dynamodb"])
def key_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreUnderTest]:
    """The same behaviour, checked against each adapter."""
    if request.param == "sqlite":
        yield StoreUnderTest("sqlite", SqliteKeyStore(tmp_path / "keys.sqlite3"))
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        table = create_keys_table(client)
        yield StoreUnderTest("dynamodb", DynamoDbKeyStore(client, table), client, table)

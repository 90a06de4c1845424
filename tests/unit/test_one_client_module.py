"""Every boto3 client of the Lambda code is built in tryon_api/aws_clients.py, read from the source:
no other module imports boto3 or botocore's session, calls ``.client(...)``/``.resource(...)``, or
hands Powertools a utility without a client (it would build one of its own, with botocore's
defaults: 60 s reads, legacy retries)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT_MODULE = ROOT / "tryon_api" / "aws_clients.py"
# Powertools' utilities that build their own boto3 client unless handed one as ``boto3_client``.
POWERTOOLS_CLIENT_USERS = {
    "SecretsProvider",
    "SSMProvider",
    "DynamoDBProvider",
    "AppConfigProvider",
    "DynamoDBPersistenceLayer",
}
# Powertools' module-level shortcuts that always use a default client.
POWERTOOLS_DEFAULT_CLIENT_CALLS = {
    "get_secret",
    "get_secrets_by_name",
    "get_parameter",
    "get_parameters",
    "get_app_config",
}


def client_builds(source: str) -> list[str]:
    """What in ``source`` builds (or makes Powertools build) an AWS client, one line each."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{node.lineno}: imports {m}" for m in modules if m == "boto3" or m.startswith("boto3.")]
            found += [f"{node.lineno}: imports {m}" for m in modules if m == "botocore.session"]
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if isinstance(func, ast.Attribute) and name in {"client", "resource", "create_client"}:
            found.append(f"{node.lineno}: calls .{name}(...)")
        elif name in POWERTOOLS_CLIENT_USERS and not any(kw.arg == "boto3_client" for kw in node.keywords):
            found.append(f"{node.lineno}: {name}(...) without boto3_client")
        elif name in POWERTOOLS_DEFAULT_CLIENT_CALLS:
            found.append(f"{node.lineno}: {name}(...) uses Powertools' default client")
    return found


def test_no_module_but_aws_clients_builds_a_client() -> None:
    offenders = {
        str(path.relative_to(ROOT)): builds
        for path in sorted((ROOT / "tryon_api").rglob("*.py"))
        if path != CLIENT_MODULE and (builds := client_builds(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
    assert client_builds(CLIENT_MODULE.read_text(encoding="utf-8"))  # and the one module does build them


@pytest.mark.parametrize(
    "source",
    [
        "import boto3\n",
        "from boto3.session import Session\n",
        "import botocore.session\n",
        "x = session.client('s3')\n",
        "x = boto3.resource('dynamodb')\n",
        "p = SecretsProvider()\n",
        "p = DynamoDBPersistenceLayer(table_name='t')\n",
        "from aws_lambda_powertools.utilities import parameters\nv = parameters.get_secret('s')\n",
    ],
)
def test_the_scan_finds_each_way_of_building_a_client(source: str) -> None:
    assert client_builds(source)


def test_the_scan_lets_an_injected_client_through() -> None:
    source = "p = SecretsProvider(boto3_client=client)\nself._client.put_item(TableName='t')\n"
    assert client_builds(source) == []

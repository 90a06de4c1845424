"""Named keys as deployed: the services built from the settings the template sets, with the
container's own boto3 clients (tryon_api/aws_clients.py) against moto's DynamoDB and Secrets
Manager. From the calls those clients really send, the function's IAM grants are derived and
compared with template.yaml; then what happens when the counter store cannot be reached, what
the EMF line and the dashboard say, and that no secret reaches a log line."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.cfn_template import load_template, resolve
from tests.integration.keys.conftest import REGION, create_keys_table, dynamodb_client
from tests.integration.keys.keys_http import LEGACY_KEY, SHOP, body, call, generate, mint
from tryon_api.aws_clients import aws_session
from tryon_api.http.services import build_services, set_services
from tryon_api.keys.dynamodb_store import DynamoDbKeyStore
from tryon_api.keys.service import create_key
from tryon_api.settings import Settings

pytestmark = pytest.mark.integration

TEMPLATE = load_template()
KEYS_POLICY = "check-and-count-api-keys"
TRANSACT_ITEM_ACTIONS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem"}


def secret_name(resource: str) -> str:
    return str(resolve(TEMPLATE["Resources"][resource]["Properties"]["Name"], TEMPLATE))


class CallRecorder:
    """(IAM action, template resource) for every request the container's clients send."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.secrets = {secret_name(r): r for r in ("ApiKeySecret", "TokenSigningSecret")}
        self.calls: set[tuple[str, str]] = set()

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        service = model.service_model.endpoint_prefix
        if service == "dynamodb":
            if model.name == "TransactWriteItems":
                for item in params["TransactItems"]:
                    (kind,) = item
                    assert item[kind]["TableName"] == self.table
                    self.calls.add((TRANSACT_ITEM_ACTIONS[kind], "KeysTable"))
            else:
                assert params["TableName"] == self.table
                self.calls.add((f"dynamodb:{model.name}", "KeysTable"))
        elif service == "secretsmanager":
            self.calls.add((f"secretsmanager:{model.name}", self.secrets[params["SecretId"]]))
        else:
            self.calls.add((f"{service}:{model.name}", "?"))


@dataclass
class DeployedKeys:
    operator: DynamoDbKeyStore  # python -m tryon_dev keys --stack: the operator's own client
    recorder: CallRecorder
    table: str
    url: str


@pytest.fixture
def deployed(moto_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DeployedKeys]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_url)  # botocore: the service id, "Secrets Manager"
    operator_dynamodb = dynamodb_client(moto_url)
    table = create_keys_table(operator_dynamodb)
    secrets = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_url)
    secrets.create_secret(Name=secret_name("ApiKeySecret"), SecretString=json.dumps({"api_keys": LEGACY_KEY}))
    secrets.create_secret(Name=secret_name("TokenSigningSecret"), SecretString="s" * 64)
    session = boto3.session.Session(region_name=REGION)
    recorder = CallRecorder(table)
    session.events.register("provide-client-params.*.*", recorder)
    aws_session.set(session)
    settings = Settings(
        api_key_secret_id=secret_name("ApiKeySecret"),
        keys_table_name=table,
        token_secret_id=secret_name("TokenSigningSecret"),
        key_record_max_age_seconds=30,
        jobs_data_dir=str(tmp_path),
    )
    set_services(build_services(settings))
    try:
        yield DeployedKeys(DynamoDbKeyStore(operator_dynamodb, table), recorder, table, moto_url)
    finally:
        aws_session.set(None)


def granted() -> set[tuple[str, str]]:
    """(action, resource) of the policy that grants the keys' calls."""
    role = TEMPLATE["Resources"]["TryOnFunctionRole"]["Properties"]
    policy = next(p for p in role["Policies"] if p.get("PolicyName") == KEYS_POLICY)
    grants = set()
    for statement in policy["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resource = statement["Resource"]
        name = resource["Fn::GetAtt"][0] if "Fn::GetAtt" in resource else resource["Ref"]
        grants.update((action, name) for action in actions)
    return grants


def test_the_function_role_allows_what_checking_and_counting_keys_calls_and_nothing_more(
    deployed: DeployedKeys,
) -> None:
    limited = create_key(deployed.operator, "shop", 2, 10).key
    assert generate({"x-api-key": limited})["statusCode"] == 200
    assert call("GET", "/usage", {"x-api-key": limited})["statusCode"] == 200
    token = mint(limited, images=1)["token"]
    bearer = {"authorization": f"Bearer {token}", "origin": SHOP}
    assert generate(bearer)["statusCode"] == 200
    assert generate(bearer)["statusCode"] == 429  # the minute's two requests: refused, nothing counted
    from tests.fakes import ScriptedBackend
    from tryon_api.http.services import get_services
    from tryon_api.tryon.errors import UpstreamFailed

    get_services().tryon.backend = ScriptedBackend(UpstreamFailed())  # a refund
    other = create_key(deployed.operator, "refunds", None, 5).key
    assert generate({"x-api-key": other})["statusCode"] == 502
    assert generate({"x-api-key": LEGACY_KEY})["statusCode"] == 502
    calls = deployed.recorder.calls
    api_key_secret = ("secretsmanager:GetSecretValue", "ApiKeySecret")  # the plain keys' policy, tested apart
    assert api_key_secret in calls
    assert calls - {api_key_secret} == granted()


def test_a_key_made_with_the_operators_credentials_works_and_a_revoked_one_stops(deployed: DeployedKeys) -> None:
    new = create_key(deployed.operator, "partner", None, None)
    assert generate({"x-api-key": new.key})["statusCode"] == 200
    deployed.operator.revoke(new.record.id, time.time())
    answer = generate({"x-api-key": new.key})  # the record is cached: the month counter's mark stops it
    assert (answer["statusCode"], body(answer)) == (401, {"error": "missing or invalid api key"})


def _unreachable(deployed: DeployedKeys) -> None:
    from tryon_api.http.services import get_services

    dead = boto3.client(
        "dynamodb",
        region_name=REGION,
        endpoint_url="http://dynamodb.invalid",
        config=Config(connect_timeout=1, read_timeout=1, retries={"mode": "standard", "total_max_attempts": 1}),
    )
    keys = get_services().keys
    assert keys is not None
    keys.store = DynamoDbKeyStore(dead, deployed.table)


def test_when_the_counters_cannot_be_reached_a_limited_key_is_refused_not_let_through(
    deployed: DeployedKeys, json_logs: Any
) -> None:
    limited = create_key(deployed.operator, "limited", 100, 1000).key
    unlimited = create_key(deployed.operator, "unlimited", None, None).key
    uncached = create_key(deployed.operator, "uncached", None, None).key
    token = mint(limited)["token"]
    for key in (limited, unlimited):
        assert generate({"x-api-key": key})["statusCode"] == 200  # records now cached
    _unreachable(deployed)
    for headers in ({"x-api-key": limited}, {"authorization": f"Bearer {token}", "origin": SHOP}):
        answer = generate(headers)
        assert (answer["statusCode"], body(answer)) == (503, {"error": "usage limits are unavailable, retry later"})
        assert answer["headers"]["Retry-After"] == "5"
    # Nothing to enforce: served, and the lost count is logged.
    assert generate({"x-api-key": unlimited})["statusCode"] == 200
    assert generate({"x-api-key": LEGACY_KEY})["statusCode"] == 200
    assert "usage counters could not be updated" in json_logs.getvalue()
    answer = generate({"x-api-key": uncached})  # its record cannot be read: no answer either way
    assert (answer["statusCode"], body(answer)) == (503, {"error": "authentication is unavailable, retry later"})


def test_the_images_by_key_metric_is_the_one_the_dashboard_searches(
    deployed: DeployedKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    new = create_key(deployed.operator, "metered", None, None)
    capsys.readouterr()
    assert generate({"x-api-key": new.key})["statusCode"] == 200
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    emf = next(line for line in lines if any("key_id" in d for d in line["_aws"]["CloudWatchMetrics"][0]["Dimensions"]))
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    (metric,) = directive["Metrics"]
    assert emf["key_id"] == new.record.id and emf[metric["Name"]] == [1.0]
    text, _ = TEMPLATE["Resources"]["TryOnDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    searches = re.findall(r"SEARCH\('\{\$\{Namespace\},([^}]*)\} MetricName=\\\"(\w+)\\\"'", text)
    assert (",".join(sorted(directive["Dimensions"][0])), metric["Name"]) in [
        (",".join(sorted(dims.split(","))), name) for dims, name in searches
    ]


def test_no_key_secret_or_token_reaches_a_log_line_or_metric(
    deployed: DeployedKeys, capsys: pytest.CaptureFixture[str], json_logs: Any
) -> None:
    new = create_key(deployed.operator, "quiet", 1, 5)
    token = mint(new.key)["token"]
    generate({"x-api-key": new.key})
    generate({"x-api-key": new.key})  # 429
    generate({"authorization": f"Bearer {token}", "origin": "https://evil.example"})  # 401
    generate({"x-api-key": new.key[:-1] + "x"})  # 401
    output = capsys.readouterr().out + capsys.readouterr().err + json_logs.getvalue()
    secret = new.key.split(".", 1)[1]
    assert new.record.id in output  # the public id may be logged
    for leaked in (secret, token, token.split(".")[2]):
        assert leaked not in output

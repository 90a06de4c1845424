"""The operator's side: ``python -m tryon_dev keys`` against the local data folder (as a developer
runs it, in a subprocess) and the dev server serving that folder (``serve --data-dir``), then
``--stack`` against a CloudFormation stack in moto whose output names the keys table."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.cfn_template import load_template
from tests.integration.keys.conftest import REGION
from tests.integration.keys.keys_http import GENERATE_BODY
from tests.live_server import ROOT, dev_server_process
from tryon_dev.cli import main

pytestmark = pytest.mark.integration


def keys_cli(data_dir: Path, *args: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "tryon_dev", "keys", "--data-dir", str(data_dir), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, Message, dict[str, Any]]:
    """Status, headers (looked up case-insensitively, as HTTP names are) and JSON body."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.headers, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def test_keys_made_with_the_cli_are_limited_counted_reported_and_revoked_by_the_dev_server(tmp_path: Path) -> None:
    created = keys_cli(tmp_path, "create", "--name", "shop", "--per-minute", "2", "--per-month", "10")[-1]
    key, key_id = created["key"], created["id"]
    partner = keys_cli(tmp_path, "create", "--name", "partner", "--per-month", "10")[-1]
    assert key.startswith(key_id + ".") and created["per_minute"] == 2
    assert [k["id"] for k in keys_cli(tmp_path, "list")] == [key_id, partner["id"]]
    assert "key" not in keys_cli(tmp_path, "list")[0]  # the secret is shown once only
    with dev_server_process("--data-dir", str(tmp_path)) as (url, _):
        headers = {"content-type": "application/json", "x-api-key": key}
        statuses = [post(f"{url}/generate_image", headers, GENERATE_BODY) for _ in range(3)]
        assert [s for s, _, _ in statuses] == [200, 200, 429]
        status, answer_headers, refused = statuses[2]
        assert refused == {"error": "rate limit exceeded for this api key"}
        assert answer_headers["Retry-After"] and '"minute";q=2;w=60' in answer_headers["RateLimit-Policy"]
        # A page's preflight may send Authorization (a browser token).
        preflight = urllib.request.Request(
            f"{url}/generate_image",
            method="OPTIONS",
            headers={
                "Origin": "https://shop.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        with urllib.request.urlopen(preflight, timeout=30) as answer:
            assert "authorization" in answer.headers["Access-Control-Allow-Headers"].lower()
        usage = keys_cli(tmp_path, "usage", key_id)
        assert (usage[0]["images"], usage[0]["requests"], usage[0]["per_month"]) == (2, 2, 10)
        partner_headers = {**headers, "x-api-key": partner["key"]}
        assert post(f"{url}/generate_image", partner_headers, GENERATE_BODY)[0] == 200
        assert keys_cli(tmp_path, "revoke", partner["id"]) == [{"id": partner["id"], "state": "revoked"}]
        status, _, answer = post(f"{url}/generate_image", partner_headers, GENERATE_BODY)
        assert (status, answer) == (401, {"error": "missing or invalid api key"})  # at once, cached or not
    assert [k["state"] for k in keys_cli(tmp_path, "list")] == ["active", "revoked"]


def test_the_cli_refuses_a_bad_limit(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tryon_dev", "keys", "--data-dir", str(tmp_path), "create", "--name", "x",
         "--per-minute", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "--per-minute must be a positive number" in done.stderr


def test_stack_finds_the_keys_table_from_the_stacks_output(
    moto_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    template = load_template()
    table = template["Resources"]["KeysTable"]
    stack_template = {
        "Resources": {
            "KeysTable": {
                "Type": table["Type"],
                "Properties": {k: v for k, v in table["Properties"].items() if k != "PointInTimeRecoverySpecification"}
                | {"TableName": "tryon-test-keys"},
            }
        },
        "Outputs": {"KeysTableName": {"Value": {"Ref": "KeysTable"}}},
    }
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName="tryon-test", TemplateBody=json.dumps(stack_template))
    assert main(["keys", "--stack", "tryon-test", "--region", REGION, "create", "--name", "partner"]) == 0
    created = json.loads(capsys.readouterr().out.splitlines()[-1])
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName="tryon-test-keys", Key={"pk": {"S": f"key#{created['id']}"}}
    )["Item"]
    assert item["name"]["S"] == "partner" and created["key"].split(".")[1] not in json.dumps(item)
    assert main(["keys", "--stack", "tryon-test", "--region", REGION, "revoke", created["id"]]) == 0
    assert main(["keys", "--stack", "tryon-test", "--region", REGION, "usage"]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (report["id"], report["state"], report["images"]) == (created["id"], "revoked", 0)

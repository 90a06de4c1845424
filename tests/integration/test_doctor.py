"""`make doctor` against loopback AWS: moto_server (Secrets Manager), the model emulator
(bedrock-runtime), the account emulator (Lambda account settings, Service Quotas).

The preflight runs as `make doctor` runs it (``python -m tryon_dev.doctor``, a subprocess) with
the standard ``AWS_ENDPOINT_URL_*`` variables pointing the real boto3 clients at them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import requests

from tests.reliability.outage_fixtures import SecretStore
from tryon_dev.account_emulator import AccountEmulator, AccountFacts
from tryon_dev.aws_emulator import AwsModelEmulator
from tryon_dev.stack_config import deploy_parameters

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SECRET = "tryon/dev/api-keys"  # Environment=dev (samconfig.toml's default environment)
MODELS = (
    "us.stability.stable-image-search-replace-v1:0",
    "us.stability.stable-image-inpaint-v1:0",
    "us.stability.stable-image-remove-background-v1:0",
    "us.amazon.nova-2-lite-v1:0",
)


def quota(name: str, value: float, code: str) -> dict[str, object]:
    return {"ServiceCode": "bedrock", "QuotaName": name, "QuotaCode": code, "Value": value, "Adjustable": True}


ROOMY_QUOTAS = [
    quota("Cross-region model inference requests per minute for Stability Stable Image Search and Replace", 100, "L-1"),
    quota("Cross-region model inference requests per minute for Stability Stable Image Inpaint", 100, "L-2"),
    quota("Cross-region model inference requests per minute for Stability Stable Image Remove Background", 100, "L-3"),
    quota("On-demand model inference requests per minute for Amazon Nova 2 Lite", 5, "L-4"),  # not the profile's
    quota("Cross-region model inference requests per minute for Amazon Nova 2 Lite", 400, "L-5"),
    quota("Cross-region model inference tokens per minute for Amazon Nova 2 Lite", 10, "L-6"),
]


@dataclass
class Aws:
    models: AwsModelEmulator
    account: AccountEmulator
    secrets: SecretStore


@pytest.fixture
def aws() -> Iterator[Aws]:
    store = SecretStore()
    store.start()
    requests.post(f"{store.url}/moto-api/reset", timeout=10).raise_for_status()  # moto's state is per process
    try:
        with AwsModelEmulator() as models, AccountEmulator(AccountFacts(quotas={"bedrock": []})) as account:
            yield Aws(models, account, store)
    finally:
        store.stop()


def put_secret(aws: Aws, value: dict[str, object]) -> None:
    client = boto3.client("secretsmanager", endpoint_url=aws.secrets.url, region_name="us-east-1")
    client.create_secret(Name=SECRET, SecretString=json.dumps(value))


def doctor(aws: Aws, *args: str) -> tuple[int, list[str]]:
    environment = {
        **os.environ,
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": aws.models.url,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": aws.secrets.url,
        "AWS_ENDPOINT_URL_LAMBDA": aws.account.url,
        "AWS_ENDPOINT_URL_SERVICE_QUOTAS": aws.account.url,
    }
    run = subprocess.run(
        [sys.executable, "-m", "tryon_dev.doctor", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in run.stderr, run.stderr
    return run.returncode, run.stdout.splitlines()


def line(lines: list[str], name: str) -> str:
    (found,) = [text for text in lines if text[5:].startswith(name + ":")]  # "OK   name: ..."
    return found


def test_a_ready_account_passes_every_check_with_one_line_each(aws: Aws) -> None:
    put_secret(aws, {"api_keys": "k" * 40})
    aws.account.facts.quotas["bedrock"] = ROOMY_QUOTAS
    code, lines = doctor(aws)
    assert code == 0, lines
    checks = lines[1:-1]
    assert len(checks) == len(MODELS) + 1 + 1 + len(MODELS)
    assert all(text.startswith("OK ") for text in checks), lines
    for model in MODELS:
        assert "invocable" in line(lines, f"model {model}")
    # Each model got one minimal valid call (the emulator checks bodies as Bedrock documents them).
    assert sorted(c.target for c in aws.models.calls) == sorted(MODELS)
    assert {c.status for c in aws.models.calls} == {200}
    assert "holds 1 key" in line(lines, f"secret {SECRET}")
    # samconfig.toml's dev environment: ReservedConcurrency=5 (6 x 5 = 30 requests a minute at most).
    assert "ReservedConcurrency=5" in line(lines, "reserved concurrency")
    assert "= 400/min" in line(lines, "quota us.amazon.nova-2-lite-v1:0")  # the cross-region quota, not on-demand
    assert lines[-1] == f"{len(checks)} OK, 0 WARN, 0 FAIL"


def test_a_fresh_account_gets_a_failure_and_what_to_do_for_each_problem(aws: Aws) -> None:
    aws.models.inject(
        MODELS[0],
        "access_denied",
        times=None,
        detail="Model access is denied due to IAM user or service role is not authorized to perform the required "
        "AWS Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe).",
    )
    aws.models.inject(MODELS[3], "not_found", times=None)
    aws.account.facts.unreserved_concurrent_executions = 10  # a new account: 10 in all
    aws.account.facts.concurrent_executions = 10
    aws.account.facts.quotas["bedrock"] = [
        {**q, "Value": 2} if "Inpaint" in str(q["QuotaName"]) else q for q in ROOMY_QUOTAS[:3]
    ]
    code, lines = doctor(aws, "--config-env", "prod")
    assert code == 1
    marketplace = line(lines, f"model {MODELS[0]}")
    assert marketplace.startswith("FAIL") and "aws-marketplace:Subscribe" in marketplace.split(" -> ")[1]
    assert "not a model id this region serves" in line(lines, f"model {MODELS[3]}")
    assert line(lines, "secret tryon/prod/api-keys").startswith("WARN")  # not deployed yet: created by deploy
    concurrency = line(lines, "reserved concurrency")
    assert concurrency.startswith("FAIL") and "ReservedConcurrency=50" in concurrency
    assert "deploy with ReservedConcurrency=0 or less" in concurrency or "Lambda concurrent-executions" in concurrency
    assert "WorkerConcurrency=" in concurrency  # the jobs worker's reservation counts too
    # Requests and jobs in flight both call the models: (50 + the worker's) x 6 a minute.
    prod = deploy_parameters("prod")
    needed = (int(prod["ReservedConcurrency"]) + int(prod["WorkerConcurrency"])) * 6
    inpaint = line(lines, "quota us.stability.stable-image-inpaint-v1:0")
    assert inpaint.startswith("WARN") and f"{needed}/min" in inpaint and "L-2" in inpaint
    assert line(lines, "quota us.amazon.nova-2-lite-v1:0").startswith("WARN")  # none found
    assert lines[-1].endswith("FAIL") and not lines[-1].endswith(" 0 FAIL")


def test_a_secret_without_a_key_fails(aws: Aws) -> None:
    put_secret(aws, {"api_keys": []})
    aws.account.facts.quotas["bedrock"] = ROOMY_QUOTAS
    code, lines = doctor(aws)
    assert code == 1
    secret = line(lines, f"secret {SECRET}")
    assert secret.startswith("FAIL") and "503" in secret and "api_keys" in secret

"""`make doctor` and `make subscribe` against loopback AWS: moto_server (Secrets Manager,
CloudFormation), the model emulator (bedrock-runtime), the account emulator (Bedrock's model
access, Lambda account settings, Service Quotas; its answers are checked against botocore's
output shapes).

The preflight runs as `make doctor` runs it (``python -m tryon_dev.doctor``, a subprocess) with
the standard ``AWS_ENDPOINT_URL_*`` variables pointing the real boto3 clients at them, and a
shell region that is not samconfig.toml's (us-east-1), as a developer's often is.
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
from tryon_dev.account_emulator import AccountEmulator, AccountFacts, ModelAccess
from tryon_dev.aws_emulator import AwsModelEmulator
from tryon_dev.doctor import foundation_model_id
from tryon_dev.stack_config import deploy_parameters, read_template

# Long (servers, subprocesses, many requests): a larger limit than the suite's default (pyproject.toml).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
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


FOUNDATION_MODELS = [foundation_model_id(m) for m in MODELS]
SHELL_REGION = "eu-west-1"  # the developer's; samconfig.toml deploys to us-east-1


@pytest.fixture
def aws() -> Iterator[Aws]:
    store = SecretStore()
    store.start()
    requests.post(f"{store.url}/moto-api/reset", timeout=10).raise_for_status()  # moto's state is per process
    facts = AccountFacts(quotas={"bedrock": []}, models={m: ModelAccess() for m in FOUNDATION_MODELS})
    try:
        with AwsModelEmulator() as models, AccountEmulator(facts) as account:
            yield Aws(models, account, store)
            assert account.shape_errors == []
    finally:
        store.stop()


def deploy_stack(aws: Aws, **parameters: str) -> None:
    """A stack tryon-dev in moto with template.yaml's parameters (moto keeps no resources of it)."""
    declared = {
        name: {"Type": spec["Type"], **({"Default": str(spec["Default"])} if "Default" in spec else {})}
        for name, spec in read_template()["Parameters"].items()
    }
    body = {"Parameters": declared, "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    client = boto3.client("cloudformation", endpoint_url=aws.secrets.url, region_name="us-east-1")
    client.create_stack(
        StackName="tryon-dev",
        TemplateBody=json.dumps(body),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )


def put_secret(aws: Aws, value: dict[str, object]) -> None:
    client = boto3.client("secretsmanager", endpoint_url=aws.secrets.url, region_name="us-east-1")
    client.create_secret(Name=SECRET, SecretString=json.dumps(value))


def doctor(aws: Aws, *args: str) -> tuple[int, list[str]]:
    environment = {
        **os.environ,
        "AWS_REGION": SHELL_REGION,
        "AWS_DEFAULT_REGION": SHELL_REGION,
        "AWS_ENDPOINT_URL_BEDROCK": aws.account.url,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": aws.models.url,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": aws.secrets.url,
        "AWS_ENDPOINT_URL_CLOUDFORMATION": aws.secrets.url,
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


def test_a_ready_account_passes_every_check_in_samconfigs_region_and_bills_nothing(aws: Aws) -> None:
    put_secret(aws, {"api_keys": "k" * 40})
    aws.account.facts.quotas["bedrock"] = ROOMY_QUOTAS
    code, lines = doctor(aws)
    assert code == 0, lines
    assert lines[0] == (
        "make doctor: stack tryon-dev (default), region us-east-1, "
        "parameters of samconfig.toml [default] (stack tryon-dev not deployed yet)"
    )
    checks = lines[1:-1]
    assert len(checks) == len(MODELS) + 1 + 1 + len(MODELS)
    assert all(text.startswith("OK ") for text in checks), lines
    for model, foundation in zip(MODELS, FOUNDATION_MODELS, strict=True):
        assert f"{foundation}: agreement, authorization, entitlement and region all available" in line(
            lines, f"access {model}"
        )
    # Availability asked once per model, of the foundation model, in samconfig.toml's region.
    assert sorted(aws.account.requests) == sorted(("GetFoundationModelAvailability", "us-east-1") for _ in MODELS)
    assert aws.models.calls == []  # no billed call without --invoke
    assert "holds 1 key" in line(lines, f"secret {SECRET}")
    # samconfig.toml's dev environment: ReservedConcurrency=5 (6 x 5 = 30 requests a minute at most).
    assert "ReservedConcurrency=5" in line(lines, "reserved concurrency")
    assert "= 400/min" in line(lines, "quota us.amazon.nova-2-lite-v1:0")  # the cross-region quota, not on-demand
    assert lines[-1] == f"{len(checks)} OK, 0 WARN, 0 FAIL"


def test_invoke_makes_one_billed_minimal_call_per_model(aws: Aws) -> None:
    put_secret(aws, {"api_keys": "k" * 40})
    aws.account.facts.quotas["bedrock"] = ROOMY_QUOTAS
    code, lines = doctor(aws, "--invoke")
    assert code == 0, lines
    for model in MODELS:
        assert "invocable" in line(lines, f"model {model}")
    # Each model got one minimal valid call (the emulator checks bodies as Bedrock documents them).
    assert sorted(c.target for c in aws.models.calls) == sorted(MODELS)
    assert {c.status for c in aws.models.calls} == {200}


def test_each_state_that_is_not_ready_fails_with_what_to_do(aws: Aws) -> None:
    put_secret(aws, {"api_keys": "k" * 40})
    aws.account.facts.quotas["bedrock"] = ROOMY_QUOTAS
    search, inpaint, background, vision = FOUNDATION_MODELS
    aws.account.facts.models[search] = ModelAccess(agreement="NOT_AVAILABLE", entitled=False)
    aws.account.facts.models[inpaint] = ModelAccess(agreement="PENDING", entitled=False)
    aws.account.facts.models[background] = ModelAccess(
        agreement="ERROR", agreement_error="INVALID_PAYMENT_INSTRUMENT", entitled=False, authorized=False
    )
    aws.account.facts.models[vision] = ModelAccess(in_region=False)
    code, lines = doctor(aws)
    assert code == 1
    subscribe = line(lines, f"access {MODELS[0]}")
    assert subscribe.startswith("FAIL") and "has not subscribed" in subscribe
    assert "make subscribe" in subscribe.split(" -> ")[1] and "aws-marketplace:Subscribe" in subscribe
    pending = line(lines, f"access {MODELS[1]}")
    assert pending.startswith("FAIL") and "up to 15 minutes" in pending and "make doctor again" in pending
    failed = line(lines, f"access {MODELS[2]}")
    assert "INVALID_PAYMENT_INSTRUMENT" in failed and "payment method" in failed
    assert "not authorized" in failed and "SCP" in failed  # two problems, two things to do
    region = line(lines, f"access {MODELS[3]}")
    assert "not offered in us-east-1" in region and "list-foundation-models" in region
    assert lines[-1].endswith(" 4 FAIL")


def test_an_agreement_without_an_entitlement_is_not_ready(aws: Aws) -> None:
    aws.account.facts.models[FOUNDATION_MODELS[0]] = ModelAccess(entitled=False)
    code, lines = doctor(aws)
    assert code == 1
    entitlement = line(lines, f"access {MODELS[0]}")
    assert entitlement.startswith("FAIL") and "no entitlement" in entitlement and "Manage subscriptions" in entitlement


def test_an_unknown_model_id_fails(aws: Aws) -> None:
    del aws.account.facts.models[FOUNDATION_MODELS[1]]
    code, lines = doctor(aws)
    assert code == 1
    assert "not a model Bedrock knows" in line(lines, f"access {MODELS[1]}")


def test_subscribe_accepts_each_missing_offer_once_then_doctor_shows_it_pending(aws: Aws) -> None:
    for model in FOUNDATION_MODELS[:3]:
        aws.account.facts.models[model] = ModelAccess(agreement="NOT_AVAILABLE", entitled=False)
    code, lines = doctor(aws, "--subscribe")
    assert code == 0, lines
    assert lines[0].startswith("make subscribe: stack tryon-dev (default), region us-east-1")
    assert sorted(m for m, _ in aws.account.agreements) == sorted(FOUNDATION_MODELS[:3])
    assert "agreement already AVAILABLE" in line(lines, f"subscribe {MODELS[3]}")
    code, lines = doctor(aws, "--subscribe")  # a second run subscribes nothing twice
    assert code == 0 and len(aws.account.agreements) == 3
    code, lines = doctor(aws)
    assert code == 1
    assert all("being set up" in line(lines, f"access {m}") for m in MODELS[:3])


@pytest.mark.filterwarnings("ignore:Tried to parse AWS.+WaitConditionHandle")
def test_moderation_turned_off_is_a_warning_and_on_says_nothing(aws: Aws) -> None:
    put_secret(aws, {"api_keys": "k" * 40})
    aws.account.facts.quotas["bedrock"] = ROOMY_QUOTAS
    code, lines = doctor(aws, "--parameter-overrides", "ModerationLevel=off")
    assert code == 0, lines  # a warning, not a failure: operators who moderate elsewhere
    assert line(lines, "content moderation").startswith("WARN ")
    assert "ModerationLevel=off" in line(lines, "content moderation")
    assert lines[-1].endswith("1 WARN, 0 FAIL")
    _, lines = doctor(aws, "--parameter-overrides", "ModerationLevel=conservative")
    assert not [text for text in lines if "content moderation" in text]


def test_a_deployed_stack_gives_the_parameters(aws: Aws) -> None:
    put_secret(aws, {"api_keys": "k" * 40})
    aws.account.facts.quotas["bedrock"] = ROOMY_QUOTAS
    deploy_stack(aws, Environment="dev", ReservedConcurrency="7", BedrockVisionModelId="us.amazon.nova-pro-v1:0")
    aws.account.facts.models["amazon.nova-pro-v1:0"] = ModelAccess(in_region=False)
    code, lines = doctor(aws)
    assert lines[0].endswith("parameters of stack tryon-dev as deployed")
    assert "ReservedConcurrency=7" in line(lines, "reserved concurrency")
    assert line(lines, "access us.amazon.nova-pro-v1:0").startswith("FAIL")
    assert code == 1


def test_a_fresh_account_gets_a_failure_and_what_to_do_for_each_problem(aws: Aws) -> None:
    for model in FOUNDATION_MODELS:
        aws.account.facts.models[model] = ModelAccess(agreement="NOT_AVAILABLE", entitled=False)
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
    code, lines = doctor(aws, "--config-env", "prod", "--invoke")
    assert code == 1
    assert lines[0].startswith("make doctor: stack tryon-prod (prod), region us-east-1")
    assert all(line(lines, f"access {m}").startswith("FAIL") for m in MODELS)
    marketplace = line(lines, f"model {MODELS[0]}")
    assert marketplace.startswith("FAIL") and "make subscribe" in marketplace.split(" -> ")[1]
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

"""The one AWS client policy, as botocore resolves it on the clients the entry points really build.

Every client the API's function and the jobs worker create (caught where botocore creates them,
while the wiring is built for the AWS configuration and while a request runs against moto) has
bounded connect and read timeouts and standard retries with a bounded number of attempts; the
quick calls' worst case fits the shortest function timeout the template allows. The worker builds
no HTTP service and no API-key verifier. A service that accepts connections and never answers
makes ``POST /jobs`` answer our 504 inside the function's timeout, not Lambda's own error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.retries.standard
import botocore.session
import pytest
from moto import mock_aws

from tests.cfn_template import load_template
from tests.integration.jobs.aws_resources import create_jobs_resources
from tests.loopback import stalled_endpoint
from tests.photos import b64, selfie_jpeg
from tryon_api.aws_clients import (
    MODEL_CALL_USER_AGENT,
    QUICK_CALL_USER_AGENT,
    DeadlineBoundClient,
    aws_session,
    bound_to_deadline,
)
from tryon_api.entrypoints import queue_worker, wiring
from tryon_api.entrypoints.function_url import handle_event
from tryon_dev.events import function_url_event
from tryon_dev.lambda_context import new_context

TEMPLATE = load_template()
# The shortest timeouts a deployment may choose: what fits these fits every deployment.
SHORTEST_FUNCTION_TIMEOUT = float(TEMPLATE["Parameters"]["FunctionTimeoutSeconds"]["MinValue"])
SHORTEST_WORKER_TIMEOUT = float(min(int(v) for v in TEMPLATE["Parameters"]["WorkerTimeoutSeconds"]["AllowedValues"]))
MODEL_SERVICES = {"bedrock-runtime", "sagemaker-runtime"}
KEY = "policy-test-key"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tryon/test/api-keys-AbCdEf"
WEBHOOK_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tryon/test/webhook-AbCdEf"


@dataclass(frozen=True)
class FixedDeadline:
    """A deadline whose time left does not run down while the test builds clients."""

    seconds: float

    def remaining(self) -> float:
        return self.seconds


@pytest.fixture
def created_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Any]]]:
    """(service, client) for every client botocore creates from now on, in a fresh session."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):  # the clients' own config must decide
        monkeypatch.delenv(name, raising=False)
    created: list[tuple[str, Any]] = []
    original = botocore.session.Session.create_client

    def spy(self: botocore.session.Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = original(self, service_name, *args, **kwargs)
        created.append((service_name, client))
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", spy)
    aws_session.set(boto3.session.Session())
    wiring.reset()
    queue_worker.set_message_runner(None)
    yield created
    queue_worker.set_message_runner(None)
    wiring.reset()
    aws_session.reset()


@pytest.fixture
def deadline_bound_clients(monkeypatch: pytest.MonkeyPatch) -> list[DeadlineBoundClient]:
    """Every ``DeadlineBoundClient`` made from now on (each makes its cut clients on demand)."""
    made: list[DeadlineBoundClient] = []
    original = DeadlineBoundClient.__init__

    def spy(self: DeadlineBoundClient, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(DeadlineBoundClient, "__init__", spy)
    return made


def aws_environment(
    monkeypatch: pytest.MonkeyPatch, backend: str, names: dict[str, str] | None = None, *, checks: bool = True
) -> None:
    """The variables template.yaml gives both functions, with the model backend ``backend``
    (``checks``: with the person check, moderation and named keys on AWS, as deployed)."""
    names = names or {"table": "tryon-dev-jobs", "bucket": "tryon-dev-jobs-bucket", "queue_url": "https://q/1/jobs"}
    env = {
        "TRYON_BACKEND": backend.split("-")[0],
        "TRYON_MODEL_REGION": "us-east-1",
        "TRYON_API_KEY_SECRET_ID": SECRET_ARN,
        "TRYON_JOBS_TABLE_NAME": names["table"],
        "TRYON_JOBS_BUCKET_NAME": names["bucket"],
        "TRYON_JOBS_QUEUE_URL": names["queue_url"],
        "TRYON_WEBHOOK_SECRET_ID": WEBHOOK_SECRET_ARN,
    }
    if checks:  # the checks and the named keys, as template.yaml configures them
        env |= {
            "TRYON_PERSON_DETECTOR": "rekognition",
            "TRYON_MODERATION_GUARDRAIL_ID": "tryonguardrail01",
            "TRYON_MODERATION_GUARDRAIL_VERSION": "1",
            "TRYON_MODERATION_IMAGE_SERVICE": "rekognition",
            "TRYON_KEYS_TABLE_NAME": "tryon-dev-keys",
            "TRYON_TOKEN_SECRET_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:tryon/dev/tokens-AbCdEf",
        }
    if backend.startswith("sagemaker"):
        env["TRYON_SAGEMAKER_ENDPOINT_NAME"] = "tryon-vton"
    if backend == "sagemaker-async":
        env["TRYON_SAGEMAKER_ASYNC_S3_URI"] = "s3://tryon-async-bucket/tryon/"
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def botocore_worst_case(config: Any) -> float:
    """All attempts connecting and reading to their timeouts, with botocore's longest pauses between
    them (throttling's base, plus the most an x-amz-retry-after header adds): botocore's constants."""
    backoff = botocore.retries.standard.ExponentialBackoff
    scale = backoff._DEFAULT_BACKOFF_CONFIG["throttling_base_scale"]
    attempts = int(config.retries["total_max_attempts"])
    pauses = sum(
        min(scale * backoff._BASE ** (n - 1), backoff._MAX_BACKOFF) + backoff._RETRY_AFTER_MAX_ADDITIONAL
        for n in range(1, attempts)
    )
    return float(attempts * (config.connect_timeout + config.read_timeout) + pauses)


def policy_breaches(created: list[tuple[str, Any]], limit_seconds: float) -> list[str]:
    """Each client whose resolved config breaks the policy, in words."""
    breaches = []
    for service, client in created:
        config = client.meta.config
        retries = config.retries or {}
        where = f"{service} (connect {config.connect_timeout}, read {config.read_timeout}, retries {retries})"
        if retries.get("mode") != "standard" or not 1 <= int(retries.get("total_max_attempts", 0)) <= 3:
            breaches.append(f"{where}: not standard retries with 1-3 attempts")
        if not (config.connect_timeout and config.connect_timeout <= 3):
            breaches.append(f"{where}: connect timeout unbounded")
        if service in MODEL_SERVICES and config.user_agent_extra == MODEL_CALL_USER_AGENT:
            if retries.get("total_max_attempts") != 1:  # model_calls is the one retry layer
                breaches.append(f"{where}: the SDK retries model calls")
            if not config.read_timeout or config.read_timeout > 900:
                breaches.append(f"{where}: model read timeout unbounded")
        elif service in MODEL_SERVICES and config.user_agent_extra != QUICK_CALL_USER_AGENT:
            breaches.append(f"{where}: a model service's client follows neither policy")
        elif botocore_worst_case(config) >= limit_seconds:
            breaches.append(f"{where}: worst case {botocore_worst_case(config):.1f} s >= {limit_seconds} s")
    return breaches


@pytest.mark.parametrize("backend", ["bedrock", "sagemaker", "sagemaker-async"])
def test_every_client_the_api_function_builds_follows_the_policy(
    created_clients: list[tuple[str, Any]],
    deadline_bound_clients: list[DeadlineBoundClient],
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    aws_environment(monkeypatch, backend)
    services = wiring.get_services()
    services.jobs()  # what the first jobs request builds
    model = "bedrock-runtime" if backend == "bedrock" else "sagemaker-runtime"
    expected = [model, "secretsmanager", "dynamodb", "s3", "sqs", "secretsmanager", "dynamodb"]
    expected += ["bedrock-runtime", "rekognition"]  # moderation: the guardrail, image labels
    presigners = ["s3"]  # signs result URLs: it makes no call, so nothing to cut to a deadline
    expected += ["s3"] if backend == "sagemaker-async" else []
    assert sorted(service for service, _ in created_clients) == sorted(expected + presigners)
    # Every client comes from aws_clients, so each is cut to the time a request has left: the
    # clients a call would get at each remaining time are built (and checked) too.
    assert len(deadline_bound_clients) == len(expected)
    for remaining in (170.0, 28.5, 9.0, 2.0):
        with bound_to_deadline(FixedDeadline(remaining)):
            for bound in deadline_bound_clients:
                assert bound.current().meta.config.read_timeout <= remaining
    assert len(created_clients) > len(expected + presigners)
    assert policy_breaches(created_clients, SHORTEST_FUNCTION_TIMEOUT) == []


def test_the_worker_builds_only_what_jobs_use_and_each_client_follows_the_policy(
    created_clients: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_environment(monkeypatch, "bedrock")

    def no_verifier(*_: Any, **__: Any) -> Any:
        raise AssertionError("the worker built an API-key verifier")

    monkeypatch.setattr(wiring, "build_verifier", no_verifier)
    queue_worker.build_message_runner()
    assert sorted(service for service, _ in created_clients) == sorted(
        # secretsmanager: the webhook's; the second bedrock-runtime and rekognition: moderation's
        # the second s3: the result URLs' presigner (webhooks carry URLs)
        [
            "bedrock-runtime",
            "dynamodb",
            "s3",
            "sqs",
            "secretsmanager",
            "dynamodb",
            "bedrock-runtime",
            "rekognition",
            "s3",
        ]
    )
    assert not wiring._services._built and not wiring.container.get()._services._built  # no HTTP service
    assert policy_breaches(created_clients, SHORTEST_WORKER_TIMEOUT) == []


def test_a_request_against_moto_uses_only_clients_that_follow_the_policy(
    created_clients: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    with mock_aws():
        session = aws_session.get()
        setup = {name: session.client(name) for name in ("dynamodb", "s3", "sqs", "secretsmanager")}
        names = create_jobs_resources(setup["dynamodb"], setup["s3"], setup["sqs"])
        setup["secretsmanager"].create_secret(Name="tryon/test/api-keys", SecretString=json.dumps({"api_keys": [KEY]}))
        created_clients.clear()  # the test's own clients are not the function's
        aws_environment(monkeypatch, "bedrock", names, checks=False)
        monkeypatch.setenv("TRYON_API_KEY_SECRET_ID", "tryon/test/api-keys")
        body = {"selfie_base64": b64(selfie_jpeg()), "clothing_description": "red hoodie", "mode": "studio"}
        event = function_url_event("POST", "/jobs", {"x-api-key": KEY}, json.dumps(body).encode())
        response = handle_event(event, new_context(SHORTEST_FUNCTION_TIMEOUT))
    assert response["statusCode"] == 202, response["body"]
    assert {"secretsmanager", "dynamodb", "s3", "sqs"} <= {service for service, _ in created_clients}
    assert policy_breaches(created_clients, SHORTEST_FUNCTION_TIMEOUT) == []


@pytest.mark.parametrize(
    ("method", "path", "idempotency_key"),
    [("POST", "/jobs", None), ("POST", "/jobs", "order-17"), ("GET", "/jobs/" + "A" * 22, None)],
)
def test_the_jobs_routes_answer_504_inside_the_function_timeout_when_the_table_never_answers(
    created_clients: list[tuple[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    path: str,
    idempotency_key: str | None,
) -> None:
    with stalled_endpoint() as stalled:
        for service in ("DYNAMODB", "S3", "SQS"):
            monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", stalled.url)
        aws_environment(monkeypatch, "bedrock", checks=False)
        monkeypatch.delenv("TRYON_API_KEY_SECRET_ID")
        monkeypatch.setenv("TRYON_API_KEYS", KEY)
        body = {"selfie_base64": b64(selfie_jpeg()), "clothing_description": "red hoodie", "mode": "studio"}
        headers = {"x-api-key": KEY} | ({"idempotency-key": idempotency_key} if idempotency_key else {})
        raw = json.dumps(body).encode() if method == "POST" else b""
        event = function_url_event(method, path, headers, raw)
        started = time.monotonic()
        response = handle_event(event, new_context(SHORTEST_FUNCTION_TIMEOUT))
        took = time.monotonic() - started
        assert stalled.connections  # the table was called, and never answered
    assert response["statusCode"] == 504
    assert json.loads(response["body"]) == {"error": "the job store did not answer in time"}
    # Within the shortest timeout a deployment may have: Lambda never cuts the answer off.
    assert took < SHORTEST_FUNCTION_TIMEOUT

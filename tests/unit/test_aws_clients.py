"""The AWS clients, read from botocore's resolved config on the real client objects: the model
clients make one attempt (our retry layer decides) with a read timeout that ends before the
deadline; the quick calls (the API-key secret, the async endpoint's S3 objects) retry in
botocore's standard mode with short timeouts that fit the request's time."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import botocore.retries.standard
import pytest

from tests.cfn_template import load_template
from tryon_api.aws_clients import (
    QUICK_CALL_CONNECT_TIMEOUT_SECONDS,
    QUICK_CALL_MAX_ATTEMPTS,
    QUICK_CALL_READ_TIMEOUT_SECONDS,
    READ_TIMEOUT_LADDER,
    NoTimeLeft,
    aws_session,
    bound_to_deadline,
    create_model_client,
    quick_call_budget,
    quick_call_config,
    read_timeout_for,
)
from tryon_api.backends.factory import create_backend
from tryon_api.entrypoints import wiring
from tryon_api.entrypoints.wiring import build_verifier
from tryon_api.settings import Settings
from tryon_api.tryon.deadline import Deadline


@dataclass(frozen=True)
class FixedDeadline:
    """A deadline whose time left does not run down while the test builds clients."""

    seconds: float

    def remaining(self) -> float:
        return self.seconds


@pytest.mark.parametrize("remaining", [0.6, 0.99, 1.0, 2.5, 7.3, 44.0, 84.9, 85.0, 178.5, None])
def test_the_read_timeout_is_the_configured_one_or_shorter_and_never_past_the_deadline(
    remaining: float | None,
) -> None:
    timeout = read_timeout_for(85.0, remaining)
    assert timeout <= 85.0
    if remaining is None or remaining >= 85.0:
        assert timeout == 85.0
    else:
        assert timeout <= remaining
        assert timeout in READ_TIMEOUT_LADDER
        # The longest step that fits: the next longer one would run past the deadline.
        longer = [step for step in READ_TIMEOUT_LADDER if step > timeout]
        assert not longer or min(longer) > remaining


def test_calls_inside_a_deadline_go_to_a_client_whose_botocore_timeout_fits() -> None:
    settings = Settings(backend="bedrock", model_region="us-east-1", model_read_timeout_seconds=85.0)
    client = create_model_client("bedrock-runtime", settings)
    assert client.meta.config.read_timeout == 85.0
    assert client.meta.config.retries["total_max_attempts"] == 1  # our retry layer is the only one
    with bound_to_deadline(Deadline.after(7.3)):
        near = client.meta.config
        assert near.read_timeout == 5.0
        assert near.retries["total_max_attempts"] == 1
        assert near.connect_timeout == settings.model_connect_timeout_seconds
    with bound_to_deadline(Deadline.after(170.0)):
        assert client.meta.config.read_timeout == 85.0
    assert client.meta.region_name == "us-east-1"


# --- The quick calls: the API-key secret and the async endpoint's S3 objects --------------------


@pytest.fixture
def fresh_session(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulated")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulated")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):  # the client's own config must decide
        monkeypatch.delenv(name, raising=False)
    aws_session.set(boto3.session.Session())
    yield
    aws_session.reset()


def retry_handler_max_attempts(monkeypatch: pytest.MonkeyPatch, build: Callable[[], Any]) -> tuple[Any, int]:
    """Build a client and read the max attempts of the retry handler botocore registered on it."""
    handlers: list[Any] = []

    def capture(*args: Any, **kwargs: Any) -> Any:
        handler = original(*args, **kwargs)
        handlers.append(handler)
        return handler

    original = botocore.retries.standard.register_retry_handler
    monkeypatch.setattr(botocore.retries.standard, "register_retry_handler", capture)
    client = build()
    monkeypatch.setattr(botocore.retries.standard, "register_retry_handler", original)
    assert len(handlers) == 1, "botocore's standard retry handler is registered once"
    checker = handlers[0]._retry_policy._retry_checker._max_attempts_checker
    return client, int(checker._max_attempts)


def worst_case_seconds(config: Any, attempts: int) -> float:
    """All attempts timing out, with botocore's longest backoff between them (throttling's base,
    plus the most an x-amz-retry-after header may add), from botocore's own constants."""
    backoff = botocore.retries.standard.ExponentialBackoff
    scale = backoff._DEFAULT_BACKOFF_CONFIG["throttling_base_scale"]
    pauses = sum(
        min(scale * backoff._BASE ** (n - 1), 20) + backoff._RETRY_AFTER_MAX_ADDITIONAL for n in range(1, attempts)
    )
    return float(attempts * (config.connect_timeout + config.read_timeout) + pauses)


def test_the_secret_client_retries_briefly_and_all_its_attempts_fit_the_shortest_function_timeout(
    fresh_session: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(api_key_secret_id="tryon/test/api-keys")
    built: list[Any] = []
    real_create = wiring.create_secrets_client
    monkeypatch.setattr(wiring, "create_secrets_client", lambda: built.append(real_create()) or built[-1])
    _, attempts = retry_handler_max_attempts(monkeypatch, lambda: build_verifier(settings))
    client = built[0]  # the client the verifier reads the secret with
    config = client.meta.config
    assert config.retries["mode"] == "standard"
    assert attempts == config.retries["total_max_attempts"] >= 2  # a retry, not botocore's default 3 x 60 s
    assert config.connect_timeout <= 2 and config.read_timeout <= 5
    template = load_template()
    shortest = template["Parameters"]["FunctionTimeoutSeconds"]["MinValue"]
    assert worst_case_seconds(config, attempts) < shortest, (worst_case_seconds(config, attempts), shortest)


def test_the_async_s3_client_retries_and_its_attempts_share_the_time_left(
    fresh_session: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(backend="sagemaker", sagemaker_endpoint_name="ep", sagemaker_async_s3_uri="s3://bucket/p/")
    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1")  # its service model bounds the TTL
    backend, attempts = retry_handler_max_attempts(monkeypatch, lambda: create_backend(settings, model_client=runtime))
    s3 = backend.s3_client
    config = s3.meta.config
    assert config.retries["mode"] == "standard"
    assert attempts == config.retries["total_max_attempts"] >= 2
    assert config.connect_timeout <= 2 and config.read_timeout <= 10
    for remaining in (60.0, 20.0, 9.0, 4.0, 1.6):
        with bound_to_deadline(FixedDeadline(remaining)):
            near = s3.meta.config
            assert near.retries["mode"] == "standard" and near.read_timeout <= config.read_timeout
            # Every attempt (connect, read, botocore's longest pause before it) ends before the deadline.
            assert worst_case_seconds(near, near.retries["total_max_attempts"]) <= remaining
    with bound_to_deadline(Deadline.after(0.2)), pytest.raises(NoTimeLeft):
        s3.get_object(Bucket="bucket", Key="p/out/answer.out")  # not sent: no attempt fits


def test_a_failing_secret_read_is_retried_by_the_verifier_s_own_client(
    fresh_session: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = [
        (500, {"__type": "InternalServiceError", "message": "try again"}),
        (
            200,
            {
                "ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:tryon/test/api-keys-AbCdEf",
                "Name": "tryon/test/api-keys",
                "VersionId": "v1",
                "SecretString": json.dumps({"api_keys": ["k-1"]}),
            },
        ),
    ]
    targets: list[str] = []

    class SecretsManager(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            targets.append(self.headers.get("X-Amz-Target", ""))
            status, payload = answers.pop(0)
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), SecretsManager)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", f"http://127.0.0.1:{server.server_address[1]}")
        verifier = build_verifier(Settings(api_key_secret_id="tryon/test/api-keys"))
        verifier.verify("k-1")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert targets == ["secretsmanager.GetSecretValue"] * 2


@pytest.mark.parametrize("remaining", [0.5, 1.4, 1.5, 2.0, 4.0, 9.0, 13.0, 20.0, 28.5, 60.0, 178.5])
def test_a_quick_call_s_worst_case_ends_before_the_deadline(remaining: float) -> None:
    budget = quick_call_budget(QUICK_CALL_READ_TIMEOUT_SECONDS, remaining)
    if budget is None:  # not even one attempt of the shortest read fits
        assert remaining < QUICK_CALL_CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_LADDER[-1]
        return
    read_timeout, attempts = budget
    config = quick_call_config(read_timeout, attempts)
    assert 1 <= attempts <= QUICK_CALL_MAX_ATTEMPTS and read_timeout <= QUICK_CALL_READ_TIMEOUT_SECONDS
    assert worst_case_seconds(config, attempts) <= remaining  # botocore's own backoff constants
    if remaining >= worst_case_seconds(quick_call_config(QUICK_CALL_READ_TIMEOUT_SECONDS), QUICK_CALL_MAX_ATTEMPTS):
        assert budget == (QUICK_CALL_READ_TIMEOUT_SECONDS, QUICK_CALL_MAX_ATTEMPTS)  # far deadlines cut nothing


def test_outside_a_deadline_a_quick_client_keeps_its_configured_timeouts() -> None:
    assert quick_call_budget(QUICK_CALL_READ_TIMEOUT_SECONDS, None) == (
        QUICK_CALL_READ_TIMEOUT_SECONDS,
        QUICK_CALL_MAX_ATTEMPTS,
    )

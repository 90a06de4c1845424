"""API-key auth against Secrets Manager (moto), through the real boto3 client and the handler."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from tests.fakes import ScriptedBackend, no_jobs, solid_jpeg
from tests.loopback import stalled_endpoint
from tests.photos import b64
from tryon_api.entrypoints.function_url import handle_event
from tryon_api.entrypoints.wiring import build_verifier, set_services
from tryon_api.http.dependencies import Services
from tryon_api.settings import Settings
from tryon_api.tryon.garment_fetch import GarmentImageFetcher
from tryon_api.tryon.pipeline import TryOnService
from tryon_dev.events import function_url_event
from tryon_dev.lambda_context import new_context

pytestmark = pytest.mark.integration
SECRET = "tryon/test/api-keys"


@pytest.fixture
def secrets_client() -> Iterator[object]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def install(client: object, secret_id: str = SECRET) -> None:
    settings = Settings(api_key_secret_id=secret_id)
    fetcher = GarmentImageFetcher(allow_private=False, timeout_seconds=1, max_bytes=1024)
    set_services(
        Services(
            settings, build_verifier(settings, client), TryOnService(ScriptedBackend(), fetcher, 6_000_000), no_jobs
        )
    )


def status_for(key: str | None) -> tuple[int, dict[str, str]]:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["x-api-key"] = key
    body = json.dumps({"selfie_base64": b64(solid_jpeg()), "clothing_description": "blue shirt", "mode": "studio"})
    response = handle_event(function_url_event("POST", "/generate_image", headers, body.encode()), new_context(30))
    return response["statusCode"], json.loads(response["body"]) if response["statusCode"] != 200 else {}


def test_right_key_from_json_secret(secrets_client) -> None:
    secrets_client.create_secret(Name=SECRET, SecretString=json.dumps({"api_keys": ["k-live"]}))
    install(secrets_client)
    assert status_for("k-live")[0] == 200


def test_wrong_and_missing_key(secrets_client) -> None:
    secrets_client.create_secret(Name=SECRET, SecretString=json.dumps({"api_keys": ["k-live"]}))
    install(secrets_client)
    assert status_for("k-other") == (401, {"error": "missing or invalid api key"})
    assert status_for(None) == (401, {"error": "missing or invalid api key"})


def test_rotated_pair_both_work(secrets_client) -> None:
    secrets_client.create_secret(Name=SECRET, SecretString=json.dumps({"api_keys": ["k-old", "k-new"]}))
    install(secrets_client)
    assert status_for("k-old")[0] == 200
    assert status_for("k-new")[0] == 200


def test_plain_string_secret(secrets_client) -> None:
    secrets_client.create_secret(Name=SECRET, SecretString="just-one-key")
    install(secrets_client)
    assert status_for("just-one-key")[0] == 200
    assert status_for("just-one-key-not")[0] == 401


def test_missing_secret_fails_closed(secrets_client, json_logs) -> None:
    install(secrets_client, secret_id="tryon/does-not-exist")
    status, body = status_for("anything")
    assert status == 503
    assert body == {"error": "authentication is unavailable, retry later"}
    assert "does-not-exist" not in json.dumps(body)
    assert '"code":"ResourceNotFoundException"' in json_logs.getvalue()


def test_new_key_is_picked_up_after_the_refresh_interval(secrets_client) -> None:
    secrets_client.create_secret(Name=SECRET, SecretString=json.dumps({"api_keys": ["k-old"]}))
    settings = Settings(api_key_secret_id=SECRET, secret_refresh_interval_seconds=0)
    fetcher = GarmentImageFetcher(allow_private=False, timeout_seconds=1, max_bytes=1024)
    set_services(
        Services(
            settings,
            build_verifier(settings, secrets_client),
            TryOnService(ScriptedBackend(), fetcher, 6_000_000),
            no_jobs,
        )
    )
    assert status_for("k-old")[0] == 200
    secrets_client.put_secret_value(SecretId=SECRET, SecretString=json.dumps({"api_keys": ["k-old", "k-new"]}))
    assert status_for("k-new")[0] == 200  # unknown key forced a re-read (interval 0 here)


def test_unreachable_secret_store_fails_closed() -> None:
    # A closed loopback port: the real client gets a connection error, quickly.
    client = boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    install(client)
    status, body = status_for("anything")
    assert status == 503
    assert body == {"error": "authentication is unavailable, retry later"}


def test_a_secret_store_that_never_answers_fails_closed_within_the_request_s_time(
    monkeypatch: pytest.MonkeyPatch, json_logs: io.StringIO
) -> None:
    # The function's own client (aws_clients), cut to a request with 5 s left: one 3 s read, then 503.
    with stalled_endpoint() as stalled:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", stalled.url)
        settings = Settings(api_key_secret_id=SECRET, local_timeout_seconds=6.0, deadline_margin_seconds=1.0)
        fetcher = GarmentImageFetcher(allow_private=False, timeout_seconds=1, max_bytes=1024)
        set_services(
            Services(settings, build_verifier(settings), TryOnService(ScriptedBackend(), fetcher, 6_000_000), no_jobs)
        )
        headers = {"content-type": "application/json", "x-api-key": "anything"}
        response = handle_event(function_url_event("POST", "/generate_image", headers, b"{}"), None)
        assert stalled.connections  # the store was asked, and never answered
    assert response["statusCode"] == 503
    assert json.loads(response["body"]) == {"error": "authentication is unavailable, retry later"}
    assert '"cause":"ReadTimeoutError"' in json_logs.getvalue()

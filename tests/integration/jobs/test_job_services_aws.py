"""The jobs' AWS dependencies as ``build_aws_job_dependencies`` builds them from settings, against a
moto server through real boto3 clients: Powertools' DynamoDB idempotency records in the jobs
table, and the webhook secret read from Secrets Manager only when a delivery is signed (the API's role may not
read it: template.yaml, tests/integration/jobs/test_jobs_iam.py)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer
from standardwebhooks import Webhook

from tests.fakes import ScriptedBackend, solid_jpeg
from tests.handler_calls import call_handler
from tests.integration.jobs.aws_resources import create_jobs_resources
from tests.loopback import webhook_receiver
from tests.photos import b64
from tryon_api.aws_clients import aws_session, create_quick_client
from tryon_api.entrypoints import wiring
from tryon_api.entrypoints.wiring import set_services
from tryon_api.http.auth import ApiKeyVerifier, static_key_loader
from tryon_api.http.dependencies import Services
from tryon_api.jobs.aws_stores import decode_message
from tryon_api.jobs.dependencies import build_aws_job_dependencies
from tryon_api.jobs.worker import handle_message
from tryon_api.settings import Settings, SettingsError
from tryon_api.tryon.garment_fetch import GarmentImageFetcher
from tryon_api.tryon.pipeline import TryOnService

pytestmark = pytest.mark.integration
KEY = "aws-jobs-key"
# As the template's GenerateSecretString makes it: 48 letters and digits (valid base64, no prefix).
SECRET = "Zk3P9qLmX2vR7tYw4nBc8dFh6jKs1aGe5uWo0iQp3rTy7uIo"


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()  # moto's state is per process
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "emulated",
        "AWS_SECRET_ACCESS_KEY": "emulated",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    aws_session.set(boto3.session.Session())
    try:
        yield endpoint
    finally:
        aws_session.reset()
        wiring.reset()
        server.stop()


def operations_seen(session: Any) -> list[str]:
    """Every AWS operation called through clients the session creates from now on."""
    seen: list[str] = []
    session.events.register(
        "before-call.*.*", lambda model, **_: seen.append(f"{model.service_model.service_name}:{model.name}")
    )
    return seen


def aws_settings(names: dict[str, str], secret_id: str, **extra: Any) -> Settings:
    return Settings(
        jobs_table_name=names["table"],
        jobs_bucket_name=names["bucket"],
        jobs_queue_url=names["queue_url"],
        webhook_secret_id=secret_id,
        local_api_keys=(KEY,),
        **extra,
    )


def call(method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    status, _, answer = call_handler(method, path, body, key=KEY, headers=headers)
    return status, answer


def test_submit_is_idempotent_in_dynamodb_and_the_worker_signs_with_the_secret_read_at_delivery(
    moto_endpoint: str,
) -> None:
    session = aws_session.get()
    clients = {name: session.client(name) for name in ("dynamodb", "s3", "sqs", "secretsmanager")}
    names = create_jobs_resources(clients["dynamodb"], clients["s3"], clients["sqs"])
    secret_arn = clients["secretsmanager"].create_secret(Name="tryon/dev/webhook", SecretString=SECRET)["ARN"]
    seen = operations_seen(session)
    with webhook_receiver() as receiver:
        port = urlsplit(receiver.url).port
        settings = aws_settings(names, secret_arn, allow_private_garment_urls=True, garment_allowed_ports=(port,))
        fetcher = GarmentImageFetcher(allow_private=False, timeout_seconds=1, max_bytes=1024)
        tryon = TryOnService(ScriptedBackend(), fetcher, 6_000_000)
        deps = build_aws_job_dependencies(settings, tryon, create_quick_client)
        assert not [op for op in seen if op.startswith("secretsmanager:")]  # nothing read at start-up
        verifier = ApiKeyVerifier(static_key_loader((KEY,)))
        set_services(Services(settings=settings, verifier=verifier, tryon=tryon, jobs=lambda: deps))

        body = {
            "selfie_base64": b64(solid_jpeg()),
            "clothing_description": "red hoodie",
            "mode": "studio",
            "webhook_url": receiver.url,
        }
        first = call("POST", "/jobs", body, {"Idempotency-Key": "order-17"})
        again = call("POST", "/jobs", body, {"Idempotency-Key": "order-17"})
        reused = call("POST", "/jobs", {**body, "clothing_description": "blue coat"}, {"Idempotency-Key": "order-17"})
        assert first[0] == again[0] == 202 and again[1]["id"] == first[1]["id"]
        assert reused[0] == 422
        job_id = first[1]["id"]
        # The idempotency record lives in the jobs table beside the job, with its TTL attribute.
        items = clients["dynamodb"].scan(TableName=names["table"])["Items"]
        records = [item for item in items if item["pk"]["S"].startswith("idempotency#")]
        assert len(records) == 1 and "expires_at" in records[0]
        assert not [op for op in seen if op.startswith("secretsmanager:")]  # the API path never reads it

        # The worker: run the job, then deliver its webhook, signed with the secret's value.
        for _ in range(2):
            (message,) = clients["sqs"].receive_message(QueueUrl=names["queue_url"], WaitTimeSeconds=0)["Messages"]
            handle_message(decode_message(message["Body"]), deps)
            clients["sqs"].delete_message(QueueUrl=names["queue_url"], ReceiptHandle=message["ReceiptHandle"])
        (headers, delivered), *_ = receiver.wait_for(1, timeout=10)
    event = Webhook("whsec_" + SECRET).verify(delivered, headers)  # the receiver's key: whsec_ + the secret's value
    assert event["type"] == "job.succeeded" and event["data"]["id"] == job_id
    assert headers["webhook-id"] == f"msg_{job_id}"
    assert seen.count("secretsmanager:GetSecretValue") == 1


def test_the_aws_jobs_need_a_webhook_secret_and_an_empty_one_fails_the_delivery(moto_endpoint: str) -> None:
    session = aws_session.get()
    clients = {name: session.client(name) for name in ("dynamodb", "s3", "sqs", "secretsmanager")}
    names = create_jobs_resources(clients["dynamodb"], clients["s3"], clients["sqs"])
    fetcher = GarmentImageFetcher(allow_private=False, timeout_seconds=1, max_bytes=1024)
    tryon = TryOnService(ScriptedBackend(), fetcher, 6_000_000)
    with pytest.raises(SettingsError, match="TRYON_WEBHOOK_SECRET_ID"):
        build_aws_job_dependencies(aws_settings(names, ""), tryon, create_quick_client)
    blank = clients["secretsmanager"].create_secret(Name="tryon/dev/blank", SecretString="  ")["ARN"]
    deps = build_aws_job_dependencies(aws_settings(names, blank), tryon, create_quick_client)
    with pytest.raises(SettingsError, match="empty"):
        deps.webhook_sender.read_secret()


def test_result_urls_are_sigv4_presigned_gets_that_moto_serves_until_the_job_is_deleted(
    moto_endpoint: str,
) -> None:
    from urllib.parse import parse_qs

    session = aws_session.get()
    clients = {name: session.client(name) for name in ("dynamodb", "s3", "sqs", "secretsmanager")}
    names = create_jobs_resources(clients["dynamodb"], clients["s3"], clients["sqs"])
    secret_arn = clients["secretsmanager"].create_secret(Name="tryon/dev/webhook-urls", SecretString=SECRET)["ARN"]
    settings = aws_settings(names, secret_arn)
    fetcher = GarmentImageFetcher(allow_private=False, timeout_seconds=1, max_bytes=1024)
    tryon = TryOnService(ScriptedBackend(), fetcher, 6_000_000)
    deps = build_aws_job_dependencies(settings, tryon, create_quick_client)
    verifier = ApiKeyVerifier(static_key_loader((KEY,)))
    set_services(Services(settings=settings, verifier=verifier, tryon=tryon, jobs=lambda: deps))
    body = {"selfie_base64": b64(solid_jpeg()), "clothing_description": "red hoodie", "mode": "studio"}
    status, accepted = call("POST", "/jobs", {**body, "num_samples": 4, "output_format": "png"}, {})
    assert status == 202
    (message,) = clients["sqs"].receive_message(QueueUrl=names["queue_url"], WaitTimeSeconds=0)["Messages"]
    handle_message(decode_message(message["Body"]), deps)
    status, job = call("GET", f"/jobs/{accepted['id']}", None, {})
    assert status == 200 and job["status"] == "succeeded" and len(job["images"]) == 4
    status, single = call("POST", "/generate_image", {**body, "output_format": "png"}, {})
    assert status == 200
    single_image = base64.b64decode(single["image_base64"])
    for index, image in enumerate(job["images"]):
        assert image["url"].startswith(moto_endpoint + "/") and image["mime_type"] == "image/png"
        query = parse_qs(urlsplit(image["url"]).query)
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and 0 < int(query["X-Amz-Expires"][0]) <= 3600
        fetched = requests.get(image["url"], timeout=10)  # the real presigned URL, over HTTP, unsigned otherwise
        stored = clients["s3"].get_object(Bucket=names["bucket"], Key=f"results/{accepted['id']}/{index}.png")
        assert fetched.status_code == 200 and fetched.content == stored["Body"].read()
        assert fetched.content.startswith(b"\x89PNG")
        assert fetched.content == single_image  # the scripted backend ignores seeds: the synchronous answer's bytes
    # (moto checks no signatures unless its IAM emulation is on: forged and altered links are the
    # local adapter's tests, tests/integration/test_jobs_result_urls.py.)
    first = job["images"][0]["url"]
    assert call("DELETE", f"/jobs/{accepted['id']}", None, {})[0] == 204
    assert requests.get(first, timeout=10).status_code in (403, 404)  # deleted: S3 answers 403 without ListBucket

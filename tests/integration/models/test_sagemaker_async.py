"""The SageMaker backend against an asynchronous endpoint: the body goes to S3, InvokeEndpointAsync
names it, the answer is read back from S3 (moto's S3 server and the emulator, both on 127.0.0.1)."""

from __future__ import annotations

import http.client
import io
import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.loaders
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from tests.fakes import freeze_deadlines
from tests.integration.models.helpers import ENDPOINT, FAST_RETRIES
from tryon_api.aws_clients import QUICK_CALL_MAX_ATTEMPTS, aws_session
from tryon_api.backends.factory import create_backend
from tryon_api.backends.sagemaker import S3Location, SageMakerTryOnBackend
from tryon_api.settings import Settings
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import ContentFiltered, UpstreamFailed, UpstreamTimeout
from tryon_api.tryon.interface import GenerationInput
from tryon_dev.aws_emulator import AwsModelEmulator

pytestmark = pytest.mark.integration
BUCKET = "tryon-async"
CREDENTIALS = {"aws_access_key_id": "emulated", "aws_secret_access_key": "emulated", "region_name": "us-east-1"}
# A delay no request of these tests outlives, however busy the machine: the answer never races
# the deadline (stopping the emulator ends the wait).
NEVER_IN_TIME = 600.0


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client("s3", endpoint_url=f"http://{host}:{port}", **CREDENTIALS)
    client.create_bucket(Bucket=BUCKET)
    yield client
    server.stop()


@pytest.fixture
def async_endpoint(s3: Any) -> Iterator[AwsModelEmulator]:
    with AwsModelEmulator(endpoint_names=(ENDPOINT,), s3_client=s3, async_output_s3_uri=f"s3://{BUCKET}/out/") as emu:
        yield emu
    # After the stop: a background run still waiting out its delay gives up at once.
    emu.async_invocations.join()


def backend(emulator: AwsModelEmulator, s3: Any) -> SageMakerTryOnBackend:
    runtime = boto3.client("sagemaker-runtime", endpoint_url=emulator.url, **CREDENTIALS)
    return SageMakerTryOnBackend(
        runtime, ENDPOINT, FAST_RETRIES, inference_steps=8, async_input=S3Location(BUCKET, "in/"), s3_client=s3
    )


def job() -> GenerationInput:
    return GenerationInput(
        person=Image.new("RGB", (400, 600), (150, 160, 170)),
        clothing_description="Red cotton t-shirt",
        mode="studio",
        seed=7,
    )


def test_an_async_endpoint_answers_through_s3(async_endpoint: AwsModelEmulator, s3: Any) -> None:
    result = backend(async_endpoint, s3).generate(job(), Deadline.after(30))
    assert result.mime_type == "image/png"
    assert Image.open(io.BytesIO(result.data)).size == (400, 600)
    inputs = s3.list_objects_v2(Bucket=BUCKET, Prefix="in/")["Contents"]
    sent = json.loads(s3.get_object(Bucket=BUCKET, Key=inputs[-1]["Key"])["Body"].read())
    assert sent["contract_version"] == "1" and sent["num_inference_steps"] == 8
    assert [call.operation for call in async_endpoint.calls] == ["invoke_endpoint_async"]


def test_a_refusal_written_to_the_output_is_content_filtered(async_endpoint: AwsModelEmulator, s3: Any) -> None:
    async_endpoint.inject(ENDPOINT, "filtered")
    with pytest.raises(ContentFiltered):
        backend(async_endpoint, s3).generate(job(), Deadline.after(30))


def test_a_container_failure_in_the_failure_file_is_a_502(async_endpoint: AwsModelEmulator, s3: Any) -> None:
    async_endpoint.inject(ENDPOINT, "model_error")
    with pytest.raises(UpstreamFailed):
        backend(async_endpoint, s3).generate(job(), Deadline.after(30))


def test_no_answer_before_the_deadline_is_a_504(async_endpoint: AwsModelEmulator, s3: Any) -> None:
    async_endpoint.set_delay(ENDPOINT, NEVER_IN_TIME)
    with pytest.raises(UpstreamTimeout):
        backend(async_endpoint, s3).generate(job(), Deadline.after(1.0))


# --- S3 refusing for a moment: the async path's S3 client retries (botocore's standard mode) ----

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>loopback</RequestId></Error>"
)


class SlowDownProxy:
    """A loopback S3 in front of moto's that answers the next ``refusals`` requests of a method
    with S3's ``503 SlowDown`` and forwards everything else; it records what it was asked."""

    def __init__(self, target: str) -> None:
        self.refusals: dict[str, int] = {}
        self.seen: list[tuple[str, str, int]] = []
        proxy = self
        upstream = urlsplit(target)

        class Handler(BaseHTTPRequestHandler):
            def relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.refusals.get(self.command, 0) > 0:
                    proxy.refusals[self.command] -= 1
                    proxy.seen.append((self.command, self.path, 503))
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(SLOW_DOWN)))
                    self.end_headers()
                    self.wfile.write(SLOW_DOWN)
                    return
                connection = http.client.HTTPConnection(upstream.hostname or "127.0.0.1", upstream.port, timeout=10)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "expect")}
                    connection.request(self.command, self.path, body=body or None, headers=headers)
                    answer = connection.getresponse()
                    data = answer.read()
                finally:
                    connection.close()
                proxy.seen.append((self.command, self.path, answer.status))
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = relay

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def slow_down_s3(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowDownProxy]:
    """The project's own S3 client (``create_s3_client``, as the factory builds it) pointed at the proxy."""
    proxy = SlowDownProxy(s3.meta.endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulated")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulated")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws_session.set(boto3.session.Session())
    try:
        yield proxy
    finally:
        aws_session.reset()
        proxy.close()


def factory_backend(emulator: AwsModelEmulator) -> Any:
    settings = Settings(
        backend="sagemaker",
        sagemaker_endpoint_name=ENDPOINT,
        sagemaker_async_s3_uri=f"s3://{BUCKET}/",
        model_region="us-east-1",
        sagemaker_inference_steps=8,
    )
    runtime = boto3.client("sagemaker-runtime", endpoint_url=emulator.url, **CREDENTIALS)
    backend = create_backend(settings, model_client=runtime)
    backend.policy = FAST_RETRIES
    return backend


@pytest.mark.parametrize("method", ["PUT", "GET"])
def test_one_s3_slow_down_is_retried_and_the_request_succeeds(
    async_endpoint: AwsModelEmulator, slow_down_s3: SlowDownProxy, method: str
) -> None:
    slow_down_s3.refusals[method] = 1  # the input's upload, or the first read of the answer
    result = factory_backend(async_endpoint).generate(job(), Deadline.after(30))
    assert Image.open(io.BytesIO(result.data)).size == (400, 600)
    answered = [status for command, _, status in slow_down_s3.seen if command == method]
    assert answered[0] == 503 and 200 in answered[1:]
    if method == "PUT":
        assert [status for command, _, status in slow_down_s3.seen if command == "PUT"] == [503, 200]
    assert [call.operation for call in async_endpoint.calls] == ["invoke_endpoint_async"]  # sent once


def test_s3_slowing_down_on_every_attempt_stops_after_the_clients_attempts(
    async_endpoint: AwsModelEmulator, slow_down_s3: SlowDownProxy
) -> None:
    slow_down_s3.refusals["PUT"] = 100
    with pytest.raises(UpstreamFailed):
        factory_backend(async_endpoint).generate(job(), Deadline.after(30))
    puts = [status for command, _, status in slow_down_s3.seen if command == "PUT"]
    assert puts == [503] * QUICK_CALL_MAX_ATTEMPTS
    assert not async_endpoint.calls  # nothing was sent to the endpoint


def wire_headers(runtime: Any) -> list[dict[str, str]]:
    """The headers of each InvokeEndpointAsync request as botocore sends them."""
    sent: list[dict[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        sent.append(
            {
                name.lower(): str(value, "ascii") if isinstance(value, bytes) else value
                for name, value in request.headers.items()
            }
        )

    runtime.meta.events.register("before-send.sagemaker-runtime.InvokeEndpointAsync", record)
    return sent


def model_bounds(member: str) -> tuple[int, int]:
    """min/max of an InvokeEndpointAsync input member, read from botocore's service model file."""
    model = botocore.loaders.create_loader().load_service_model("sagemaker-runtime", "service-2")
    request = model["shapes"][model["operations"]["InvokeEndpointAsync"]["input"]["shape"]]
    shape = model["shapes"][request["members"][member]["shape"]]
    return int(shape["min"]), int(shape["max"])


@pytest.mark.parametrize("seconds_left", [1.0, 30.0, 900.0, 30_000.0])
def test_the_request_expires_with_the_time_it_has_left(
    async_endpoint: AwsModelEmulator, s3: Any, seconds_left: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RequestTTLSeconds and InvocationTimeoutSeconds: the time left, within botocore's bounds."""
    tried = backend(async_endpoint, s3)
    sent = wire_headers(tried.client)
    if seconds_left < 2:
        async_endpoint.set_delay(ENDPOINT, NEVER_IN_TIME)
        with pytest.raises(UpstreamTimeout):
            tried.generate(job(), Deadline.after(seconds_left))
        possible = {1, 0}  # the time left when the call is made: under one second, rounded up or spent
    else:
        freeze_deadlines(monkeypatch)  # the time left is exactly what the deadline was given
        tried.generate(job(), Deadline.after(seconds_left))
        possible = {math.ceil(seconds_left)}
    for header, member in (
        ("x-amzn-sagemaker-requestttlseconds", "RequestTTLSeconds"),
        ("x-amzn-sagemaker-invocationtimeoutseconds", "InvocationTimeoutSeconds"),
    ):
        low, high = model_bounds(member)
        assert int(sent[0][header]) in {max(low, min(high, left)) for left in possible}, member

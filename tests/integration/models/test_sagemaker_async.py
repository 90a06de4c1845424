"""The SageMaker backend against an asynchronous endpoint: the body goes to S3, InvokeEndpointAsync
names it, the answer is read back from S3 (moto's S3 server and the emulator, both on 127.0.0.1)."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.loaders
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from tests.integration.models.helpers import ENDPOINT, FAST_RETRIES
from tryon_api.backends.sagemaker import S3Location, SageMakerTryOnBackend
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import ContentFiltered, UpstreamFailed, UpstreamTimeout
from tryon_api.tryon.interface import GenerationInput
from tryon_dev.aws_emulator import AwsModelEmulator

pytestmark = pytest.mark.integration
BUCKET = "tryon-async"
CREDENTIALS = {"aws_access_key_id": "emulated", "aws_secret_access_key": "emulated", "region_name": "us-east-1"}


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
    async_endpoint.set_delay(ENDPOINT, 3.0)
    with pytest.raises(UpstreamTimeout):
        backend(async_endpoint, s3).generate(job(), Deadline.after(1.0))


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
    async_endpoint: AwsModelEmulator, s3: Any, seconds_left: float
) -> None:
    """RequestTTLSeconds and InvocationTimeoutSeconds: the time left, within botocore's bounds."""
    tried = backend(async_endpoint, s3)
    sent = wire_headers(tried.client)
    if seconds_left < 2:
        async_endpoint.set_delay(ENDPOINT, 3.0)
        with pytest.raises(UpstreamTimeout):
            tried.generate(job(), Deadline.after(seconds_left))
    else:
        tried.generate(job(), Deadline.after(seconds_left))
    # The time left when the call is made: the deadline's whole seconds, or one fewer if one ticked by.
    possible = {math.ceil(seconds_left), math.ceil(seconds_left) - 1}
    for header, member in (
        ("x-amzn-sagemaker-requestttlseconds", "RequestTTLSeconds"),
        ("x-amzn-sagemaker-invocationtimeoutseconds", "InvocationTimeoutSeconds"),
    ):
        low, high = model_bounds(member)
        assert int(sent[0][header]) in {max(low, min(high, left)) for left in possible}, member

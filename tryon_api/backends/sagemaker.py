"""The backend for a team's own try-on model hosted on a SageMaker real-time endpoint.

One ``InvokeEndpoint`` call per request, with a versioned JSON contract any container can
implement, defined once in ``contracts/sagemaker-tryon.v1.schema.json`` (our own container is
``model_server/``; docs/model-server.md, "Hosting a try-on model on SageMaker"):

request  ``{"contract_version": "1", "person_image_base64", "garment_image_base64" (or null),
            "garment_description", "mode": "studio"|"environment", "seed",
            "output_format": "png"|"jpeg", "num_inference_steps" (optional)}``
response ``{"finish_reason": "success", "image_base64", "mime_type"}`` or
         ``{"finish_reason": "content_filtered"}`` (a refusal: 422 to our caller).

A container's own error status reaches us as a ``ModelError`` (424): 502 to the caller, except
SageMaker's "timed out" model error (504). Throttling, unavailability and configuration errors
follow the same policy as Bedrock (``model_calls``).

Asynchronous endpoints (for a model that needs more than the 60 s of a real-time invocation):
with ``TRYON_SAGEMAKER_ASYNC_S3_URI`` the body is written to S3 (``<prefix>in/``) and sent with
``InvokeEndpointAsync``; the answer (the same JSON) is read from the output location SageMaker
names, polled until it appears, its failure file appears (502), or the request's deadline (504).
"""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from tryon_api.backends.model_calls import EmptyModelOutput, ModelRun, RetryPolicy, decode_json
from tryon_api.backends.model_input import model_input_base64
from tryon_api.backends.model_metrics import record_generation
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import ContentFiltered, UpstreamFailed, UpstreamTimeout
from tryon_api.tryon.interface import GeneratedImage, GenerationInput, ImageLimits

CONTRACT_VERSION = "1"
CONTRACT_MIME_TYPES = frozenset({"image/png", "image/jpeg"})
# Real-time endpoints take payloads up to 6 MB; about 1 MP keeps two images well under it.
SAGEMAKER_LIMITS = ImageLimits(max_side=1536, max_pixels=1_048_576, min_side=64, min_aspect=1 / 2.5, max_aspect=2.5)
# Polling an asynchronous answer: first look after 0.25 s, then doubling up to 2 s between looks.
ASYNC_FIRST_POLL_SECONDS = 0.25
ASYNC_MAX_POLL_SECONDS = 2.0
MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        if not uri.startswith("s3://") or "/" not in uri[5:]:
            raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
        bucket, key = uri[5:].split("/", 1)
        return cls(bucket, key)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def operation_bounds(client: Any, operation: str, member: str) -> tuple[int, int]:
    """The ``min``/``max`` botocore's service model gives an integer input member (what it validates)."""
    shape = client.meta.service_model.operation_model(operation).input_shape.members[member]
    return int(shape.metadata["min"]), int(shape.metadata["max"])


def clamp(value: int, bounds: tuple[int, int]) -> int:
    return max(bounds[0], min(bounds[1], value))


def tryon_request(generation: GenerationInput, inference_steps: int = 0) -> dict[str, Any]:
    """The contract v1 request; ``inference_steps`` 0 leaves the steps to the container."""
    request: dict[str, Any] = {
        "contract_version": CONTRACT_VERSION,
        "person_image_base64": model_input_base64(generation.person),
        "garment_image_base64": model_input_base64(generation.garment) if generation.garment is not None else None,
        "garment_description": generation.clothing_description,
        "mode": generation.mode,
        "seed": generation.seed,
        "output_format": "png",
    }
    if inference_steps:
        request["num_inference_steps"] = inference_steps
    if generation.garment_category != "auto":  # optional in the contract: only sent when named
        request["garment_category"] = generation.garment_category
    return request


def parse_tryon_answer(payload: Any) -> GeneratedImage:
    if not isinstance(payload, dict):
        raise UpstreamFailed("the image model failed")
    reason = payload.get("finish_reason", "success")
    if reason == "content_filtered":
        raise ContentFiltered()
    if reason != "success":
        raise EmptyModelOutput(str(reason))
    data_b64, mime_type = payload.get("image_base64"), payload.get("mime_type")
    if not isinstance(data_b64, str) or not data_b64:
        raise EmptyModelOutput("no image")
    if mime_type not in CONTRACT_MIME_TYPES:
        raise UpstreamFailed("the image model returned an unusable image")
    try:
        data = base64.b64decode(data_b64, validate=True)
    except ValueError:
        raise UpstreamFailed("the image model returned an unreadable image") from None
    return GeneratedImage(data, str(mime_type))


class SageMakerTryOnBackend:
    name = "sagemaker"
    input_limits = SAGEMAKER_LIMITS

    def __init__(
        self,
        client: Any,
        endpoint_name: str,
        policy: RetryPolicy | None = None,
        inference_steps: int = 0,
        *,
        async_input: S3Location | None = None,
        s3_client: Any | None = None,
    ) -> None:
        """``async_input`` (a bucket and key prefix) and ``s3_client``: an asynchronous endpoint."""
        if (async_input is None) != (s3_client is None):
            raise ValueError("an asynchronous endpoint needs both async_input and s3_client")
        self.client = client
        self.endpoint_name = endpoint_name
        self.policy = policy or RetryPolicy()
        self.inference_steps = inference_steps
        self.async_input = async_input
        self.s3_client = s3_client
        if async_input is not None:
            self.ttl_bounds = operation_bounds(client, "InvokeEndpointAsync", "RequestTTLSeconds")
            self.invocation_bounds = operation_bounds(client, "InvokeEndpointAsync", "InvocationTimeoutSeconds")

    def invoke(self, body: bytes) -> GeneratedImage:
        response = self.client.invoke_endpoint(
            EndpointName=self.endpoint_name, Body=body, ContentType="application/json", Accept="application/json"
        )
        return parse_tryon_answer(decode_json(response["Body"]))

    def invoke_async(self, body: bytes, deadline: Deadline) -> GeneratedImage:
        assert self.async_input is not None and self.s3_client is not None
        source = S3Location(self.async_input.bucket, f"{self.async_input.key}{uuid.uuid4().hex}.json")
        self.s3_client.put_object(Bucket=source.bucket, Key=source.key, Body=body, ContentType="application/json")
        seconds_left = math.ceil(deadline.remaining())
        response = self.client.invoke_endpoint_async(
            EndpointName=self.endpoint_name,
            InputLocation=source.uri,
            ContentType="application/json",
            Accept="application/json",
            RequestTTLSeconds=clamp(seconds_left, self.ttl_bounds),
            InvocationTimeoutSeconds=clamp(seconds_left, self.invocation_bounds),
        )
        output = S3Location.parse(response["OutputLocation"])
        failure = S3Location.parse(response["FailureLocation"]) if response.get("FailureLocation") else None
        pause = ASYNC_FIRST_POLL_SECONDS
        while True:
            answer = self._read_if_present(output)
            if answer is not None:
                return parse_tryon_answer(json.loads(answer))
            if failure is not None and self._read_if_present(failure) is not None:
                raise UpstreamFailed("the image model failed")
            if deadline.remaining() <= pause:
                raise UpstreamTimeout()
            time.sleep(pause)
            pause = min(pause * 2, ASYNC_MAX_POLL_SECONDS)

    def _read_if_present(self, location: S3Location) -> bytes | None:
        assert self.s3_client is not None
        try:
            return bytes(self.s3_client.get_object(Bucket=location.bucket, Key=location.key)["Body"].read())
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code", "")) in MISSING_OBJECT_CODES:
                return None
            raise

    def generate(self, generation: GenerationInput, deadline: Deadline) -> GeneratedImage:
        body = json.dumps(tryon_request(generation, self.inference_steps)).encode()
        with ModelRun(deadline, self.policy, workers=1) as run:
            if self.async_input is not None:
                result = run.call("tryon", self.endpoint_name, lambda: self.invoke_async(body, deadline))
            else:
                result = run.call("tryon", self.endpoint_name, lambda: self.invoke(body))
        record_generation(len(run.calls), run.sequential)
        return result

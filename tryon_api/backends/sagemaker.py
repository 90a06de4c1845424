"""The backend for a team's own try-on model hosted on a SageMaker real-time endpoint.

One ``InvokeEndpoint`` call per request, with a versioned JSON contract any container can
implement, defined once in ``contracts/sagemaker-tryon.v1.schema.json`` (our own container is
``model_server/``; README, "Hosting a try-on model on SageMaker"):

request  ``{"contract_version": "1", "person_image_base64", "garment_image_base64" (or null),
            "garment_description", "mode": "studio"|"environment", "seed",
            "output_format": "png"|"jpeg", "num_inference_steps" (optional)}``
response ``{"finish_reason": "success", "image_base64", "mime_type"}`` or
         ``{"finish_reason": "content_filtered"}`` (a refusal: 422 to our caller).

A container's own error status reaches us as a ``ModelError`` (424): 502 to the caller, except
SageMaker's "timed out" model error (504). Throttling, unavailability and configuration errors
follow the same policy as Bedrock (``model_calls``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from tryon_api.backends.model_calls import EmptyModelOutput, ModelRun, RetryPolicy, decode_json
from tryon_api.backends.model_input import model_input_base64
from tryon_api.backends.model_metrics import record_generation
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import ContentFiltered, UpstreamFailed
from tryon_api.tryon.interface import GeneratedImage, GenerationInput, ImageLimits

CONTRACT_VERSION = "1"
CONTRACT_MIME_TYPES = frozenset({"image/png", "image/jpeg"})
# Real-time endpoints take payloads up to 6 MB; about 1 MP keeps two images well under it.
SAGEMAKER_LIMITS = ImageLimits(max_side=1536, max_pixels=1_048_576, min_side=64, min_aspect=1 / 2.5, max_aspect=2.5)


def tryon_request(job: GenerationInput, inference_steps: int = 0) -> dict[str, Any]:
    """The contract v1 request; ``inference_steps`` 0 leaves the steps to the container."""
    request: dict[str, Any] = {
        "contract_version": CONTRACT_VERSION,
        "person_image_base64": model_input_base64(job.person),
        "garment_image_base64": model_input_base64(job.garment) if job.garment is not None else None,
        "garment_description": job.clothing_description,
        "mode": job.mode,
        "seed": job.seed,
        "output_format": "png",
    }
    if inference_steps:
        request["num_inference_steps"] = inference_steps
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
        self, client: Any, endpoint_name: str, policy: RetryPolicy | None = None, inference_steps: int = 0
    ) -> None:
        self.client = client
        self.endpoint_name = endpoint_name
        self.policy = policy or RetryPolicy()
        self.inference_steps = inference_steps

    def invoke(self, body: bytes) -> GeneratedImage:
        response = self.client.invoke_endpoint(
            EndpointName=self.endpoint_name, Body=body, ContentType="application/json", Accept="application/json"
        )
        return parse_tryon_answer(decode_json(response["Body"]))

    def generate(self, job: GenerationInput, deadline: Deadline) -> GeneratedImage:
        body = json.dumps(tryon_request(job, self.inference_steps)).encode()
        with ModelRun(deadline, self.policy, workers=1) as run:
            result = run.call("tryon", self.endpoint_name, lambda: self.invoke(body))
        record_generation(len(run.calls), run.sequential)
        return result

"""The largest answers fit Lambda's 6 MB response payload (``LAMBDA_INVOCATION_PAYLOAD_BYTES``).

A backend answers with a clean progressive JPEG (which the pipeline passes through untouched) of
noise, sized to the largest base64 the pipeline allows an image in a 1-image answer
(POST /generate_image) and in a 4-image one (GET /jobs/{id}?images=base64 of a 4-sample job). The real handler
builds each response, and the object Lambda would serialise is measured, plus what an image
exactly at the pipeline's limit would add: every answer the pipeline can give fits.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.cfn_template import load_template
from tests.handler_calls import call_handler
from tests.jobs_fixtures import local_jobs
from tests.photos import b64, selfie_jpeg
from tryon_api.entrypoints.function_url import handle_event
from tryon_api.entrypoints.wiring import set_services
from tryon_api.http.auth import ApiKeyVerifier, static_key_loader
from tryon_api.http.dependencies import Services
from tryon_api.jobs.dependencies import JobDependencies
from tryon_api.jobs.local_queue import message_from_body
from tryon_api.jobs.worker import handle_message
from tryon_api.settings import LAMBDA_INVOCATION_PAYLOAD_BYTES, Settings
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.interface import GeneratedImage, GenerationInput, ImageLimits
from tryon_api.tryon.jpeg_structure import is_clean_progressive_jpeg
from tryon_api.tryon.pipeline import RESPONSE_JSON_OVERHEAD
from tryon_api.tryon.response_image import base64_length, encode_jpeg
from tryon_dev.events import function_url_event
from tryon_dev.lambda_context import new_context

KEY = "payload-test-key"
WIDTH = 1536
NOISE_SEED = 7


def image_budget(share: int) -> int:
    """The most base64 the pipeline allows each image of a ``share``-image answer (default settings)."""
    return (Settings().max_response_bytes - RESPONSE_JSON_OVERHEAD * share) // share


def noise_jpeg(rows: int) -> bytes:
    """Incompressible noise: JPEG's worst case, a clean progressive JPEG as the pipeline writes it."""
    noise = Image.frombytes("RGB", (WIDTH, rows), _noise_bytes(WIDTH * rows * 3))
    return encode_jpeg(noise, 90)


def _noise_bytes(count: int) -> bytes:
    import random

    return random.Random(NOISE_SEED).randbytes(count)


def largest_jpeg_within(budget: int) -> bytes:
    """The noise JPEG with the most rows whose base64 fits ``budget`` (within a few rows of it)."""
    probe_rows = 256
    per_row = base64_length(len(noise_jpeg(probe_rows))) / probe_rows
    rows = int(budget / per_row)
    data = noise_jpeg(rows)
    while base64_length(len(data)) > budget:  # noise size is near-linear in rows: a step or two
        rows -= max(1, int((base64_length(len(data)) - budget) / per_row) + 1)
        data = noise_jpeg(rows)
    assert is_clean_progressive_jpeg(data)
    return data


class FixedImageBackend:
    """Answers every generation with the same image."""

    name = "fixed-image"
    input_limits = ImageLimits(max_side=1024, max_pixels=1024 * 1024)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def generate(self, generation: GenerationInput, deadline: Deadline) -> GeneratedImage:
        return GeneratedImage(self.data, "image/jpeg")


def install(jobs: JobDependencies) -> None:
    set_services(
        Services(
            settings=jobs.settings,
            verifier=ApiKeyVerifier(static_key_loader((KEY,))),
            tryon=jobs.tryon,
            jobs=lambda: jobs,
        )
    )


def payload_bytes(response: dict[str, Any]) -> int:
    """The response as the Lambda runtime serialises the handler's return value (json.dumps)."""
    return len(json.dumps(response).encode("utf-8"))


def test_the_function_url_buffers_its_answers_so_the_6_mb_limit_applies() -> None:
    url_config = load_template()["Resources"]["TryOnFunction"]["Properties"]["FunctionUrlConfig"]
    assert url_config.get("InvokeMode", "BUFFERED") == "BUFFERED"
    assert Settings().max_response_bytes == LAMBDA_INVOCATION_PAYLOAD_BYTES


@pytest.mark.parametrize("samples", [1, 4])
def test_the_largest_answer_fits_the_lambda_response_payload(tmp_path: Path, samples: int) -> None:
    budget = image_budget(samples)
    image = largest_jpeg_within(budget)
    slack = budget - base64_length(len(image))  # what an image exactly at the limit would add
    assert 0 <= slack < 0.01 * budget
    jobs, _ = local_jobs(tmp_path, local_api_keys=(KEY,))
    jobs.tryon.backend = FixedImageBackend(image)  # type: ignore[assignment]
    install(jobs)
    request = {"selfie_base64": b64(selfie_jpeg()), "clothing_description": "red hoodie", "mode": "studio"}
    if samples == 1:
        body = json.dumps(request).encode()
        event = function_url_event("POST", "/generate_image", {"x-api-key": KEY}, body)
        response = handle_event(event, new_context(120))
        assert response["statusCode"] == 200
        images = [json.loads(response["body"])["image_base64"]]
    else:
        status, _, submitted = call_handler("POST", "/jobs", {**request, "num_samples": samples}, key=KEY)
        assert status == 202
        received = jobs.queue.receive()  # type: ignore[attr-defined]
        handle_message(message_from_body(received.body), jobs)
        # The one answer that carries a job's images inline (by default they are URLs).
        event = function_url_event("GET", f"/jobs/{submitted['id']}?images=base64", {"x-api-key": KEY}, b"")
        response = handle_event(event, None)
        assert response["statusCode"] == 200
        document = json.loads(response["body"])
        assert document["status"] == "succeeded"
        images = [entry["image_base64"] for entry in document["images"]]
    # The pipeline passed the largest image through whole, once per sample.
    assert [base64.b64decode(text) for text in images] == [image] * samples
    size = payload_bytes(response)
    assert size + samples * slack <= LAMBDA_INVOCATION_PAYLOAD_BYTES, (size, samples * slack)
    assert size > 0.9 * LAMBDA_INVOCATION_PAYLOAD_BYTES  # the answer is as large as answers get


def test_an_image_over_the_budget_is_made_to_fit(tmp_path: Path) -> None:
    budget = image_budget(1)
    too_large = noise_jpeg(int(1.3 * budget / (base64_length(len(noise_jpeg(64))) / 64)))
    assert base64_length(len(too_large)) > budget
    jobs, _ = local_jobs(tmp_path, local_api_keys=(KEY,))
    jobs.tryon.backend = FixedImageBackend(too_large)  # type: ignore[assignment]
    install(jobs)
    request = {"selfie_base64": b64(selfie_jpeg()), "clothing_description": "red hoodie", "mode": "studio"}
    event = function_url_event("POST", "/generate_image", {"x-api-key": KEY}, json.dumps(request).encode())
    response = handle_event(event, new_context(120))
    assert response["statusCode"] == 200
    assert payload_bytes(response) <= LAMBDA_INVOCATION_PAYLOAD_BYTES
    answer = json.loads(response["body"])["image_base64"]
    assert len(answer) <= budget  # re-encoded to fit, not refused
    assert Image.open(io.BytesIO(base64.b64decode(answer))).format == "JPEG"

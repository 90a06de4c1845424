"""Schemathesis against the dev server, from the OpenAPI document the code generates.

Every operation, positive and negative data, every Schemathesis check but one: statuses,
content types, headers and bodies must match the document, negative data must get a 4xx, an
undeclared method a 405, and a request without the key a 401.

Positive bodies carry a real selfie (a hook puts one in), so the success paths are fuzzed too:
the 200 and 202 answers, with fuzzed descriptions, modes, categories, formats, seeds and samples,
must match the document as the 400s do. Every operation is also called with a valid request
(``test_every_operation_answers_a_valid_request_as_documented``): a submitted job polled as URLs
and inline, then deleted (204, no content).

The check left out of the random runs is ``positive_data_acceptance``: schema-valid URL strings
(``^https?://...``) are mostly hosts that do not resolve or are not allowed, and rightly get the
documented 400.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from PIL import Image
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.fuzz.strategies import FUZZ_EXAMPLES
from tests.live_server import LiveServer, live_server
from tests.photos import selfie_jpeg
from tryon_api.entrypoints import wiring
from tryon_api.entrypoints.wiring import get_services
from tryon_api.http.openapi import openapi_document
from tryon_api.jobs.local_queue import message_from_body
from tryon_api.jobs.worker import handle_message

schema = schemathesis.openapi.from_dict(openapi_document())


def small_selfie_base64() -> str:
    """The test selfie at 320 px wide: a real person, decoded and rendered quickly."""
    image = Image.open(io.BytesIO(selfie_jpeg()))
    image.thumbnail((320, 400))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=90)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


SELFIE = small_selfie_base64()


@schema.hook
def map_case(context: Any, case: schemathesis.Case) -> schemathesis.Case:
    """A positive body gets a real selfie, so it can succeed; a negative one keeps its own."""
    body = case.body
    if isinstance(body, dict) and "selfie_base64" in body and not case.meta.is_negative_at(ParameterLocation.BODY):
        case.body = {**body, "selfie_base64": SELFIE}
    return case


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Room for every fuzzed submit: none of them runs here, they stay queued.
    env = {"TRYON_JOBS_DATA_DIR": str(tmp_path_factory.mktemp("jobs")), "TRYON_JOBS_MAX_IN_FLIGHT_PER_KEY": "1000"}
    with live_server(env=env) as running:
        try:
            yield running
        finally:
            wiring.reset()


def call_and_validate(case: schemathesis.Case, server: LiveServer) -> None:
    case.call_and_validate(
        base_url=server.url,
        headers={"X-API-Key": server.api_key},
        excluded_checks=[positive_data_acceptance],
    )


@schema.parametrize()
@settings(
    max_examples=min(FUZZ_EXAMPLES, 100), deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
def test_every_operation_conforms_to_the_document(case: schemathesis.Case, server: LiveServer) -> None:
    call_and_validate(case, server)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=max(FUZZ_EXAMPLES, 1000), deadline=None, suppress_health_check=list(HealthCheck))
def test_long_random_contract_run(case: schemathesis.Case, server: LiveServer) -> None:
    call_and_validate(case, server)


def test_every_operation_answers_a_valid_request_as_documented(server: LiveServer) -> None:
    """The success path of every operation, validated against the document with every check."""
    body = {"selfie_base64": SELFIE, "clothing_description": "a red wool sweater", "mode": "studio"}

    def validated(path: str, method: str, **parts: Any) -> Any:
        case = schema[path][method].Case(**parts)
        return case.call_and_validate(base_url=server.url, headers={"X-API-Key": server.api_key})

    answer = validated("/generate_image", "POST", body={**body, "output_format": "webp", "garment_category": "tops"})
    assert answer.status_code == 200 and answer.json()["mime_type"] == "image/webp"
    accepted = validated("/jobs", "POST", body={**body, "num_samples": 2, "output_format": "png"})
    assert accepted.status_code == 202
    job_id = accepted.json()["id"]
    deps = get_services().jobs()
    while (received := deps.queue.receive()) is not None:  # type: ignore[attr-defined]
        message = message_from_body(received.body)
        if message.job_id == job_id:  # the fuzzed submits stay queued
            handle_message(message, deps)
        deps.queue.acknowledge(received.receipt)  # type: ignore[attr-defined]
    linked = validated("/jobs/{job_id}", "GET", path_parameters={"job_id": job_id})
    assert linked.status_code == 200 and [i["mime_type"] for i in linked.json()["images"]] == ["image/png"] * 2
    inline = validated("/jobs/{job_id}", "GET", path_parameters={"job_id": job_id}, query={"images": "base64"})
    assert all("image_base64" in image for image in inline.json()["images"])
    deleted = validated("/jobs/{job_id}", "DELETE", path_parameters={"job_id": job_id})
    assert deleted.status_code == 204 and deleted.content == b""
    assert validated("/jobs/{job_id}", "GET", path_parameters={"job_id": job_id}).status_code == 404

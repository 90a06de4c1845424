"""POST /jobs' own fields, parsed after the synchronous call's (same order, same messages), and
the route table's path parameters."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes import solid_jpeg
from tests.photos import b64
from tryon_api.http import routes
from tryon_api.http.request_parsing import JobFields, parse_generate_request, parse_job_request
from tryon_api.tryon.errors import BadRequest


def body(**fields: Any) -> bytes:
    base = {"selfie_base64": b64(solid_jpeg()), "clothing_description": "a coat", "mode": "studio"}
    return json.dumps({**base, **fields}).encode()


def test_defaults_and_the_shared_fields_are_the_synchronous_calls() -> None:
    request, fields = parse_job_request(body())
    assert fields == JobFields(num_samples=1, seed=None, webhook_url=None)
    assert request == parse_generate_request(body())


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"num_samples": 4, "seed": 0}, JobFields(4, 0, None)),
        ({"num_samples": 2.0, "seed": 2**31 - 1}, JobFields(2, 2**31 - 1, None)),
        ({"num_samples": None, "seed": None, "webhook_url": ""}, JobFields(1, None, None)),
        ({"webhook_url": " https://hooks.example.com/x "}, JobFields(1, None, "https://hooks.example.com/x")),
    ],
)
def test_valid_job_fields(extra: dict[str, Any], expected: JobFields) -> None:
    assert parse_job_request(body(**extra))[1] == expected


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"num_samples": 0}, "num_samples must be an integer from 1 to 4"),
        ({"num_samples": [2]}, "num_samples must be an integer from 1 to 4"),
        ({"num_samples": False}, "num_samples must be an integer from 1 to 4"),
        ({"seed": "12"}, "seed must be an integer from 0 to 2147483647"),
        ({"seed": 1e300}, "seed must be an integer from 0 to 2147483647"),
        ({"webhook_url": "hooks.example.com"}, "webhook_url must be an absolute http or https URL"),
        ({"webhook_url": "https://x.example.com/" + "a" * 2048}, "webhook_url must be at most 2048 characters"),
        # The synchronous fields come first: a body wrong in both gets the synchronous message.
        ({"mode": "beach", "num_samples": 9}, 'mode must be "studio" or "environment"'),
        ({"clothing_image_url": "ftp://x", "seed": -1}, "clothing_image_url must be an absolute http or https URL"),
    ],
)
def test_invalid_job_fields(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_job_request(body(**extra))
    assert raised.value.message == message


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "2.5"])
def test_non_integer_numbers_are_refused_not_crashed_on(literal: str) -> None:
    raw = body()[:-1] + f', "num_samples": {literal}}}'.encode()
    with pytest.raises(BadRequest) as raised:
        parse_job_request(raw)
    assert raised.value.message == "num_samples must be an integer from 1 to 4"


def test_job_paths_match_one_segment_and_answer_their_methods() -> None:
    assert routes.allowed_methods("/jobs") == ("POST",)
    assert set(routes.allowed_methods("/jobs/AbC_-123")) == {"GET", "DELETE"}
    assert routes.allowed_methods("/jobs/") == ()
    assert routes.allowed_methods("/jobs/a/b") == ()
    assert not routes.is_public("GET", "/jobs/abc")
    assert routes.is_public("GET", "/") and not routes.is_public("GET", "/x")

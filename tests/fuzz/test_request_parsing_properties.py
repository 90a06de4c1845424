"""Property tests of the request parser: any body becomes a request or a precise 400."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.strategies import FUZZ_SETTINGS, field_values, json_values, selfie_fields
from tryon_api.http.request_parsing import MAX_DESCRIPTION_CHARS, decode_base64_image, parse_generate_request, raw_body
from tryon_api.tryon.errors import BadRequest
from tryon_api.tryon.interface import TryOnRequest

FAST = FUZZ_SETTINGS
FIELDS = ("selfie_base64", "clothing_description", "mode", "clothing_image_url")


def assert_safe_message(error: BadRequest, sent: str | bytes) -> None:
    message = error.message
    assert error.status == 400
    assert 0 < len(message) <= 120
    assert message[0].islower()
    assert "Traceback" not in message and ".py" not in message
    # Nothing of what was sent is echoed back (beyond the field names).
    text = sent.decode("utf-8", "replace") if isinstance(sent, bytes) else sent
    for chunk in (text[i : i + 40] for i in range(0, min(len(text), 4000), 40)):
        if len(chunk) == 40:
            assert chunk not in message


def parse_or_refuse(body: str | bytes) -> TryOnRequest | None:
    try:
        return parse_generate_request(body)
    except BadRequest as error:
        assert_safe_message(error, body)
        return None


@FAST
@given(st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), field_values | selfie_fields, max_size=6))
def test_any_json_object_is_parsed_or_refused_with_400(payload: dict[str, Any]) -> None:
    body = json.dumps(payload)
    request = parse_or_refuse(body)
    if request is not None:
        assert request.mode in ("studio", "environment")
        assert 0 < len(request.clothing_description) <= MAX_DESCRIPTION_CHARS
        assert request.selfie_bytes


@FAST
@given(json_values)
def test_any_json_value_is_parsed_or_refused_with_400(value: Any) -> None:
    parse_or_refuse(json.dumps(value))


@FAST
@given(st.binary(max_size=4096))
def test_any_bytes_are_refused_with_400(body: bytes) -> None:
    assert parse_or_refuse(body) is None or body.strip().startswith(b"{")


@FAST
@given(st.binary(max_size=4096))
def test_base64_encoded_bodies_never_fail_on_undecodable_bytes(body: bytes) -> None:
    encoded = base64.b64encode(body).decode("ascii")
    decoded = raw_body(encoded, True)
    assert (decoded or b"") == body
    parse_or_refuse(decoded or b"")


@FAST
@given(st.text(max_size=200))
def test_bad_base64_event_bodies_are_a_400(text: str) -> None:
    try:
        raw_body(text, True)
    except BadRequest as error:
        assert error.message == "request body is not valid JSON"


@FAST
@given(st.binary(min_size=1, max_size=4096), st.sampled_from(["std", "url", "data", "wrapped"]))
def test_any_bytes_round_trip_through_every_accepted_base64_form(data: bytes, form: str) -> None:
    text = base64.b64encode(data).decode("ascii")
    if form == "url":
        text = base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")
    elif form == "data":
        text = "data:image/jpeg;base64," + text
    elif form == "wrapped":
        text = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    assert decode_base64_image(text, "selfie_base64") == data


@FAST
@given(st.text(max_size=300))
def test_any_text_as_base64_decodes_or_is_refused(text: str) -> None:
    try:
        assert decode_base64_image(text, "selfie_base64")
    except BadRequest as error:
        assert_safe_message(error, text)

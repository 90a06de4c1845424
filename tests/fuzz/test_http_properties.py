"""Property tests of the whole handler: any request gets a documented status and a clean body.

Events go through ``handle_event`` exactly as a function URL delivers them, with header names in
any case. The property: every response is JSON of the documented shape with a status the OpenAPI
document lists for that operation, never a 5xx (no fault is injected here), and neither the body
nor any log line carries a traceback, an internal path, the key, image data or a query string.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.fuzz.log_capture import assert_nothing_leaks, captured_logs, log_records
from tests.fuzz.strategies import (
    FUZZ_SETTINGS,
    VALID_SELFIE_B64,
    any_case,
    any_text,
    field_values,
    selfie_fields,
    valid_selfie_fields,
)
from tryon_api.entrypoints.function_url import handle_event
from tryon_api.http.openapi import openapi_document
from tryon_api.http.request_parsing import MAX_DESCRIPTION_CHARS
from tryon_api.moderation.phrasing import LocalPhrasingChecker
from tryon_dev.events import function_url_event
from tryon_dev.lambda_context import new_context

API_KEY = "prop-key-7d1e0c9b2a5f4e38"
SECRET_QUERY = "X-Amz-Signature=0123456789abcdef"
DOCUMENTED = {
    path: {int(status) for operation in methods.values() for status in operation["responses"]}
    for path, methods in openapi_document()["paths"].items()
}

descriptions = st.sampled_from(["Black leather jacket", "  red hoodie  ", "x" * MAX_DESCRIPTION_CHARS]) | field_values
modes = st.sampled_from(["studio", "environment"]) | field_values
urls = (
    st.sampled_from(
        [None, "", f"https://garment.invalid/jacket.jpg?{SECRET_QUERY}", "ftp://example.com/x", "http://[::1"]
    )
    | field_values
)
keys = st.just(API_KEY) | st.sampled_from([API_KEY.upper(), "", "wrong", None]) | st.text(max_size=600)


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYON_API_KEYS", API_KEY)


@st.composite
def payloads(draw: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for name, strategy in (
        ("selfie_base64", selfie_fields),
        ("clothing_description", descriptions),
        ("mode", modes),
        ("clothing_image_url", urls),
    ):
        if draw(st.integers(0, 9)) > 0:  # each field is sometimes missing
            payload[name] = draw(strategy)
    return payload


def expect_success(payload: dict[str, Any], key: str | None) -> bool:
    description = payload.get("clothing_description")
    return (
        key == API_KEY
        and payload.get("selfie_base64") == VALID_SELFIE_B64
        and isinstance(description, str)
        and 0 < len(description.strip()) <= MAX_DESCRIPTION_CHARS
        and payload.get("mode") in ("studio", "environment")
        and payload.get("clothing_image_url") in (None, "")
    )


def send(method: str, path: str, headers: dict[str, str], body: bytes, seed: int) -> tuple[dict[str, Any], str]:
    rnd = random.Random(seed)
    event = function_url_event(method, path, {}, body)
    event["headers"] = {any_case(name, rnd): value for name, value in headers.items()}
    with captured_logs() as buffer:
        response = handle_event(event, new_context(60))
    records = log_records(buffer)
    request_id = response["headers"]["X-Request-Id"]
    assert records, "every request is logged"
    for record in records:
        assert record["correlation_id"] == request_id
    return response, buffer.getvalue()


def check_response(response: dict[str, Any], logs: str, path: str) -> dict[str, Any]:
    status = response["statusCode"]
    event(f"status {status}")
    assert status in DOCUMENTED.get(path, {404}), f"undocumented status {status}"
    assert status < 500
    page = status == 200 and path == "/"
    assert response["headers"]["Content-Type"] == ("text/html; charset=utf-8" if page else "application/json")
    if page:
        assert response["body"].lstrip().lower().startswith("<!doctype html")
        return {}
    body = json.loads(response["body"])
    if status == 200 and path == "/generate_image":
        assert set(body) == {"image_base64", "mime_type"}
        assert body["mime_type"] == "image/jpeg"
    elif status != 200:
        assert set(body) == {"error"} and isinstance(body["error"], str)
        assert_nothing_leaks(response["body"], (API_KEY,))
    if status in (429, 503):
        assert int(response["headers"]["Retry-After"]) >= 0
    assert_nothing_leaks(logs, (API_KEY, SECRET_QUERY))
    return body


@FUZZ_SETTINGS
@given(payloads(), keys, st.integers(0, 2**32))
def test_any_generate_request_gets_a_documented_answer(payload: dict[str, Any], key: str | None, seed: int) -> None:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["x-api-key"] = key
    response, logs = send("POST", "/generate_image", headers, json.dumps(payload).encode(), seed)
    check_response(response, logs, "/generate_image")
    if expect_success(payload, key):
        assert response["statusCode"] == 200
    if key != API_KEY:
        assert response["statusCode"] == 401


@FUZZ_SETTINGS
@given(
    st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "HEAD", "TRACE", "FOO", "POST"]),
    st.sampled_from(["/generate_image", "/openapi.json", "/", "/generate_image/", "/../etc/passwd", "/%00"]),
    st.binary(max_size=512),
    st.sampled_from(["application/json", "application/octet-stream", "text/plain", ""]),
    st.integers(0, 2**32),
)
def test_any_method_path_and_body_gets_a_documented_answer(
    method: str, path: str, body: bytes, content_type: str, seed: int
) -> None:
    headers = {"x-api-key": API_KEY, "content-type": content_type}
    response, logs = send(method, path, headers, body, seed)
    check_response(response, logs, path)


@pytest.mark.timeout(600)  # many full generations: longer than the default
@FUZZ_SETTINGS
@given(
    valid_selfie_fields,
    (st.text(min_size=1, max_size=MAX_DESCRIPTION_CHARS) | st.text(min_size=1, max_size=60) | any_text).filter(
        lambda text: text.strip()
    ),
    st.sampled_from(["studio", "environment"]),
    st.sampled_from([{}, {"clothing_image_url": None}, {"clothing_image_url": ""}, {"extra": [1, 2]}]),
    st.integers(0, 2**32),
)
def test_any_valid_request_succeeds(selfie: str, description: str, mode: str, extra: dict[str, Any], seed: int) -> None:
    payload = {"selfie_base64": selfie, "clothing_description": description, "mode": mode, **extra}
    headers = {"x-api-key": API_KEY, "content-type": "application/json"}
    response, logs = send("POST", "/generate_image", headers, json.dumps(payload).encode(), seed)
    body = check_response(response, logs, "/generate_image")
    received = json.loads(json.dumps(description))  # JSON joins a high and a low surrogate into one
    if any("\ud800" <= ch <= "\udfff" for ch in received):  # lone ones: JSON can carry them, text cannot
        assert body == {"error": "clothing_description contains invalid characters"}
    elif not LocalPhrasingChecker().check_text(received.strip(), "permissive").allowed:
        # Random text can spell a refused word (a look-alike letter, a spaced one): moderation's 422.
        assert (response["statusCode"], body) == (422, {"error": "the model's content filter refused this request"})
    else:
        assert response["statusCode"] == 200, body

"""The body limit keeps every accepted request inside an event Lambda accepts.

The function URL sends the whole request as one event; Lambda refuses an event over its
synchronous payload limit before the function runs, with its own answer. The largest body the
handler accepts, as JSON and as a binary (base64) body, is built into the event a function URL
would send, with request line and headers as large as the local server lets through and the
function URL's own headers, and serialised: it must fit under the documented limit.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest

from tests.fakes import ScriptedBackend
from tests.unit.test_app import KEY, install
from tryon_api.entrypoints.function_url import handle_event
from tryon_api.http.body_limit import binary_body_limit, event_body_bytes
from tryon_api.settings import LAMBDA_INVOCATION_PAYLOAD_BYTES, MAX_EVENT_BODY_BYTES, Settings
from tryon_dev.events import function_url_event
from tryon_dev.lambda_context import new_context
from tryon_dev.server import MAX_REQUEST_HEADER_BYTES

# What the function URL adds to every request (as in AWS's documented example event).
FUNCTION_URL_HEADERS = {
    "host": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
    "x-amzn-tls-version": "TLSv1.3",
    "x-amzn-tls-cipher-suite": "TLS_AES_128_GCM_SHA256",
    "x-amzn-trace-id": "Root=1-62ecd163-5f302e550dcde3b12402207d",
    "x-forwarded-proto": "https",
    "x-forwarded-port": "443",
    "x-forwarded-for": "2001:db8:85a3:8d3:1319:8a2e:370:7348",
}


def headers_filling_the_header_limit(path: str, content_type: str, body_length: int) -> dict[str, str]:
    """Client headers that, with the request line, use the whole header allowance; every value is
    made of ``"`` and ``\\``, the characters JSON escaping doubles."""
    headers = {"Content-Type": content_type, "Content-Length": str(body_length), "X-API-Key": KEY}
    used = len(f"POST {path} HTTP/1.1\r\n") + sum(len(f"{k}: {v}\r\n") for k, v in headers.items()) + 2
    index = 0
    while used < MAX_REQUEST_HEADER_BYTES - 64:
        name = f"X-Filler-{index}"
        value_length = min(1000, MAX_REQUEST_HEADER_BYTES - 64 - used - len(name) - 4)
        if value_length <= 0:
            break
        headers[name] = ('"\\' * value_length)[:value_length]
        used += len(name) + 4 + value_length
        index += 1
    return headers


def largest_json_body(limit: int) -> bytes:
    """An API request (a base64 selfie in JSON) of exactly ``limit`` bytes."""
    skeleton = {"selfie_base64": "", "clothing_description": "red hoodie", "mode": "studio"}
    room = limit - len(json.dumps(skeleton).encode())
    selfie = base64.b64encode(os.urandom(room))[:room].decode()
    body = json.dumps({**skeleton, "selfie_base64": selfie}).encode()
    assert len(body) == limit
    return body


def serialised_size(event: dict[str, Any]) -> int:
    # ensure_ascii and the spaced separators: the larger of the ways to write the same JSON.
    return len(json.dumps(event).encode("utf-8"))


def event_for(body: bytes, content_type: str, path: str) -> dict[str, Any]:
    headers = {**FUNCTION_URL_HEADERS, **headers_filling_the_header_limit(path, content_type, len(body))}
    return function_url_event("POST", path, headers, body, "2001:db8:85a3:8d3:1319:8a2e:370:7348")


LONG_QUERY_PATH = "/generate_image?" + "&".join(f"q{i}=%22%5C%22%5C" for i in range(400))


@pytest.mark.parametrize("path", ["/generate_image", LONG_QUERY_PATH])
@pytest.mark.parametrize("content_type", ["application/json", "application/octet-stream"])
def test_the_largest_accepted_body_makes_an_event_lambda_accepts(path: str, content_type: str) -> None:
    limit = Settings().max_body_bytes
    assert limit == MAX_EVENT_BODY_BYTES
    body = largest_json_body(limit) if content_type == "application/json" else os.urandom(binary_body_limit(limit))
    event = event_for(body, content_type, path)
    assert event["isBase64Encoded"] is (content_type != "application/json")
    size = serialised_size(event)
    assert size <= LAMBDA_INVOCATION_PAYLOAD_BYTES, (size, LAMBDA_INVOCATION_PAYLOAD_BYTES)
    # The handler takes it (it is not a usable request, so parsing answers 400, not the limit's 413).
    install(ScriptedBackend())
    response = handle_event(event, new_context(30))
    assert response["statusCode"] == 400, response["body"]


@pytest.mark.parametrize("content_type", ["application/json", "application/octet-stream"])
def test_one_byte_more_is_413_with_the_limit_in_the_message(content_type: str) -> None:
    limit = Settings().max_body_bytes
    if content_type == "application/json":
        body = largest_json_body(limit) + b" "
    else:
        body = os.urandom(binary_body_limit(limit) + 1)
    install(ScriptedBackend())
    response = handle_event(event_for(body, content_type, "/generate_image"), new_context(30))
    assert response["statusCode"] == 413
    assert json.loads(response["body"]) == {
        "error": f"request body is too large: at most {limit} bytes with a JSON or text content type,"
        f" {binary_body_limit(limit)} bytes otherwise"
    }
    assert response["headers"]["X-Request-Id"]


def test_the_limit_cannot_be_set_above_what_fits_in_an_event() -> None:
    from tryon_api.settings import SettingsError

    with pytest.raises(SettingsError, match="TRYON_MAX_BODY_BYTES"):
        Settings.from_env({"TRYON_MAX_BODY_BYTES": str(MAX_EVENT_BODY_BYTES + 1)})


def test_a_text_body_is_counted_in_utf8_bytes_as_lambda_counts_the_event() -> None:
    ascii_body = json.dumps({"clothing_description": "red hoodie"})
    accented = json.dumps({"clothing_description": "rouge éclatant ✓"}, ensure_ascii=False)
    assert event_body_bytes({"body": ascii_body}) == len(ascii_body)
    assert event_body_bytes({"body": accented}) == len(accented.encode("utf-8")) > len(accented)
    assert event_body_bytes({"body": None}) == event_body_bytes({}) == 0

"""The logs of a full run carry the request id on every line and nothing that must not leak.

One run covers successes, every refusal, model faults (Bedrock backend against the loopback
emulator), an unexpected exception whose message holds a secret and a path, and garment URLs
whose query strings hold signatures. The JSON lines Powertools writes are captured where they
are written and checked: no API key, no secret, no base64 image data, no garment query string,
no traceback, and a correlation_id equal to the response's X-Request-Id on every line.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fuzz.log_capture import assert_nothing_leaks, captured_logs, log_records
from tests.fuzz.strategies import SMALL_JPEG, small_photo
from tests.loopback import file_host
from tryon_api.entrypoints import wiring
from tryon_api.entrypoints.wiring import build_services, get_services, set_services
from tryon_api.http.log_redaction import RedactingFilter, redact
from tryon_api.settings import DEFAULT_REMOVE_BACKGROUND_MODEL_ID, DEFAULT_SEARCH_REPLACE_MODEL_ID, Settings
from tryon_dev.aws_emulator import AwsModelEmulator
from tryon_dev.events import function_url_event
from tryon_dev.invoke import invoke

API_KEY = "hygiene-key-9f3c1a7e2b6d4085"
SECRET_TEXT = "s3cr3t-db-password-41f0"
SIGNATURE = "X-Amz-Signature=9a8b7c6d5e4f3a2b1c0d"
SELFIE = base64.b64encode(small_photo(size=(480, 600))).decode("ascii")


@pytest.fixture
def garment_server() -> Iterator[str]:
    """Serves bytes that are not an image, so a fetched garment is refused (422)."""
    with file_host() as host:
        host.publish(f"/jacket.jpg?{SIGNATURE}", b"<html>not an image</html>", "text/html")
        yield host.base_url


def request(method: str, path: str, body: Any = None, key: str | None = API_KEY) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["x-api-key"] = key
    raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
    return invoke(function_url_event(method, path, headers, raw))


def generate(**fields: Any) -> dict[str, Any]:
    return request("POST", "/generate_image", {"clothing_description": "Navy wool coat", "mode": "studio", **fields})


def run_embedded(garment_url: str, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    monkeypatch.setenv("TRYON_API_KEYS", API_KEY)
    monkeypatch.setenv("TRYON_ALLOW_PRIVATE_GARMENT_URLS", "true")
    wiring.reset()
    responses = [
        generate(selfie_base64=SELFIE),
        generate(selfie_base64="data:image/jpeg;base64," + SELFIE, mode="environment"),
        request("POST", "/generate_image", {}, key=None),
        request("POST", "/generate_image", {"selfie_base64": SELFIE}, key="wrong-" + API_KEY),
        generate(),
        generate(selfie_base64=SELFIE[:5000]),  # truncated image
        generate(selfie_base64="!!" + SELFIE[:3000]),  # bad base64
        generate(selfie_base64=SELFIE, clothing_image_url=f"{garment_url}/jacket.jpg?{SIGNATURE}"),
        generate(selfie_base64=SELFIE, clothing_image_url=f"https://garment.invalid/x.jpg?{SIGNATURE}"),
        generate(selfie_base64=SELFIE, clothing_image_url=f"ftp://example.com/x.jpg?{SIGNATURE}"),
        request("POST", "/generate_image", b"\xff\xfe" + SELFIE.encode()[:4000]),
        request("GET", "/generate_image"),
        request("GET", "/nowhere?token=" + SECRET_TEXT),
        request("POST", "/generate_image", b"x" * (7 * 1024 * 1024)),
        request("GET", "/openapi.json", key=None),
    ]
    # An unexpected failure whose message holds a secret and a path: a generic 500.
    backend = get_services().tryon.backend

    def explode(*_: Any) -> Any:
        raise RuntimeError(f"cannot open /var/task/tryon_api/secret.py with {SECRET_TEXT} and {API_KEY}")

    monkeypatch.setattr(backend, "generate", explode)
    responses.append(generate(selfie_base64=SELFIE))
    return responses


def run_bedrock_faults(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    responses = []
    with AwsModelEmulator() as emulator:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
        settings = Settings(
            backend="bedrock", local_api_keys=(API_KEY,), model_region="us-east-1", model_max_attempts=1
        )
        set_services(build_services(settings))
        responses.append(generate(selfie_base64=SELFIE))
        for target, kind in (
            (DEFAULT_REMOVE_BACKGROUND_MODEL_ID, "throttling"),
            (DEFAULT_SEARCH_REPLACE_MODEL_ID, "filtered"),
            (DEFAULT_SEARCH_REPLACE_MODEL_ID, "internal"),
            (DEFAULT_REMOVE_BACKGROUND_MODEL_ID, "access_denied"),
        ):
            emulator.inject(target, kind, times=None)
            responses.append(generate(selfie_base64=SELFIE))
            emulator.reset()
    return responses


def test_logs_of_a_full_run_carry_the_request_id_and_nothing_secret(
    garment_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with captured_logs() as buffer:
        responses = run_embedded(garment_server, monkeypatch) + run_bedrock_faults(monkeypatch)
    statuses = [r["statusCode"] for r in responses]
    embedded = [200, 200, 401, 401, 400, 400, 400, 422, 422, 400, 400, 405, 404, 413, 200, 500]
    assert statuses == [*embedded, 200, 429, 422, 502, 502]
    records = log_records(buffer)
    request_ids = {r["headers"]["X-Request-Id"] for r in responses}
    assert len(request_ids) == len(responses)
    for record in records:
        assert record.get("correlation_id") in request_ids, record
    assert {r["correlation_id"] for r in records if r["message"] == "answered"} == request_ids
    text = buffer.getvalue()
    assert_nothing_leaks(
        text, (API_KEY, SECRET_TEXT, SIGNATURE, SELFIE[:40], base64.b64encode(SMALL_JPEG)[:40].decode())
    )
    unexpected = [r for r in records if r["message"] == "unexpected error"]
    assert unexpected and unexpected[0]["error_type"] == "RuntimeError"
    for response in responses:  # and nothing in the bodies either
        if response["statusCode"] != 200 or "image_base64" not in response["body"]:
            assert_nothing_leaks(response["body"], (API_KEY, SECRET_TEXT, SIGNATURE))


def test_redaction_scrubs_query_strings_and_base64_runs_from_any_log_record() -> None:
    assert (
        redact(f"fetching https://cdn.example.com/a.jpg?{SIGNATURE}#x")
        == "fetching https://cdn.example.com/a.jpg?[redacted]"
    )
    assert redact("data " + SELFIE[:500]) == "data [redacted 500 chars]"
    assert (
        redact("request 1f0c2b7e-5a4d-4e3f-9c8b-7a6d5e4f3a2b ok") == "request 1f0c2b7e-5a4d-4e3f-9c8b-7a6d5e4f3a2b ok"
    )
    record = logging.LogRecord("tryon", logging.INFO, __file__, 1, "got %s", (SELFIE[:300],), None)
    record.garment_url = f"https://x.example/y.png?{SIGNATURE}"
    record.nested = {"urls": [f"http://h/p?{SIGNATURE}"]}
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "got [redacted 300 chars]"
    assert record.garment_url == "https://x.example/y.png?[redacted]"
    assert record.nested == {"urls": ["http://h/p?[redacted]"]}

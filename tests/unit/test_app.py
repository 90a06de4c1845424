"""The Lambda handler over function-URL events: routing, auth first, error mapping, headers."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from PIL import Image

from tests.fakes import ScriptedBackend, no_jobs, solid_jpeg
from tests.handler_calls import call_handler
from tests.photos import b64
from tryon_api.entrypoints.function_url import handle_event
from tryon_api.entrypoints.wiring import set_services
from tryon_api.http.auth import ApiKeyVerifier, static_key_loader
from tryon_api.http.body_limit import body_too_large
from tryon_api.http.dependencies import Services
from tryon_api.settings import Settings
from tryon_api.tryon.errors import (
    ContentFiltered,
    DependencyUnavailable,
    RateLimited,
    UpstreamFailed,
    UpstreamTimeout,
)
from tryon_api.tryon.garment_fetch import GarmentImageFetcher
from tryon_api.tryon.pipeline import TryOnService
from tryon_dev.events import function_url_event
from tryon_dev.lambda_context import new_context

KEY = "unit-test-key"


def install(backend: ScriptedBackend, **settings: Any) -> ScriptedBackend:
    config = Settings(local_api_keys=(KEY,), **settings)
    fetcher = GarmentImageFetcher(allow_private=False, timeout_seconds=1, max_bytes=1024)
    set_services(
        Services(
            settings=config,
            verifier=ApiKeyVerifier(static_key_loader(config.local_api_keys)),
            tryon=TryOnService(backend, fetcher, config.max_response_bytes),
            jobs=no_jobs,
        )
    )
    return backend


def call(
    body: Any = None,
    *,
    key: str | None = KEY,
    method: str = "POST",
    path: str = "/generate_image",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    return call_handler(method, path, body, key=key, headers=headers)


def good_body(**extra: Any) -> dict[str, Any]:
    return {"selfie_base64": b64(solid_jpeg()), "clothing_description": "red hoodie", "mode": "studio", **extra}


def test_success_returns_a_jpeg_and_a_request_id() -> None:
    backend = install(ScriptedBackend())
    status, headers, payload = call(good_body())
    assert status == 200
    assert payload["mime_type"] == "image/jpeg"
    image = Image.open(io.BytesIO(base64.b64decode(payload["image_base64"])))
    assert image.format == "JPEG" and image.size == (400, 500)
    assert headers["X-Request-Id"]
    assert headers["Content-Type"] == "application/json"
    assert backend.jobs[0].clothing_description == "red hoodie"


def test_same_request_gets_the_same_seed() -> None:
    backend = install(ScriptedBackend())
    call(good_body())
    call(good_body())
    call(good_body(mode="environment"))
    assert backend.jobs[0].seed == backend.jobs[1].seed != backend.jobs[2].seed


@pytest.mark.parametrize("body", [None, b"{bad", {"mode": "x"}, good_body()])
def test_auth_comes_first_whatever_the_body(body: Any) -> None:
    backend = install(ScriptedBackend())
    status, _, payload = call(body, key=None)
    assert (status, payload) == (401, {"error": "missing or invalid api key"})
    status, _, _ = call(body, key="wrong")
    assert status == 401
    assert backend.jobs == []


def test_unknown_path_without_key_is_401_not_404() -> None:
    install(ScriptedBackend())
    assert call({}, key=None, path="/admin")[0] == 401


def test_header_names_in_any_case() -> None:
    install(ScriptedBackend())
    event = function_url_event(
        "POST", "/generate_image", {"CONTENT-TYPE": "application/json"}, json.dumps(good_body()).encode()
    )
    event["headers"]["X-API-KEY"] = KEY
    assert handle_event(event, new_context(30))["statusCode"] == 200


def test_base64_encoded_event_body() -> None:
    install(ScriptedBackend())
    raw = json.dumps(good_body()).encode()
    event = function_url_event("POST", "/generate_image", {"x-api-key": KEY}, raw)
    event.update(body=base64.b64encode(raw).decode(), isBase64Encoded=True)
    assert handle_event(event, new_context(30))["statusCode"] == 200


def test_unknown_path_is_404_and_wrong_method_405() -> None:
    install(ScriptedBackend())
    assert (*call({}, path="/nope")[:1], call({}, path="/nope")[2]) == (404, {"error": "not found"})
    status, headers, payload = call(None, method="GET")
    assert (status, payload, headers["Allow"]) == (405, {"error": "method not allowed"}, "POST")
    assert call(None, method="DELETE")[0] == 405


def test_a_preflight_reaching_the_function_gets_an_empty_204_without_a_key() -> None:
    """Deployed, the function URL answers preflights itself; a direct OPTIONS (sam local invoke)
    gets an empty 204 and no CORS headers of the function's own."""
    install(ScriptedBackend())
    status, headers, _ = call(
        None,
        key=None,
        method="OPTIONS",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    assert status == 204
    assert not [name for name in headers if name.lower().startswith("access-control-")]


@pytest.mark.parametrize("key", [None, KEY])
def test_the_function_never_sets_cors_headers_the_url_would_duplicate(key: str | None) -> None:
    """The function URL adds its Cors config's headers to every answer; the same headers from
    the function as well reach the browser twice ('*, *'), and browsers refuse that."""
    install(ScriptedBackend())
    for body, path in ((good_body(), "/generate_image"), (None, "/nope"), ({}, "/generate_image")):
        _, headers, _ = call(body, key=key, path=path, headers={"Origin": "https://shop.example"})
        assert not [name for name in headers if name.lower().startswith("access-control-")], headers


def test_body_over_the_limit_is_413() -> None:
    install(ScriptedBackend(), max_body_bytes=10_000)
    status, _, payload = call(good_body(pad="x" * 20_000))
    assert (status, payload) == (413, {"error": body_too_large(10_000).message})
    assert "at most 10000 bytes" in payload["error"]


def test_undecodable_image_is_400() -> None:
    install(ScriptedBackend())
    status, _, payload = call(good_body(selfie_base64=b64(b"definitely not an image")))
    assert status == 400
    assert payload["error"].startswith("selfie_base64 is not an image we can read")


@pytest.mark.parametrize(
    ("error", "status", "retry_after"),
    [
        (ContentFiltered(), 422, None),
        (RateLimited(retry_after=7), 429, "7"),
        (UpstreamFailed(), 502, None),
        (DependencyUnavailable("the image model is unavailable, retry later"), 503, "5"),
        (UpstreamTimeout(), 504, None),
    ],
)
def test_backend_errors_map_to_their_status(error: Exception, status: int, retry_after: str | None) -> None:
    install(ScriptedBackend(error))
    got, headers, payload = call(good_body())
    assert got == status
    assert payload == {"error": error.args[0]}
    assert headers.get("Retry-After") == retry_after


def test_unexpected_error_is_a_generic_500_with_request_id(json_logs: io.StringIO) -> None:
    install(ScriptedBackend(RuntimeError("/var/task/secret/path leaked detail")))
    status, headers, payload = call(good_body())
    assert (status, payload) == (500, {"error": "internal error"})
    logs = json_logs.getvalue()
    assert headers["X-Request-Id"] in logs
    assert "leaked detail" not in logs and "Traceback" not in logs
    assert '"error_type":"RuntimeError"' in logs


def test_event_that_is_not_a_mapping_gets_a_json_answer() -> None:
    install(ScriptedBackend())
    response = handle_event([], new_context(30))  # type: ignore[arg-type]
    assert response["statusCode"] == 401
    assert json.loads(response["body"]) == {"error": "missing or invalid api key"}


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "wrong", "x-api-key": KEY},
        {"x-api-key": KEY, "X-API-KEY": KEY},
        {"x-api-key": f"wrong,{KEY}"},
        {"x-api-key": f"{KEY}\x0b"},
    ],
)
def test_repeated_or_padded_key_headers_are_401(headers: dict[str, str]) -> None:
    install(ScriptedBackend())
    status, _, body = call({"selfie_base64": b64(solid_jpeg())}, key=None, headers=headers)
    assert (status, body) == (401, {"error": "missing or invalid api key"})


def test_a_key_padded_with_spaces_and_tabs_is_accepted() -> None:
    install(ScriptedBackend())
    status, _, body = call({}, key=f" \t{KEY}\t ")
    assert (status, body) == (400, {"error": "selfie_base64 is required"})

"""The committed OpenAPI document is the one the code generates, and it documents the contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tryon_api.http.openapi import openapi_document, openapi_json
from tryon_dev.events import function_url_event
from tryon_dev.invoke import decode_event_body, invoke

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
ERROR_STATUSES = ("400", "401", "404", "405", "413", "422", "429", "500", "502", "503", "504")


def test_committed_document_matches_the_code() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == openapi_json(), "run `make openapi` and commit docs/openapi.json"


def test_generate_image_documents_every_status_with_the_error_shape() -> None:
    document = openapi_document()
    operation = document["paths"]["/generate_image"]["post"]
    responses = operation["responses"]
    assert list(responses) == ["200", *ERROR_STATUSES]
    for status in ERROR_STATUSES:
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, status
        assert "X-Request-Id" in responses[status]["headers"]
    for status in ("429", "503"):
        assert "Retry-After" in responses[status]["headers"]
    assert document["components"]["schemas"]["ErrorResponse"]["required"] == ["error"]
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/GenerateImageResponse")


def test_request_body_and_api_key_are_documented() -> None:
    document = openapi_document()
    operation = document["paths"]["/generate_image"]["post"]
    body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request = document["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert request["required"] == ["selfie_base64", "clothing_description", "mode"]
    assert request["properties"]["mode"]["enum"] == ["studio", "environment"]
    assert request["properties"]["clothing_description"]["maxLength"] == 1000
    # An API key, or a browser token (either one): OpenAPI's list of alternatives.
    assert operation["security"] == [{"apiKey": []}, {"clientToken": []}]
    assert document["paths"]["/usage"]["get"]["security"] == [{"apiKey": []}]
    assert document["paths"]["/client_tokens"]["post"]["security"] == [{"apiKey": []}]
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"] == {
        "type": "apiKey",
        "description": "The API key (the header name is case-insensitive). Keep it on your servers.",
        "in": "header",
        "name": "X-API-Key",
    }
    assert schemes["clientToken"]["type"] == "http" and schemes["clientToken"]["scheme"] == "bearer"
    assert "security" not in document["paths"]["/openapi.json"]["get"]
    assert not {"HTTPValidationError", "ValidationError"} & set(document["components"]["schemas"])


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TRYON_API_KEYS", "doc-test-key")
    return "doc-test-key"


def test_document_is_served_without_a_key(api_key: str) -> None:
    response = invoke(function_url_event("GET", "/openapi.json", {}, b""))
    assert response["statusCode"] == 200
    served = json.loads(decode_event_body(response))
    # The generated document, plus the answering backend's usual wait (the playground reads it).
    assert served["info"].pop("x-tryon-wait") == {"preview": True, "seconds": [1, 5]}
    assert served == openapi_document()


@pytest.mark.parametrize("backend", ["bedrock", "sagemaker"])
def test_the_wait_hint_is_the_answering_backends_and_names_nothing_internal(
    api_key: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRYON_BACKEND", backend)
    monkeypatch.setenv("TRYON_SAGEMAKER_ENDPOINT_NAME", "tryon-internal-endpoint")
    response = invoke(function_url_event("GET", "/openapi.json", {}, b""))
    hint = json.loads(decode_event_body(response))["info"]["x-tryon-wait"]
    assert hint == {"preview": False, "seconds": [10, 30]}
    assert not any(word in json.dumps(hint) for word in (backend, "internal", "stability", "nova", "qwen"))


def test_document_path_refuses_other_methods(api_key: str) -> None:
    response = invoke(function_url_event("POST", "/openapi.json", {"x-api-key": api_key}, b""))
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "GET"

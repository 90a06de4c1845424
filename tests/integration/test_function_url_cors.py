"""The local server plays the function URL's CORS from template.yaml, and only it sets CORS.

The rules are read from the template's ``FunctionUrlConfig.Cors`` (the one place they live);
these tests speak raw HTTP to the dev server so a header sent twice would show as two headers.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

from tests.cfn_template import load_template, resolve
from tests.live_server import live_server
from tests.photos import b64, selfie_jpeg
from tryon_dev.function_url_cors import CorsRules, cors_rules_from_template, function_url_cors

pytestmark = pytest.mark.integration
API_KEY = "cors-key"
SHOP = "https://shop.example"


def template_cors(**parameters: str) -> dict[str, list[str]]:
    """The Cors block as CloudFormation resolves it (lists of strings)."""
    template = load_template()
    cors = template["Resources"]["TryOnFunction"]["Properties"]["FunctionUrlConfig"]["Cors"]
    resolved = {}
    for name, value in cors.items():
        value = resolve(value, template, parameters)
        resolved[name] = value.split(",") if isinstance(value, str) and name == "AllowOrigins" else value
    return resolved


def test_the_rules_are_the_templates_function_url_cors() -> None:
    cors = template_cors()
    rules = cors_rules_from_template()
    assert list(rules.allow_origins) == cors["AllowOrigins"] == ["*"]
    assert list(rules.allow_methods) == cors["AllowMethods"]
    assert set(rules.allow_headers) == {h.lower() for h in cors["AllowHeaders"]}
    assert {"content-type", "x-api-key", "idempotency-key", "authorization"} == set(rules.allow_headers)
    assert {"x-request-id", "retry-after", "location"} <= set(rules.expose_headers)
    assert rules.max_age == cors["MaxAge"]
    restricted = cors_rules_from_template(overrides={"AllowedOrigins": f"{SHOP},https://www.example.com"})
    assert restricted.allow_origins == (SHOP, "https://www.example.com")
    assert (
        list(restricted.allow_origins)
        == template_cors(AllowedOrigins=f"{SHOP},https://www.example.com")["AllowOrigins"]
    )


@pytest.mark.parametrize(
    ("origin", "method", "headers", "allowed"),
    [
        (SHOP, "POST", "content-type,x-api-key", True),
        (SHOP, "POST", "X-API-Key, Content-Type", True),  # names are case-insensitive
        ("https://evil.example", "POST", "content-type,x-api-key", False),  # not in AllowedOrigins
        (SHOP, "DELETE", "x-api-key", True),  # DELETE /jobs/{job_id}
        (SHOP, "POST", "content-type,x-api-key,idempotency-key", True),  # POST /jobs, retried safely
        (SHOP, "PUT", "content-type", False),  # not in AllowMethods
        (SHOP, "POST", "content-type,x-other", False),  # not in AllowHeaders
    ],
)
def test_preflights_follow_the_rules(origin: str, method: str, headers: str, allowed: bool) -> None:
    rules = cors_rules_from_template(overrides={"AllowedOrigins": SHOP})
    answer = function_url_cors(
        rules,
        "OPTIONS",
        {"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
    )
    assert answer.preflight is not None  # the URL answers it: the function is not called
    _, preflight_headers = answer.preflight
    assert (preflight_headers.get("Access-Control-Allow-Origin") == origin) is allowed
    if not allowed:
        assert not [name for name in preflight_headers if name.lower().startswith("access-control-")]


@contextmanager
def dev_server(rules: CorsRules | None = None) -> Iterator[str]:
    with live_server(API_KEY, env={"TRYON_BACKEND": "embedded"}, cors_rules=rules) as running:
        yield running.url


def raw_request(
    url: str, method: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, list[tuple[str, str]], bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    try:
        connection.request(method, parts.path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def named(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name.lower()]


def test_the_dev_server_answers_preflights_like_the_url_without_calling_the_function() -> None:
    with dev_server() as url:
        status, headers, body = raw_request(
            url + "/generate_image",
            "OPTIONS",
            {"Origin": SHOP, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"},
        )
    assert (status, body) == (200, b"")
    assert named(headers, "Access-Control-Allow-Origin") == ["*"]
    assert "x-api-key" in named(headers, "Access-Control-Allow-Headers")[0]
    assert named(headers, "X-Request-Id") == []  # the handler never saw it


@pytest.mark.parametrize("key", [API_KEY, "wrong-key"])
def test_answers_carry_each_cors_header_exactly_once(key: str) -> None:
    body = json.dumps({"selfie_base64": b64(selfie_jpeg()), "clothing_description": "red hoodie", "mode": "studio"})
    with dev_server() as url:
        status, headers, _ = raw_request(
            url + "/generate_image",
            "POST",
            {"Origin": SHOP, "Content-Type": "application/json", "X-API-Key": key},
            body.encode(),
        )
    assert status == (200 if key == API_KEY else 401)
    assert named(headers, "Access-Control-Allow-Origin") == ["*"]
    (exposed,) = named(headers, "Access-Control-Expose-Headers")
    assert "x-request-id" in exposed and "retry-after" in exposed


def test_a_restricted_origin_list_is_applied_to_answers_too() -> None:
    rules = cors_rules_from_template(overrides={"AllowedOrigins": SHOP})
    with dev_server(rules) as url:
        _, allowed, _ = raw_request(url + "/openapi.json", "GET", {"Origin": SHOP})
        _, other, _ = raw_request(url + "/openapi.json", "GET", {"Origin": "https://evil.example"})
    assert named(allowed, "Access-Control-Allow-Origin") == [SHOP]
    assert named(allowed, "Vary") == ["Origin"]
    assert named(other, "Access-Control-Allow-Origin") == []

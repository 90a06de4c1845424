"""A shop's page on another origin uses a browser token in Chromium, as docs/API.md shows: the
shop's server mints it with its API key (POST /client_tokens), the page sends it as
``Authorization: Bearer`` through the function URL's CORS (the template's, played by the dev
server), and the same token replayed from another origin's page is refused."""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BrowserPage, LocalServer
from tests.browser.test_cross_origin import PAGE, api_server
from tests.loopback import file_host
from tests.photos import GRACE_HOPPER
from tryon_api.keys.dependencies import local_key_store
from tryon_api.keys.service import create_key
from tryon_dev.function_url_cors import cors_rules_from_template

USE_THE_TOKEN = """async ({url, token, body}) => {
  const bearer = {"Authorization": `Bearer ${token}`};
  const result = {};
  try {
    const generated = await fetch(url + "/generate_image", {
      method: "POST", headers: {...bearer, "Content-Type": "application/json"}, body,
    });
    const answer = await generated.json();
    result.generate = {
      status: generated.status, fields: Object.keys(answer).sort(), error: answer.error ?? null,
      rateLimit: generated.headers.get("RateLimit"), policy: generated.headers.get("RateLimit-Policy"),
    };
    const submitted = await fetch(url + "/jobs", {
      method: "POST", headers: {...bearer, "Content-Type": "application/json"}, body,
    });
    result.submitted = submitted.status;
    const location = submitted.headers.get("Location");
    result.polled = location ? (await fetch(url + location, {headers: bearer})).status : null;
    const usage = await fetch(url + "/usage", {headers: bearer});
    result.usage = {status: usage.status, error: (await usage.json()).error ?? null};
  } catch (error) {
    result.refused = String(error);
  }
  return result;
}"""


def mint(api: str, key: str, origin: str) -> str:
    """What the shop's own server does (docs/API.md's example), here over HTTP from the test."""
    request = urllib.request.Request(
        f"{api}/client_tokens",
        data=json.dumps({"origin": origin, "ttl_seconds": 600, "max_images": 4}).encode(),
        headers={"Content-Type": "application/json", "X-API-Key": key},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 201
        return str(json.loads(answer.read())["token"])


def test_a_page_on_another_origin_generates_with_a_server_minted_token_and_a_replay_is_refused(
    browser_page: BrowserPage, local_server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRYON_JOBS_DATA_DIR", str(tmp_path))
    key = create_key(local_key_store(tmp_path), "shop", 10, 100).key
    selfie = base64.b64encode(GRACE_HOPPER.read_bytes()).decode()
    body = json.dumps({"selfie_base64": selfie, "clothing_description": "red hoodie", "mode": "studio"})
    with file_host() as shop, file_host() as elsewhere:
        shop_page = shop.publish("/index.html", PAGE, "text/html")
        other_page = elsewhere.publish("/index.html", PAGE, "text/html")
        # Both origins pass CORS: only the token's own Origin check tells them apart.
        rules = cors_rules_from_template(overrides={"AllowedOrigins": f"{shop.base_url},{elsewhere.base_url}"})
        with api_server(rules) as api:
            token = mint(api, key, shop.base_url)
            browser_page.page.goto(shop_page)
            used: dict[str, Any] = browser_page.page.evaluate(USE_THE_TOKEN, {"url": api, "token": token, "body": body})
            browser_page.page.goto(other_page)
            replayed: dict[str, Any] = browser_page.page.evaluate(
                USE_THE_TOKEN, {"url": api, "token": token, "body": body}
            )
    assert "refused" not in used, used
    assert used["generate"]["status"] == 200 and used["generate"]["fields"] == ["image_base64", "mime_type"]
    # The key has limits: the page can read its budget (the URL exposes the headers).
    assert '"minute";q=10;w=60' in used["generate"]["policy"] and '"month";r=' in used["generate"]["rateLimit"]
    assert (used["submitted"], used["polled"]) == (202, 200)
    assert used["usage"] == {"status": 401, "error": "missing or invalid api key"}  # not a token's route
    assert replayed["generate"]["status"] == 401 and replayed["generate"]["error"] == "missing or invalid api key"
    assert replayed["submitted"] == 401
    assert not [e for e in browser_page.errors if "CORS" in e], browser_page.errors

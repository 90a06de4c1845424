"""A web page on another site calls the API from Chromium: the function URL's CORS, as deployed.

Three loopback origins (ports): a shop page allowed by ``AllowedOrigins``, another page that is
not, and the API (the dev server, which plays the template's function URL CORS). The pages are
plain HTML from their own servers; the calls are the page's own ``fetch`` with ``X-API-Key``,
so Chromium sends the preflight and enforces the answer exactly as for a deployed URL.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.browser.conftest import BrowserPage, LocalServer
from tests.live_server import serving
from tests.loopback import file_host
from tests.photos import GRACE_HOPPER
from tryon_api.tryon.errors import Unauthorized
from tryon_dev.function_url_cors import CorsRules, cors_rules_from_template
from tryon_dev.server import make_server

PAGE = b"<!doctype html><html lang=en><head><meta charset=utf-8><title>shop</title></head><body>shop</body></html>"
CALL_THE_API = """async ({url, key, body}) => {
  try {
    const response = await fetch(url + "/generate_image", {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-API-Key": key},
      body,
    });
    const payload = await response.json();
    return {
      status: response.status,
      fields: Object.keys(payload).sort(),
      error: payload.error ?? null,
      mimeType: payload.mime_type ?? null,
      jpeg: typeof payload.image_base64 === "string" && atob(payload.image_base64.slice(0, 4)).startsWith("\\xff\\xd8"),
      requestId: response.headers.get("X-Request-Id"),
    };
  } catch (error) {
    return {refused: String(error)};
  }
}"""


@contextmanager
def api_server(rules: CorsRules) -> Iterator[str]:
    with serving(make_server("127.0.0.1", 0, cors_rules=rules)) as url:
        yield url


def call_api(browser_page: BrowserPage, api: str, key: str) -> dict[str, Any]:
    selfie = base64.b64encode(GRACE_HOPPER.read_bytes()).decode()
    body = json.dumps({"selfie_base64": selfie, "clothing_description": "red hoodie", "mode": "studio"})
    result: dict[str, Any] = browser_page.page.evaluate(CALL_THE_API, {"url": api, "key": key, "body": body})
    return result


def test_a_page_on_an_allowed_origin_reads_answers_and_another_origin_is_refused(
    browser_page: BrowserPage, local_server: LocalServer
) -> None:
    key = os.environ["TRYON_API_KEYS"]
    with file_host() as shop, file_host() as elsewhere:
        shop_page = shop.publish("/index.html", PAGE, "text/html")
        other_page = elsewhere.publish("/index.html", PAGE, "text/html")
        # The template's CORS with AllowedOrigins restricted to the shop's origin.
        rules = cors_rules_from_template(overrides={"AllowedOrigins": shop.base_url})
        with api_server(rules) as api:
            assert len({shop.base_url, elsewhere.base_url, api}) == 3  # three origins

            browser_page.page.goto(shop_page)
            generated = call_api(browser_page, api, key)
            assert generated == {
                "status": 200,
                "fields": ["image_base64", "mime_type"],
                "error": None,
                "mimeType": "image/jpeg",
                "jpeg": True,
                "requestId": generated["requestId"],
            }
            assert generated["requestId"]  # readable cross-origin: the URL exposes it
            refused_key = call_api(browser_page, api, "not-the-key")
            assert (refused_key["status"], refused_key["error"]) == (401, Unauthorized.default_message)
            assert refused_key["fields"] == ["error"] and refused_key["requestId"]
            assert not [e for e in browser_page.errors if "CORS" in e]

            browser_page.page.goto(other_page)
            blocked = call_api(browser_page, api, key)
            assert set(blocked) == {"refused"}, blocked  # fetch rejects: the page reads nothing
            assert "Failed to fetch" in blocked["refused"]
            assert [e for e in browser_page.errors if "CORS policy" in e and "preflight" in e], browser_page.errors


JOB_ROUND_TRIP = """async ({url, key, body}) => {
  try {
    const headers = {"X-API-Key": key};
    const submitted = await fetch(url + "/jobs", {
      method: "POST",
      headers: {...headers, "Content-Type": "application/json", "Idempotency-Key": "cart-42"},
      body,
    });
    const location = submitted.headers.get("Location");
    const accepted = await submitted.json();
    const polled = await fetch(url + location, {headers});
    const document = await polled.json();
    const erased = await fetch(url + location, {method: "DELETE", headers});
    const gone = await fetch(url + location, {headers});
    return {
      submitted: submitted.status, location, accepted,
      polled: polled.status, jobId: document.id,
      erased: erased.status, gone: gone.status,
    };
  } catch (error) {
    return {refused: String(error)};
  }
}"""


def test_a_page_on_an_allowed_origin_submits_polls_and_erases_a_job(
    browser_page: BrowserPage, local_server: LocalServer, tmp_path: Any, monkeypatch: Any
) -> None:
    """The jobs routes from another origin: GET and DELETE, the Idempotency-Key header and the
    Location answer all pass the function URL's CORS as the template configures it."""
    monkeypatch.setenv("TRYON_JOBS_DATA_DIR", str(tmp_path))
    key = os.environ["TRYON_API_KEYS"]
    selfie = base64.b64encode(GRACE_HOPPER.read_bytes()).decode()
    body = json.dumps({"selfie_base64": selfie, "clothing_description": "red hoodie", "mode": "studio"})
    with file_host() as shop:
        shop_page = shop.publish("/index.html", PAGE, "text/html")
        rules = cors_rules_from_template(overrides={"AllowedOrigins": shop.base_url})
        with api_server(rules) as api:
            browser_page.page.goto(shop_page)
            result = browser_page.page.evaluate(JOB_ROUND_TRIP, {"url": api, "key": key, "body": body})
    assert "refused" not in result, result
    assert result["submitted"] == 202 and result["location"] == f"/jobs/{result['accepted']['id']}"
    assert (result["polled"], result["jobId"]) == (200, result["accepted"]["id"])
    assert (result["erased"], result["gone"]) == (204, 404)
    assert not [e for e in browser_page.errors if "CORS" in e], browser_page.errors

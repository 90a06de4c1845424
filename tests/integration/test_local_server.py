"""The dev server over real HTTP on loopback: the seed examples and every reachable error row."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
from collections.abc import Callable

import numpy as np
import pytest
import requests
from PIL import Image

from tests.integration.conftest import RunningServer
from tests.photos import ASTRONAUT, GRACE_HOPPER, b64, image_bytes, selfie_jpeg
from tryon_api.http.body_limit import binary_body_limit, body_too_large
from tryon_api.http.services import set_services
from tryon_api.settings import MAX_EVENT_BODY_BYTES
from tryon_api.tryon.garment_url import PRIVATE_ADDRESS

pytestmark = pytest.mark.integration
DESCRIPTION = "Black leather jacket with white t-shirt underneath"


def post(server: RunningServer, body: object, key: str | None = "default", **kwargs: object) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["X-API-Key"] = server.api_key if key == "default" else key
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(f"{server.url}/generate_image", data=data, headers=headers, timeout=120, **kwargs)


def assert_jpeg(response: requests.Response) -> Image.Image:
    assert response.status_code == 200, response.text[:300]
    payload = response.json()
    assert set(payload) == {"image_base64", "mime_type"}
    assert payload["mime_type"] == "image/jpeg"
    image = Image.open(io.BytesIO(base64.b64decode(payload["image_base64"])))
    image.load()
    assert image.format == "JPEG"
    return image


def test_seed_example_studio_description_only(dev_server: RunningServer) -> None:
    response = post(
        dev_server, {"selfie_base64": b64(selfie_jpeg()), "clothing_description": DESCRIPTION, "mode": "studio"}
    )
    image = assert_jpeg(response)
    assert image.size[0] >= 256
    assert response.headers["X-Request-Id"]


def test_seed_example_environment_with_unreachable_garment_url(dev_server: RunningServer) -> None:
    response = post(
        dev_server,
        {
            "selfie_base64": b64(selfie_jpeg()),
            "clothing_description": "Oversized denim jacket",
            "clothing_image_url": "https://garment.invalid/jacket.jpg",
            "mode": "environment",
        },
    )
    assert response.status_code == 422
    assert response.json() == {"error": "clothing_image_url could not be reached"}


def test_seed_example_environment_with_a_served_garment_image(
    dev_server: RunningServer, garment_host: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRYON_ALLOW_PRIVATE_GARMENT_URLS", "1")
    set_services(None)
    garment = image_bytes(Image.new("RGB", (300, 300), (30, 60, 150)))
    url = garment_host("/jacket.jpg", garment)
    response = post(
        dev_server,
        {
            "selfie_base64": b64(ASTRONAUT.read_bytes()),
            "clothing_description": "Oversized denim jacket",
            "clothing_image_url": url,
            "mode": "environment",
        },
    )
    assert_jpeg(response)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_seed_curl_example_verbatim(dev_server: RunningServer, tmp_path) -> None:
    body = json.dumps({"selfie_base64": b64(selfie_jpeg()), "clothing_description": DESCRIPTION, "mode": "studio"})
    (tmp_path / "body.json").write_text(body)
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "-X",
            "POST",
            f"{dev_server.url}/generate_image",
            "-H",
            f"X-API-Key: {dev_server.api_key}",
            "-H",
            "Content-Type: application/json",
            "-d",
            f"@{tmp_path / 'body.json'}",
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    payload = json.loads(out.stdout)
    assert payload["mime_type"] == "image/jpeg"
    assert Image.open(io.BytesIO(base64.b64decode(payload["image_base64"]))).format == "JPEG"


GOOD = {"selfie_base64": "", "clothing_description": "red hoodie", "mode": "studio"}
TINY = b64(image_bytes(Image.new("RGB", (100, 100), (200, 10, 10))))


def with_selfie(**fields: object) -> dict[str, object]:
    return {**GOOD, "selfie_base64": b64(selfie_jpeg()), **fields}


ERROR_ROWS = [
    ("not json", "{oops", 400, "request body is not valid JSON"),
    ("not an object", "[1]", 400, "request body must be a JSON object"),
    ("selfie missing", {"clothing_description": "red hoodie", "mode": "studio"}, 400, "selfie_base64 is required"),
    ("description missing", {"selfie_base64": TINY, "mode": "studio"}, 400, "clothing_description is required"),
    ("wrong type", {**GOOD, "selfie_base64": 42}, 400, "selfie_base64 must be a string"),
    ("bad base64", {**GOOD, "selfie_base64": "%%%"}, 400, "selfie_base64 is not valid base64"),
    (
        "not an image",
        {**GOOD, "selfie_base64": b64(b"hello world, not an image")},
        400,
        "selfie_base64 is not an image we can read: the accepted formats are JPEG, PNG, WebP or HEIC",
    ),
    (
        "image too small",
        {**GOOD, "selfie_base64": TINY},
        400,
        "selfie_base64 is too small: the short side must be at least 256 px (it is 100 px)",
    ),
    ("bad mode", {**GOOD, "selfie_base64": TINY, "mode": "beach"}, 400, 'mode must be "studio" or "environment"'),
    (
        "garment url malformed",
        with_selfie(clothing_image_url="ftp://x/y.jpg"),
        400,
        "clothing_image_url must be an absolute http or https URL",
    ),
    (
        "garment url not allowed",
        with_selfie(clothing_image_url="http://169.254.169.254/latest/meta-data/"),
        400,
        f"clothing_image_url is not allowed: {PRIVATE_ADDRESS}",
    ),
    (
        "garment url unreachable",
        with_selfie(clothing_image_url="https://nothing-here.invalid/a.jpg"),
        422,
        "clothing_image_url could not be reached",
    ),
]


@pytest.mark.parametrize(("case", "body", "status", "message"), ERROR_ROWS, ids=[r[0] for r in ERROR_ROWS])
def test_error_rows(dev_server: RunningServer, case: str, body: object, status: int, message: str) -> None:
    response = post(dev_server, body)
    assert response.status_code == status
    assert response.json() == {"error": message}
    assert response.headers["Content-Type"] == "application/json"
    assert "Traceback" not in response.text


def test_401_missing_and_wrong_key(dev_server: RunningServer) -> None:
    for key in (None, "not-the-key"):
        response = post(dev_server, "{not even json", key=key)
        assert response.status_code == 401
        assert response.json() == {"error": "missing or invalid api key"}


def test_404_and_405(dev_server: RunningServer) -> None:
    headers = {"X-API-Key": dev_server.api_key}
    response = requests.get(f"{dev_server.url}/generate_image", headers=headers, timeout=10)
    assert (response.status_code, response.json(), response.headers["Allow"]) == (
        405,
        {"error": "method not allowed"},
        "POST",
    )
    response = requests.post(f"{dev_server.url}/generate", headers=headers, data="{}", timeout=10)
    assert (response.status_code, response.json()) == (404, {"error": "not found"})


def test_413_body_over_the_limit(dev_server: RunningServer) -> None:
    body = json.dumps({**GOOD, "selfie_base64": "A" * (MAX_EVENT_BODY_BYTES + 10)})
    response = post(dev_server, body)
    assert response.status_code == 413
    assert response.json() == {"error": body_too_large(MAX_EVENT_BODY_BYTES).message}


@pytest.mark.parametrize("content_type", ["application/json", "application/octet-stream"])
def test_the_local_server_refuses_at_the_lambda_handlers_limit(dev_server: RunningServer, content_type: str) -> None:
    """The same limit as deployed: a JSON body up to the limit is read and parsed (400 here, not
    413); a body of another content type counts base64-encoded, as in the event, so 3/4 of it."""
    headers = {"X-API-Key": dev_server.api_key, "Content-Type": content_type}
    largest = MAX_EVENT_BODY_BYTES if content_type == "application/json" else binary_body_limit(MAX_EVENT_BODY_BYTES)
    url = f"{dev_server.url}/generate_image"
    accepted = requests.post(url, data=b"{" + b" " * (largest - 2) + b"}", headers=headers, timeout=120)
    assert accepted.status_code == 400, accepted.text[:300]
    refused = requests.post(url, data=b"{" + b" " * (largest - 1) + b"}", headers=headers, timeout=120)
    assert refused.status_code == 413
    assert refused.json() == {"error": body_too_large(MAX_EVENT_BODY_BYTES).message}
    assert refused.headers["X-Request-Id"]


def test_large_selfie_under_the_cap_is_accepted(dev_server: RunningServer) -> None:
    # A real portrait at 2600 px wide with grain (sensor noise makes JPEGs large), so that the
    # person check finds somebody in it.
    portrait = np.asarray(Image.open(GRACE_HOPPER).convert("RGB").resize((2600, 3047), Image.Resampling.LANCZOS))
    grain = np.random.default_rng(7).normal(0, 30, portrait.shape)
    noisy = Image.fromarray(np.clip(portrait + grain, 0, 255).astype(np.uint8))
    # The largest JPEG of this photo whose request still fits under the body limit.
    data = next(
        d for q in range(95, 50, -5) if len(d := image_bytes(noisy, quality=q)) * 4 / 3 < MAX_EVENT_BODY_BYTES - 1000
    )
    assert len(data) * 4 / 3 > 4_500_000
    assert_jpeg(post(dev_server, {**GOOD, "selfie_base64": b64(data)}))


def test_503_when_the_secret_store_is_unreachable(dev_server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYON_API_KEY_SECRET_ID", "tryon/test/api-keys")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    set_services(None)
    response = post(dev_server, with_selfie())
    assert response.status_code == 503
    assert response.json() == {"error": "authentication is unavailable, retry later"}
    assert response.headers["Retry-After"]


def test_504_when_the_deadline_passes(dev_server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYON_LOCAL_TIMEOUT_SECONDS", "1")
    set_services(None)
    response = post(dev_server, with_selfie())
    assert response.status_code == 504
    assert response.json() == {"error": "the image model did not answer in time"}

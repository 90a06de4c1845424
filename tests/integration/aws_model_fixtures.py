"""Fixtures for the model backends' integration tests: the AWS model emulator on loopback, a
garment image server, the handler configured with a real boto3 client pointed at the emulator."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image, ImageDraw

from handler.backends.model_calls import RetryPolicy
from handler.dev.aws_emulator import AwsModelEmulator
from handler.local import function_url_event, invoke
from handler.services import build_services, set_services
from handler.settings import Settings

API_KEY = "test-key"
ENDPOINT = "tryon-vton"
SEARCH_REPLACE = "us.stability.stable-image-search-replace-v1:0"
INPAINT = "us.stability.stable-image-inpaint-v1:0"
REMOVE_BACKGROUND = "us.stability.stable-image-remove-background-v1:0"
VISION = "us.amazon.nova-2-lite-v1:0"
BACKDROP = (196, 202, 210)
# Short backoff so retry tests stay fast; the policy itself is the production one.
FAST_RETRIES = RetryPolicy(backoff_base_seconds=0.02, backoff_cap_seconds=0.1, min_attempt_seconds=0.2)


def figure_photo(size: tuple[int, int] = (600, 800)) -> bytes:
    """A person-like figure (head, green torso, dark legs) on a plain backdrop, as a JPEG."""
    width, height = size
    image = Image.new("RGB", size, BACKDROP)
    draw = ImageDraw.Draw(image)
    cx = width // 2
    draw.ellipse((cx - 60, 90, cx + 60, 240), fill=(224, 172, 140))  # head
    draw.rectangle((cx - 130, 250, cx + 130, 560), fill=(40, 140, 60))  # torso
    draw.rectangle((cx - 110, 560, cx - 10, height - 60), fill=(40, 40, 60))  # legs
    draw.rectangle((cx + 10, 560, cx + 110, height - 60), fill=(40, 40, 60))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def garment_photo() -> bytes:
    """A red t-shirt shape on white, as a product photo would show it."""
    image = Image.new("RGB", (400, 400), (255, 255, 255))
    ImageDraw.Draw(image).polygon(
        [(120, 60), (280, 60), (360, 130), (310, 170), (300, 350), (100, 350), (90, 170), (40, 130)],
        fill=(200, 25, 35),
    )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def emulator() -> Iterator[AwsModelEmulator]:
    with AwsModelEmulator(endpoint_names=(ENDPOINT,)) as running:
        yield running


@pytest.fixture
def aws(emulator: AwsModelEmulator, monkeypatch: pytest.MonkeyPatch) -> AwsModelEmulator:
    """The emulator, reset, with the standard endpoint variables pointing boto3 at it."""
    emulator.reset()
    emulator.default_delay = 0.0
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", emulator.url)
    return emulator


@pytest.fixture(scope="session")
def garment_url() -> Iterator[str]:
    data = garment_photo()

    class GarmentHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), GarmentHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jacket.jpg"
    server.shutdown()
    server.server_close()


@pytest.fixture
def use_backend(aws: AwsModelEmulator) -> Callable[..., Any]:
    """Configure the handler's services for ``backend`` with the real boto3 client (via the
    endpoint variables); botocore retries off unless asked, so each fault is seen once."""

    def configure(backend: str, **overrides: Any) -> Any:
        settings = Settings(
            backend=backend,  # type: ignore[arg-type]
            local_api_keys=(API_KEY,),
            allow_private_garment_urls=True,
            sagemaker_endpoint_name=ENDPOINT,
            model_region="us-east-1",
            model_max_attempts=1,
        )
        settings = replace(settings, **overrides)
        services = build_services(settings)
        services.tryon.backend.policy = replace(  # type: ignore[attr-defined]
            FAST_RETRIES, retry_after_seconds=settings.model_retry_after_seconds
        )
        set_services(services)
        return services

    return configure


def request_body(mode: str = "studio", garment_url: str | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "selfie_base64": base64.b64encode(figure_photo()).decode(),
        "clothing_description": "Red cotton t-shirt",
        "mode": mode,
        **fields,
    }
    if garment_url:
        body["clothing_image_url"] = garment_url
    return body


def post(body: dict[str, Any], timeout_seconds: float | None = None) -> tuple[int, dict[str, str], dict[str, Any]]:
    event = function_url_event(
        "POST", "/generate_image", {"content-type": "application/json", "x-api-key": API_KEY}, json.dumps(body).encode()
    )
    response = invoke(event, timeout_seconds)
    return int(response["statusCode"]), response.get("headers") or {}, json.loads(response["body"])


def decode_image(payload: dict[str, Any]) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(payload["image_base64"]))).convert("RGB")

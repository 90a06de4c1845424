"""Helpers of the model backends' integration tests: fixture images, posting to the handler."""

from __future__ import annotations

import base64
import io
import json
import threading
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from tests.photos import selfie_jpeg
from tryon_api.backends.model_calls import RetryPolicy
from tryon_dev.events import function_url_event
from tryon_dev.invoke import invoke

API_KEY = "test-key"
ENDPOINT = "tryon-vton"
SEARCH_REPLACE = "us.stability.stable-image-search-replace-v1:0"
INPAINT = "us.stability.stable-image-inpaint-v1:0"
REMOVE_BACKGROUND = "us.stability.stable-image-remove-background-v1:0"
VISION = "us.amazon.nova-2-lite-v1:0"
# Short backoff so retry tests stay fast; the policy itself is the production one.
FAST_RETRIES = RetryPolicy(backoff_base_seconds=0.02, backoff_cap_seconds=0.1, min_attempt_seconds=0.2)


def person_photo() -> bytes:
    """A real portrait (512 x 600 px): MediaPipe finds a person in it, as in a shopper's selfie."""
    return selfie_jpeg()


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


def request_body(mode: str = "studio", garment_url: str | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "selfie_base64": base64.b64encode(person_photo()).decode(),
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


def assert_dressed_in_red(image: Image.Image, mode: str) -> None:
    """The portrait's navy uniform became the requested red t-shirt, the face stayed, the
    backdrop became a white studio or a painted scene."""
    out = np.asarray(image.convert("RGB"), dtype=np.float32)
    original = np.asarray(Image.open(io.BytesIO(person_photo())).convert("RGB"), dtype=np.float32)
    assert out.shape == original.shape
    torso = out[470:580, 130:380].reshape(-1, 3).mean(axis=0)
    assert torso[0] > 120 > 90 > torso[1], torso
    assert np.abs(out[150:300, 190:330] - original[150:300, 190:330]).mean() < 12  # the face box nearly unchanged
    corners = np.concatenate([out[:20, :20], out[:20, -20:]])
    if mode == "studio":
        assert corners.min() > 245
    else:
        assert np.abs(corners - np.concatenate([original[:20, :20], original[:20, -20:]])).mean() > 20


def join_abandoned_calls() -> None:
    """Wait (bounded) for model calls a timed-out request left running: they now do real image
    work, and must not log into the next test or after the session closed its streams."""
    for thread in threading.enumerate():
        if thread.name.startswith("model-call"):
            thread.join(timeout=15)


def decode_image(payload: dict[str, Any]) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(payload["image_base64"]))).convert("RGB")

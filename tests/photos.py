"""Real photos of people that ship inside installed wheels, and image builders for tests."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib
import skimage
from PIL import Image

GRACE_HOPPER = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
ASTRONAUT = Path(skimage.__file__).parent / "data" / "astronaut.png"


def image_bytes(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def selfie_jpeg() -> bytes:
    return GRACE_HOPPER.read_bytes()

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


def astronaut_png() -> bytes:
    return ASTRONAUT.read_bytes()


CAMERAMAN = Path(skimage.__file__).parent / "data" / "camera.png"
ROCKET = Path(skimage.__file__).parent / "data" / "rocket.jpg"


def people_photos() -> dict[str, bytes]:
    """Real photos of one person each (a portrait, an astronaut, a grey-scale street photo)."""
    return {"grace_hopper": selfie_jpeg(), "astronaut": astronaut_png(), "cameraman": CAMERAMAN.read_bytes()}


def garment_only_jpeg() -> bytes:
    """A real garment with nobody in it: Grace Hopper's uniform jacket, cropped below her chin
    (the medals, buttons and folds of a product photo, no face)."""
    with Image.open(GRACE_HOPPER) as photo:
        return image_bytes(photo.convert("RGB").crop((0, 340, 512, 600)), quality=92)


def landscape_jpeg() -> bytes:
    """An outdoor scene without people: scikit-image's rocket on its launch pad."""
    return ROCKET.read_bytes()


def blank_jpeg() -> bytes:
    return image_bytes(Image.new("RGB", (512, 640), (245, 245, 245)), quality=92)


def no_person_photos() -> dict[str, bytes]:
    return {"garment_only": garment_only_jpeg(), "landscape": landscape_jpeg(), "blank": blank_jpeg()}


def large_selfie_jpeg(min_bytes: int = 1024 * 1024) -> bytes:
    """The portrait upscaled (Lanczos) to 2048 px high and saved at high quality: a phone-sized
    selfie over 1 MB, as a newcomer would send."""
    with Image.open(GRACE_HOPPER) as photo:
        big = photo.convert("RGB").resize((1748, 2048), Image.Resampling.LANCZOS)
    data = image_bytes(big, quality=98, subsampling=0)
    assert len(data) >= min_bytes, len(data)
    return data

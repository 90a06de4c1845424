"""The embedded renderer raises no numeric warning: a warning there meant a NaN in an image mask.

A blank or blown-out photo left the skin colour model with no cheek pixel to learn from; the mean
of nothing is NaN (NumPy's "invalid value encountered in divide") and every mask built on it
carried the NaN. Each render here runs with NumPy's floating-point errors raised (underflow,
harmless rounding to zero, excepted) and every warning turned into an error.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.photos import ASTRONAUT, GRACE_HOPPER
from tryon_api.backends.embedded import render_try_on


def garment_photo() -> Image.Image:
    image = Image.new("RGB", (300, 320), (246, 246, 244))
    ImageDraw.Draw(image).polygon(
        [(90, 20), (210, 20), (290, 90), (220, 300), (80, 300), (10, 90)], fill=(20, 120, 130)
    )
    return image


def photo(name: str) -> Image.Image:
    if name == "grace_hopper":
        return Image.open(GRACE_HOPPER).convert("RGB")
    if name == "astronaut":
        return Image.open(ASTRONAUT).convert("RGB")
    if name == "blank white":  # no person, every pixel blown out: the photo that gave the NaN
        return Image.new("RGB", (400, 500), "white")
    if name == "overexposed":  # a real face brightened four times: most of it blown out
        return Image.open(GRACE_HOPPER).convert("RGB").point(lambda v: min(255, v * 4))
    raise ValueError(name)


CASES = [
    ("grace_hopper", "Black leather jacket with white t-shirt underneath", "studio", False),
    ("grace_hopper", "red hoodie", "environment", False),
    ("astronaut", "navy and white striped t-shirt", "environment", False),
    ("astronaut", "light blue collared shirt", "studio", True),
    ("blank white", "red hoodie", "studio", False),
    ("blank white", "teal t-shirt", "environment", True),
    ("overexposed", "emerald green v-neck sweater", "studio", False),
]


@pytest.mark.parametrize(("name", "description", "mode", "with_garment"), CASES)
def test_rendering_raises_no_warning(name: str, description: str, mode: str, with_garment: bool) -> None:
    garment = garment_photo() if with_garment else None
    with warnings.catch_warnings(), np.errstate(divide="raise", invalid="raise", over="raise", under="ignore"):
        warnings.simplefilter("error")
        result = render_try_on(photo(name), description, mode=mode, seed=3, garment=garment)
    pixels = np.asarray(result.image, dtype=np.float32)
    assert pixels.shape[2] == 3 and np.isfinite(pixels).all()
    assert pixels.std() > 1.0  # a picture, not a flat fill

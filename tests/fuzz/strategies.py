"""Hypothesis strategies for what real, broken and hostile clients send."""

from __future__ import annotations

import base64
import io
import os
import random
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from PIL import Image

from tests.photos import GRACE_HOPPER

# `make fuzz` raises the number of examples; `make test` keeps it small.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
FUZZ_SETTINGS = settings(max_examples=FUZZ_EXAMPLES, deadline=None)

# Text that may hold lone surrogates: valid JSON ("\\ud800") that no UTF-8 codec can encode.
LONE_SURROGATES = ("\ud800", "\udfff", "\udbff")
any_text = st.lists(st.text(max_size=12) | st.sampled_from(LONE_SURROGATES), max_size=5).map("".join)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
# Huge strings without spending the test's time drawing them: a short text repeated.
huge_strings = st.builds(lambda part, times: part * times, st.text(min_size=1, max_size=8), st.integers(1_000, 200_000))
field_values = json_values | huge_strings


def any_case(name: str, rnd: random.Random) -> str:
    return "".join(ch.upper() if rnd.random() < 0.5 else ch.lower() for ch in name)


def small_photo(fmt: str = "JPEG", size: tuple[int, int] = (300, 360), orientation: int | None = None) -> bytes:
    """A real photo (Grace Hopper) scaled down so that generation stays fast in property tests."""
    with Image.open(GRACE_HOPPER) as source:
        image = source.convert("RGB").resize(size)
    buffer = io.BytesIO()
    if orientation is None:
        image.save(buffer, fmt)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(buffer, fmt, exif=exif)
    return buffer.getvalue()


SMALL_JPEG = small_photo()
SMALL_PNG = small_photo("PNG")
SMALL_WEBP = small_photo("WEBP")
ROTATED_JPEG = small_photo(orientation=6)
VALID_SELFIE_B64 = base64.b64encode(SMALL_JPEG).decode("ascii")


@st.composite
def mutated_images(draw: Any) -> bytes:
    """A real encoded image, truncated and/or with some bytes overwritten."""
    data = bytearray(draw(st.sampled_from([SMALL_JPEG, SMALL_PNG, SMALL_WEBP, ROTATED_JPEG])))
    for _ in range(draw(st.integers(0, 6))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


selfie_fields = (
    st.just(VALID_SELFIE_B64)
    | st.binary(max_size=2048).map(lambda b: base64.b64encode(b).decode("ascii"))
    | mutated_images().map(lambda b: base64.b64encode(b).decode("ascii"))
    | field_values
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# Every accepted form of a real photo: formats, EXIF rotation, data: URL, URL-safe, line breaks.
valid_selfie_fields = st.sampled_from(
    [
        VALID_SELFIE_B64,
        _b64(SMALL_PNG),
        _b64(SMALL_WEBP),
        _b64(ROTATED_JPEG),
        "data:image/jpeg;base64," + VALID_SELFIE_B64,
        base64.urlsafe_b64encode(SMALL_JPEG).decode("ascii").rstrip("="),
        "\r\n".join(VALID_SELFIE_B64[i : i + 76] for i in range(0, len(VALID_SELFIE_B64), 76)),
    ]
)

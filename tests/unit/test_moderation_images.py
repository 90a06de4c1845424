"""Images as the moderation services take them: within their byte limits, in their formats."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tryon_api.moderation.aws import GUARDRAIL_MAX_IMAGE_BYTES, REKOGNITION_MAX_IMAGE_BYTES, fit_image
from tryon_api.moderation.interface import ImageToCheck
from tryon_api.moderation.stage import encode_for_check


def noise_png(side: int) -> bytes:
    pixels = np.random.default_rng(7).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def test_an_image_over_a_services_limit_is_checked_as_a_smaller_jpeg_of_the_same_picture() -> None:
    big = ImageToCheck(noise_png(1400), "png")  # incompressible: about 5.9 MB
    assert len(big.data) > REKOGNITION_MAX_IMAGE_BYTES
    for limit in (GUARDRAIL_MAX_IMAGE_BYTES, REKOGNITION_MAX_IMAGE_BYTES):
        fitted = fit_image(big, limit)
        assert fitted.format == "jpeg" and len(fitted.data) <= limit
        with Image.open(io.BytesIO(fitted.data)) as opened:
            assert abs(opened.width / opened.height - 1.0) < 0.01 and opened.width >= 600


def test_an_image_within_the_limit_is_sent_as_it_is() -> None:
    small = ImageToCheck(noise_png(64), "png")
    assert fit_image(small, GUARDRAIL_MAX_IMAGE_BYTES) is small


def test_a_decoded_garment_is_sent_as_rgb_jpeg() -> None:
    garment = Image.new("RGBA", (300, 200), (200, 30, 40, 128))
    image = encode_for_check(garment)
    assert image.format == "jpeg" and image.data.startswith(b"\xff\xd8\xff")
    with Image.open(io.BytesIO(image.data)) as opened:
        assert opened.size == (300, 200) and opened.mode == "RGB"


def test_a_small_garment_is_enlarged_to_the_services_smallest_side() -> None:
    with Image.open(io.BytesIO(encode_for_check(Image.new("RGB", (64, 128), "navy")).data)) as opened:
        assert opened.size == (80, 160)

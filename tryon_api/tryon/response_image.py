"""The response image: a progressive sRGB JPEG without metadata whose base64 fits the response."""

from __future__ import annotations

import base64
import io
import math
from typing import Final

from PIL import Image

from tryon_api.tryon.errors import UpstreamFailed
from tryon_api.tryon.image_intake import REDUCING_GAP, decode_model_image
from tryon_api.tryon.interface import GeneratedImage
from tryon_api.tryon.jpeg_structure import is_clean_progressive_jpeg

JPEG_MIME: Final = "image/jpeg"
# Try these qualities at full size, then shrink (at the last quality).
RESPONSE_QUALITIES: Final = (90, 82)
MIN_RESPONSE_SIDE: Final = 256


def encode_jpeg(image: Image.Image, quality: int) -> bytes:
    """Progressive JPEG, 4:2:0, no EXIF/ICC/XMP/comment (so viewers assume sRGB)."""
    if image.info:  # Pillow writes some info keys (comment, XMP) back out: never let them through
        image = image.copy()
        image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, progressive=True, subsampling=2)
    return buffer.getvalue()


def base64_length(size: int) -> int:
    return 4 * math.ceil(size / 3)


def encode_response_image(result: GeneratedImage, max_base64_bytes: int) -> tuple[str, str]:
    """A progressive sRGB JPEG whose base64 fits ``max_base64_bytes``: quality, then size, step down."""
    if (
        result.mime_type == JPEG_MIME
        and base64_length(len(result.data)) <= max_base64_bytes
        and is_clean_progressive_jpeg(result.data)
    ):
        return base64.b64encode(result.data).decode("ascii"), JPEG_MIME
    image = decode_model_image(result.data)
    quality = RESPONSE_QUALITIES[0]
    for quality in RESPONSE_QUALITIES:
        encoded = encode_jpeg(image, quality)
        if base64_length(len(encoded)) <= max_base64_bytes:
            return base64.b64encode(encoded).decode("ascii"), JPEG_MIME
    for _ in range(8):
        # Bytes scale roughly with pixels: aim 10 % under the limit, at least a 15 % step.
        ratio = min(0.85, math.sqrt(0.9 * max_base64_bytes / base64_length(len(encoded))))
        size = (max(1, int(image.width * ratio)), max(1, int(image.height * ratio)))
        if min(size) < MIN_RESPONSE_SIDE:
            break
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
        encoded = encode_jpeg(image, quality)
        if base64_length(len(encoded)) <= max_base64_bytes:
            return base64.b64encode(encoded).decode("ascii"), JPEG_MIME
    raise UpstreamFailed("the generated image could not be encoded within the response size limit")

"""The response image: a progressive sRGB JPEG (or a PNG or WebP when asked) without metadata
whose base64 fits the response."""

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
PNG_MIME: Final = "image/png"
WEBP_MIME: Final = "image/webp"
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


def encode_png(image: Image.Image, quality: int = 0) -> bytes:
    """Lossless; no text chunks, ICC or EXIF (``quality`` is unused: PNG has none)."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()


def encode_webp(image: Image.Image, quality: int) -> bytes:
    """Lossy WebP with no EXIF, XMP or ICC chunk (viewers assume sRGB)."""
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=quality, method=4, exif=b"", xmp=b"", icc_profile=b"")
    return buffer.getvalue()


def _bare(image: Image.Image) -> Image.Image:
    """The pixels only: Pillow writes some info keys (comment, XMP, ICC) back out."""
    if image.info:
        image = image.copy()
        image.info = {}
    return image


# Each output format: its MIME type and encoder.
ENCODERS: Final = {
    "jpeg": (JPEG_MIME, encode_jpeg),
    "png": (PNG_MIME, encode_png),
    "webp": (WEBP_MIME, encode_webp),
}


def base64_length(size: int) -> int:
    return 4 * math.ceil(size / 3)


def encode_response_image(
    result: GeneratedImage, max_base64_bytes: int, output_format: str = "jpeg"
) -> tuple[str, str]:
    """The image in ``output_format`` whose base64 fits ``max_base64_bytes``: quality, then size,
    step down (PNG is lossless: only its size does). A model's clean JPEG is passed through."""
    mime, encode = ENCODERS[output_format]
    if (
        output_format == "jpeg"
        and result.mime_type == JPEG_MIME
        and base64_length(len(result.data)) <= max_base64_bytes
        and is_clean_progressive_jpeg(result.data)
    ):
        return base64.b64encode(result.data).decode("ascii"), JPEG_MIME
    image = _bare(decode_model_image(result.data))
    qualities = RESPONSE_QUALITIES if output_format != "png" else (0,)
    quality = qualities[0]
    for quality in qualities:
        encoded = encode(image, quality)
        if base64_length(len(encoded)) <= max_base64_bytes:
            return base64.b64encode(encoded).decode("ascii"), mime
    for _ in range(8):
        # Bytes scale roughly with pixels: aim 10 % under the limit, at least a 15 % step.
        ratio = min(0.85, math.sqrt(0.9 * max_base64_bytes / base64_length(len(encoded))))
        size = (max(1, int(image.width * ratio)), max(1, int(image.height * ratio)))
        if min(size) < MIN_RESPONSE_SIDE:
            break
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
        encoded = encode(image, quality)
        if base64_length(len(encoded)) <= max_base64_bytes:
            return base64.b64encode(encoded).decode("ascii"), mime
    raise UpstreamFailed("the generated image could not be encoded within the response size limit")


def moderation_copy(data: bytes, mime_type: str) -> bytes:
    """The answer as the content checks read it (JPEG or PNG, what Rekognition and Guardrails
    take): the bytes themselves, or for a WebP answer a lossless PNG of exactly its pixels."""
    if mime_type != WEBP_MIME:
        return data
    return encode_png(decode_model_image(data))

"""The one encoding of images sent to a remote model, so every backend sends the same bytes."""

from __future__ import annotations

import base64
import io

from PIL import Image

# JPEG at quality 95 with full-resolution chroma is visually lossless and about ten times faster
# to write than even the fastest PNG of the same image.
MODEL_JPEG_QUALITY = 95
MODEL_PNG_COMPRESS_LEVEL = 3


def encode_model_input(image: Image.Image) -> tuple[bytes, str]:
    """PNG (``"png"``) for cut-outs, whose alpha channel is a mask; JPEG (``"jpeg"``) otherwise.

    Nothing but pixels is written: no EXIF, ICC or comments from the caller's upload.
    """
    buffer = io.BytesIO()
    if image.mode == "RGBA":
        image.save(buffer, "PNG", compress_level=MODEL_PNG_COMPRESS_LEVEL)
        return buffer.getvalue(), "png"
    image.convert("RGB").save(buffer, "JPEG", quality=MODEL_JPEG_QUALITY, subsampling=0)
    return buffer.getvalue(), "jpeg"


def model_input_base64(image: Image.Image) -> str:
    return base64.b64encode(encode_model_input(image)[0]).decode("ascii")

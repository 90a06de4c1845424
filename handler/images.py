"""Image intake and output: decode what callers send, normalise it, and encode the answer.

This is the only compute of our own on the request path, so it decodes JPEGs at reduced size
when the model needs fewer pixels, and never copies input metadata (EXIF, GPS) to the output.
"""

from __future__ import annotations

import base64
import io
import math
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from handler.errors import BadRequest, TryOnError, UnusableGarmentImage, UpstreamFailed
from handler.models import GeneratedImage, ImageLimits

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "HEIF", "HEIC", "MPO"})
MIN_SHORT_SIDE = 256
MAX_DECODED_PIXELS = 40_000_000
JPEG_MIME = "image/jpeg"

# Pillow's own bomb guard is replaced by an explicit check of the header's size.
Image.MAX_IMAGE_PIXELS = None
# Corrupt EXIF in an upload is the caller's data, not news: Pillow's warnings about it would be
# stderr lines without the request id (found by fuzzing with mutated photos).
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.TiffImagePlugin")


def _open(data: bytes, field: str, error: type[TryOnError]) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombWarning):
        raise error(f"{field} is not a decodable image (use JPEG, PNG, WebP or HEIC)") from None
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB, alpha flattened onto white, palette/CMYK/16-bit/grey converted."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return image.point(lambda v: v / 256).convert("L").convert("RGB")
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def fit_size(width: int, height: int, limits: ImageLimits) -> tuple[int, int]:
    """The largest size not above the limits, keeping the aspect ratio."""
    scale = min(1.0, limits.max_side / max(width, height), math.sqrt(limits.max_pixels / (width * height)))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _crop_to_aspect(image: Image.Image, limits: ImageLimits) -> Image.Image:
    width, height = image.size
    aspect = width / height
    if aspect > limits.max_aspect:  # too wide: keep the centre
        new_width = int(height * limits.max_aspect)
        left = (width - new_width) // 2
        return image.crop((left, 0, left + new_width, height))
    if aspect < limits.min_aspect:  # too tall: keep the top, where the face and torso are
        return image.crop((0, 0, width, int(width / limits.min_aspect)))
    return image


def load_image(
    data: bytes,
    limits: ImageLimits,
    *,
    field: str = "selfie_base64",
    error: type[TryOnError] = BadRequest,
    min_short_side: int = MIN_SHORT_SIDE,
) -> Image.Image:
    """Decode, orient and normalise an uploaded image to 8-bit RGB within ``limits``."""
    image = _open(data, field, error)
    if (image.format or "").upper() not in ACCEPTED_FORMATS:
        raise error(f"{field} must be a JPEG, PNG, WebP or HEIC image")
    width, height = image.size
    if width * height > MAX_DECODED_PIXELS:
        raise error(f"{field} is too large: at most {MAX_DECODED_PIXELS // 1_000_000} megapixels")
    if min(width, height) < min_short_side:
        raise error(f"{field} is too small: the short side must be at least {min_short_side} px")
    try:
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)
        target = fit_size(width, height, limits)
        if image.format == "JPEG":
            # Reduced-size DCT decoding: never decode more pixels than the model needs (x2).
            image.draft("RGB", (target[0] * 2, target[1] * 2))
        orientation = image.getexif().get(0x0112, 1)
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise error(f"{field} is a truncated or corrupt image") from None
    image = _to_rgb(image)
    if orientation != 1:
        image = ImageOps.exif_transpose(image)
    image = _crop_to_aspect(image, limits)
    size = fit_size(*image.size, limits)
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    image.info = {}
    return image


def load_garment_image(data: bytes, limits: ImageLimits) -> Image.Image:
    return load_image(data, limits, field="clothing_image_url", error=UnusableGarmentImage, min_short_side=32)


def decode_model_image(data: bytes) -> Image.Image:
    """Decode an image a model returned; anything broken is the model's failure (502)."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise UpstreamFailed("the image model returned an unreadable image") from None
    return _to_rgb(image)


def encode_jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, progressive=True, optimize=False, subsampling=0 if quality >= 90 else 2)
    return buffer.getvalue()


def encode_response_image(result: GeneratedImage, max_base64_bytes: int) -> tuple[str, str]:
    """A progressive JPEG whose base64 fits ``max_base64_bytes``: quality, then size, step down."""
    image = decode_model_image(result.data)
    qualities = (90, 85, 78, 70)
    while True:
        for quality in qualities:
            encoded = encode_jpeg(image, quality)
            if 4 * math.ceil(len(encoded) / 3) <= max_base64_bytes:
                return base64.b64encode(encoded).decode("ascii"), JPEG_MIME
        if max(image.size) <= 256:
            raise UpstreamFailed("the generated image could not be encoded within the size limit")
        image = image.resize((max(1, image.width * 3 // 4), max(1, image.height * 3 // 4)), Image.Resampling.LANCZOS)

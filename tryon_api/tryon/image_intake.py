"""Image intake: decode what callers and models send, and normalise it to what a backend takes.

This is the only compute of our own on the request path, so the work is ordered to touch as
few pixels as possible: the format is sniffed from magic bytes and only that decoder is tried,
the size is checked from the header before anything is decoded, JPEGs are decoded at reduced
size (libjpeg's DCT scaling, Pillow ``draft``), the aspect crop and the resize are one resample
(``resize(box=...)``), and rotation and colour conversion run on the small result. Input
metadata (EXIF, GPS, XMP, ICC) is never copied to any output.

The decoding budget, checked before a pixel is decoded: at most ``MAX_DECODED_PIXELS`` declared
(``MAX_WEBP_PIXELS`` for WebP, whose decoder holds three full-size copies),
at most ``MAX_JPEG_SCANS`` progressive scans (scan bombs), and a declared size that the file's
bytes can plausibly hold (``MAX_PIXELS_PER_BYTE`` above ``PLAUSIBILITY_FLOOR_PIXELS``: a few
hundred bytes declaring 40 megapixels is a decompression bomb, refused before the decoder
allocates its buffers). While pixels are decoded, every read of the compressed data checks the
caller's time limit. The worst cases at these limits are measured by scripts/benchmark_decoding.py.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
from collections.abc import Callable
from typing import Final

from PIL import Image

from tryon_api.tryon.colour_management import to_srgb_rgb
from tryon_api.tryon.errors import BadRequest, TryOnError, UnusableGarmentImage, UpstreamFailed
from tryon_api.tryon.image_formats import heif_opener, refused_format_name, sniff_format, webp_canvas_size
from tryon_api.tryon.interface import ImageLimits
from tryon_api.tryon.jpeg_structure import read_jpeg_structure

ACCEPTED_FORMATS_TEXT: Final = "JPEG, PNG, WebP or HEIC"
MIN_SHORT_SIDE: Final = 256
MAX_DECODED_PIXELS: Final = 40_000_000
# Pillow decodes WebP through libwebp's animation decoder: its canvas, the frame's bytes and the
# image, each full size (about 17 bytes a pixel at the peak, against 9 for a PNG). At 40 MP that
# is 760 MB; at 20 MP a request stays under half the Lambda's 1024 MB like the other formats.
MAX_WEBP_PIXELS: Final = 20_000_000
# A photo has about 10 scans (libjpeg's progressive script: 10 for colour, 18 for CMYK); every
# scan costs a pass over the whole image, so a file of thousands of tiny ones is an attack.
MAX_JPEG_SCANS: Final = 32
# A photo holds under 10 pixels a byte, a product shot on white a few dozen. Bombs sit far above:
# 233 bytes declaring 40 megapixels, or an all-zero PNG at deflate's 1032-fold limit (about 344
# RGB pixels a byte). Above the floor (16 MB of RGBA), more pixels a byte than this is refused.
MAX_PIXELS_PER_BYTE: Final = 256
PLAUSIBILITY_FLOOR_PIXELS: Final = 4_000_000
# Resampling: integer box reduction down to twice the target, then Lanczos for the rest.
REDUCING_GAP: Final = 2.0

_ORIENTATION_TAG: Final = 0x0112
_TRANSPOSE: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Errors Pillow and libheif raise on truncated or malformed data.
_DECODE_ERRORS: Final = (OSError, ValueError, SyntaxError, EOFError, struct.error, RuntimeError, IndexError, KeyError)


# Corrupt EXIF in an upload is the caller's data, not news: Pillow's warnings about it would be
# stderr lines without the request id (found by fuzzing with mutated photos).
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.TiffImagePlugin")


class _TimedReader(io.BytesIO):
    """The compressed data, read by the decoder in blocks: each read first checks the time limit."""

    def __init__(self, data: bytes, check_time: Callable[[], None]) -> None:
        super().__init__(data)
        self._check_time = check_time

    def read(self, size: int | None = -1, /) -> bytes:
        self._check_time()
        return super().read(size)


def _no_time_limit() -> None:
    return None


def check_declared_size(
    width: int, height: int, data_size: int, field: str, error: type[TryOnError], fmt: str = ""
) -> None:
    """The budget's size rules, from the header alone: the pixel limit and a plausible ratio."""
    pixels = width * height
    if pixels > MAX_DECODED_PIXELS:
        raise _too_large(field, error)
    if fmt == "WEBP" and pixels > MAX_WEBP_PIXELS:
        raise error(f"{field} is too large: at most {MAX_WEBP_PIXELS // 1_000_000} megapixels for a WebP image")
    if pixels > PLAUSIBILITY_FLOOR_PIXELS and pixels > data_size * MAX_PIXELS_PER_BYTE:
        raise error(f"{field} declares {width}x{height} pixels in only {data_size} bytes: not a real image")


def check_jpeg_scans(data: bytes, field: str, error: type[TryOnError]) -> None:
    """Refuse a progressive JPEG with more scans than any encoder writes (a scan bomb)."""
    structure = read_jpeg_structure(data)
    if structure is not None and structure.scans > MAX_JPEG_SCANS:
        raise error(
            f"{field} is a progressive JPEG with {structure.scans} scans: at most {MAX_JPEG_SCANS} are accepted"
        )


def _open(
    data: bytes, field: str, error: type[TryOnError], check_time: Callable[[], None] = _no_time_limit
) -> Image.Image:
    """Open (header only) with the one decoder the magic bytes name, within the decoding budget."""
    fmt = sniff_format(data)
    if fmt is None:
        other = refused_format_name(data)
        what = f"a {other} image" if other else "not an image we can read"
        raise error(f"{field} is {what}: the accepted formats are {ACCEPTED_FORMATS_TEXT}")
    if fmt == "JPEG":
        check_jpeg_scans(data, field, error)
    declared = webp_canvas_size(data) if fmt == "WEBP" else None
    if declared is not None:  # libwebp sizes its canvas on open: check before
        check_declared_size(*declared, len(data), field, error, fmt)
    if fmt == "HEIF":
        heif_opener.get()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(_TimedReader(data, check_time), formats=[fmt])
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _too_large(field, error) from None
    except _DECODE_ERRORS:
        raise error(f"{field} is a truncated or corrupt image") from None
    # Opening read the header only: nothing the size of the image is allocated yet.
    check_declared_size(image.width, image.height, len(data), field, error, fmt)
    return image


def _too_large(field: str, error: type[TryOnError]) -> TryOnError:
    return error(f"{field} is too large: at most {MAX_DECODED_PIXELS // 1_000_000} megapixels once decoded")


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1..8); libheif already applies HEIF's own and resets it to 1."""
    try:
        value = image.getexif().get(_ORIENTATION_TAG, 1)
    except _DECODE_ERRORS:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _aspect_box(width: int, height: int, limits: ImageLimits) -> tuple[float, float, float, float]:
    """The crop (in display coordinates) that brings the aspect ratio into the allowed range."""
    aspect = width / height
    if aspect > limits.max_aspect:  # too wide: keep the centre
        new_width = height * limits.max_aspect
        left = (width - new_width) / 2
        return (left, 0.0, left + new_width, float(height))
    if aspect < limits.min_aspect:  # too tall: keep the top, where the face and torso are
        return (0.0, 0.0, float(width), width / limits.min_aspect)
    return (0.0, 0.0, float(width), float(height))


def fit_size(width: float, height: float, limits: ImageLimits) -> tuple[int, int]:
    """The largest size within the limits, keeping the aspect ratio (never enlarging)."""
    scale = min(1.0, limits.max_side / max(width, height), math.sqrt(limits.max_pixels / (width * height)))
    new_width, new_height = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
    # Rounding down one side can push a ratio at the limit just past it: trim the other side.
    if new_width > new_height * limits.max_aspect:
        new_width = max(1, math.floor(new_height * limits.max_aspect))
    elif new_width < new_height * limits.min_aspect:
        new_height = max(1, math.floor(new_width / limits.min_aspect))
    return new_width, new_height


def _display_to_stored(
    box: tuple[float, float, float, float], orientation: int, width: int, height: int
) -> tuple[float, float, float, float]:
    """Map a box in display (oriented) coordinates to the stored pixel grid of size width x height."""

    def point(x: float, y: float) -> tuple[float, float]:
        if orientation == 2:
            return width - x, y
        if orientation == 3:
            return width - x, height - y
        if orientation == 4:
            return x, height - y
        if orientation == 5:
            return y, x
        if orientation == 6:
            return y, height - x
        if orientation == 7:
            return width - y, height - x
        if orientation == 8:
            return width - y, x
        return x, y

    (ax, ay), (bx, by) = point(box[0], box[1]), point(box[2], box[3])
    return (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))


def _resampleable(image: Image.Image) -> Image.Image:
    """Modes Pillow cannot resample well (palette, 1-bit, 16/32-bit) become 8-bit L/RGB/RGBA."""
    mode = image.mode
    if mode in ("RGB", "L", "RGBA", "LA", "CMYK"):
        return image
    if mode in ("P", "PA"):
        return image.convert("RGBA" if mode == "PA" or "transparency" in image.info else "RGB")
    if mode.startswith("I;16") or mode == "I":
        return image.point(lambda v: v / 256).convert("L")
    if mode == "F":
        return image.point(lambda v: v * 255).convert("L")
    if mode in ("RGBa", "La"):
        return image.convert("RGBA")
    return image.convert("RGB")


def load_image(
    data: bytes,
    limits: ImageLimits,
    *,
    field: str = "selfie_base64",
    error: type[TryOnError] = BadRequest,
    min_short_side: int = MIN_SHORT_SIDE,
    check_time: Callable[[], None] = _no_time_limit,
) -> Image.Image:
    """Decode, orient and normalise an uploaded image to 8-bit sRGB RGB within ``limits``.

    ``check_time`` is called before every block of compressed data the decoder reads: it raises
    (a ``TryOnError``) when the caller's time is up, which stops the decoding there.
    """
    image = _open(data, field, error, check_time)
    width, height = image.size
    if min(width, height) < min_short_side:
        raise error(
            f"{field} is too small: the short side must be at least {min_short_side} px (it is {min(width, height)} px)"
        )
    is_jpeg = image.format in ("JPEG", "MPO")
    try:
        # A JPEG's EXIF is in its header; other formats may keep it after the pixels (PNG eXIf),
        # and Pillow decodes them to find it, so they are decoded first (no draft for them anyway).
        if not is_jpeg:
            image.load()
        orientation = _orientation(image)
        display = (height, width) if orientation >= 5 else (width, height)
        display_box = _aspect_box(*display, limits)
        target = fit_size(display_box[2] - display_box[0], display_box[3] - display_box[1], limits)
        # Stored orientation from here on; the transpose runs last, on the small image.
        box = _display_to_stored(display_box, orientation, width, height)
        stored_target = (target[1], target[0]) if orientation >= 5 else target
        if is_jpeg:
            # DCT-scaled decoding to the largest 1/2, 1/4, 1/8 size still covering the target.
            # Scaling both sides by the same factor keeps this right for the rotated orientations.
            scale = stored_target[0] / (box[2] - box[0])
            image.draft(image.mode, (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))))
            image.load()
        icc = image.info.get("icc_profile")
        decoded = _resampleable(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(field, error) from None
    except _DECODE_ERRORS:
        raise error(f"{field} is a truncated or corrupt image") from None
    factor_x, factor_y = decoded.width / width, decoded.height / height
    decoded_box = (box[0] * factor_x, box[1] * factor_y, box[2] * factor_x, box[3] * factor_y)
    full = (0.0, 0.0, float(decoded.width), float(decoded.height))
    if stored_target != decoded.size or decoded_box != full:
        decoded = decoded.resize(stored_target, Image.Resampling.LANCZOS, box=decoded_box, reducing_gap=REDUCING_GAP)
    if orientation in _TRANSPOSE:
        decoded = decoded.transpose(_TRANSPOSE[orientation])
    result = to_srgb_rgb(decoded, icc if isinstance(icc, bytes) else None)
    if result is image:  # never hand on the file object with its metadata
        result = result.copy()
    result.info = {}
    return result


def load_garment_image(
    data: bytes, limits: ImageLimits, check_time: Callable[[], None] = _no_time_limit
) -> Image.Image:
    """The garment reference: the same intake, but a bad image is the URL's failure (422)."""
    return load_image(
        data,
        limits,
        field="clothing_image_url",
        error=UnusableGarmentImage,
        min_short_side=limits.min_side,
        check_time=check_time,
    )


UNUSABLE_MODEL_IMAGE: Final = "the image model returned an unusable image"


def _check_model_image_size(width: int, height: int, data_size: int, fmt: str) -> None:
    if width * height > (MAX_WEBP_PIXELS if fmt == "WEBP" else MAX_DECODED_PIXELS):
        raise UpstreamFailed("the image model returned an image that is too large")
    check_declared_size(width, height, data_size, "the model's image", UpstreamFailed, fmt)


def decode_model_image(data: bytes, *, keep_alpha: bool = False) -> Image.Image:
    """Decode an image a model returned; anything broken is the model's failure (502).

    ``keep_alpha`` keeps a cut-out's transparency (RGBA) instead of flattening it onto white.
    """
    fmt = sniff_format(data)
    if fmt not in ("JPEG", "PNG", "WEBP"):
        raise UpstreamFailed("the image model returned an unreadable image")
    try:
        # The same decoding budget as uploads: a model's answer is not trusted to be small.
        declared = webp_canvas_size(data) if fmt == "WEBP" else None
        if declared is not None:
            _check_model_image_size(*declared, len(data), fmt)
        if fmt == "JPEG":
            check_jpeg_scans(data, "the model's image", UpstreamFailed)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "WEBP"])
            _check_model_image_size(opened.width, opened.height, len(data), fmt)
            opened.load()
        icc = opened.info.get("icc_profile")
        decoded = _resampleable(opened)
        if keep_alpha and decoded.mode in ("RGBA", "LA"):
            image = decoded.convert("RGBA")
        else:
            image = to_srgb_rgb(decoded, icc if isinstance(icc, bytes) else None)
        if image is opened:
            image = image.copy()
        image.info = {}
    except UpstreamFailed as refused:
        message = refused.message if refused.message.startswith("the image model") else UNUSABLE_MODEL_IMAGE
        raise UpstreamFailed(message) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, *_DECODE_ERRORS):
        raise UpstreamFailed("the image model returned an unreadable image") from None
    return image

"""Local image steps between model calls: cut-outs placed on white, with a soft ground shadow.

Done in the Lambda with Pillow because a flat white background needs no model, and a model
call costs seconds where this costs milliseconds.
"""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFilter

from tryon_api.tryon.errors import UpstreamFailed

WHITE = (255, 255, 255)
SHADOW_OPACITY = 0.28


def require_cutout(image: Image.Image) -> Image.Image:
    """The background-removal result as RGBA; one without any transparency is a model failure."""
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        raise UpstreamFailed("the background removal returned no transparency")
    rgba = image.convert("RGBA")
    low, high = rgba.getchannel("A").getextrema()
    if high == 0:
        raise UpstreamFailed("the background removal found no person in the selfie")
    if low == 255:
        raise UpstreamFailed("the background removal returned no transparency")
    return rgba


def subject_box(cutout: Image.Image) -> tuple[int, int, int, int] | None:
    return cutout.getchannel("A").point(lambda a: 255 if a > 127 else 0).getbbox()


def ground_shadow(cutout: Image.Image) -> Image.Image | None:
    """A blurred ellipse under the subject's lowest point; None when the subject is cut by the frame's bottom."""
    box = subject_box(cutout)
    if box is None:
        return None
    left, _top, right, bottom = box
    height = cutout.height
    if bottom >= height - max(2, height // 50):
        return None  # a waist-up selfie: there is no floor to cast a shadow on
    shadow = Image.new("L", cutout.size, 0)
    span = right - left
    ellipse = Image.new("L", cutout.size, 0)
    ImageDraw.Draw(ellipse).ellipse(
        (left + span * 0.1, bottom - height * 0.015, right - span * 0.1, min(height - 1, bottom + height * 0.025)),
        fill=int(255 * SHADOW_OPACITY),
    )
    shadow.paste(ellipse.filter(ImageFilter.GaussianBlur(max(2, span // 20))))
    return shadow


def composite_on_white(cutout: Image.Image, *, shadow: bool = True) -> Image.Image:
    """The subject on pure white (RGB), with a soft ground shadow when its feet are in the frame."""
    rgba = require_cutout(cutout)
    canvas = Image.new("RGB", rgba.size, WHITE)
    if shadow:
        mask = ground_shadow(rgba)
        if mask is not None:
            canvas.paste((0, 0, 0), mask=mask)
    canvas.paste(rgba.convert("RGB"), mask=rgba.getchannel("A"))
    return canvas

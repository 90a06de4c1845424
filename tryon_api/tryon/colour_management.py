"""Colour management: every decoded image becomes 8-bit sRGB RGB, its embedded profile applied.

ImageCms (LittleCMS) is loaded on the first image that carries a profile; most never do.
"""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING, Any

from PIL import Image

from tryon_api.per_container import PerContainer

if TYPE_CHECKING:
    from PIL import ImageCms


def _srgb_profile() -> Any:
    from PIL import ImageCms

    return ImageCms.createProfile("sRGB")


_srgb: PerContainer[Any] = PerContainer(_srgb_profile)


@functools.lru_cache(maxsize=8)
def _srgb_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A transform from the embedded profile to sRGB (cached: phones use a handful of profiles)."""
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if mode == "RGB" and "srgb" in (ImageCms.getProfileDescription(source) or "").lower():
            return None  # already sRGB: nothing to do
        return ImageCms.buildTransform(source, _srgb.get(), mode, "RGB", ImageCms.Intent.PERCEPTUAL)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None  # a broken profile: keep the pixels as they are


def to_srgb_rgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """8-bit sRGB RGB: embedded colour profiles applied, alpha flattened onto white."""
    if image.mode in ("RGBA", "LA"):
        alpha = image.getchannel("A")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGB"), mask=alpha)
        image = background
    if icc and image.mode in ("RGB", "CMYK"):
        transform = _srgb_transform(icc, image.mode)
        if transform is not None:
            from PIL import ImageCms

            try:
                return transform.apply(image)
            except (ImageCms.PyCMSError, OSError, ValueError):
                pass
    return image if image.mode == "RGB" else image.convert("RGB")

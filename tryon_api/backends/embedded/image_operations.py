"""The embedded backend's single steps as plain functions on PIL images: cut out, composite, re-dress.

Also used by the Bedrock emulator to answer fake model calls, so they keep these signatures.
The whole request in one call is ``pipeline.render_try_on``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from tryon_api.backends.embedded.dressing import dress_person
from tryon_api.backends.embedded.garment_regions import refine_matte
from tryon_api.backends.embedded.person_analysis import analyse_person
from tryon_api.backends.embedded.reference_garment import prepare_reference
from tryon_api.backends.embedded.scenes import composite_environment_array, composite_studio_array, estimate_foreground
from tryon_api.garments.description import parse_description


def rgb_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _split(rgba: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(rgba.convert("RGBA"), dtype=np.uint8)
    return array[..., :3], array[..., 3].astype(np.float32) / 255.0


def remove_background(image: Image.Image) -> Image.Image:
    """The person cut out: RGBA with a soft matte and edge colours freed of the old background."""
    rgb = rgb_array(image)
    analysis = analyse_person(rgb)
    alpha = refine_matte(rgb, analysis.matte)
    foreground = np.clip(estimate_foreground(rgb, alpha), 0, 255).astype(np.uint8)
    return Image.fromarray(np.dstack([foreground, (alpha * 255 + 0.5).astype(np.uint8)]), "RGBA")


def composite_studio(rgba: Image.Image) -> Image.Image:
    """An RGBA cutout on a white studio sweep with a soft shadow."""
    rgb, alpha = _split(rgba)
    return Image.fromarray(composite_studio_array(rgb, alpha))


def composite_environment(rgba: Image.Image, style: str, seed: int) -> Image.Image:
    """An RGBA cutout in a painted scene for ``style`` (formal, casual, sporty, outdoor), fixed by ``seed``."""
    rgb, alpha = _split(rgba)
    return Image.fromarray(composite_environment_array(rgb, alpha, style, seed))


def recolour_garment(
    image: Image.Image,
    description: str,
    seed: int = 0,
    garment: Image.Image | None = None,
    garment_category: str = "auto",
) -> Image.Image:
    """The person dressed as described (and like ``garment`` if given), the original background kept."""
    dressed = dress_person(
        rgb_array(image),
        parse_description(description),
        seed,
        garment_albedo=prepare_reference(rgb_array(garment)) if garment is not None else None,
        garment_category=garment_category,
    )
    return Image.fromarray(dressed.rgb)

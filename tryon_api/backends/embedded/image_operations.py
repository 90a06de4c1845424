"""The embedded backend's image operations as plain functions on PIL images.

Also used by the Bedrock emulator to answer fake model calls, so they keep these signatures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from tryon_api.backends.embedded.dressing import dress_person
from tryon_api.backends.embedded.garment_regions import refine_matte
from tryon_api.backends.embedded.person_analysis import analyse_person
from tryon_api.backends.embedded.reference_garment import prepare_reference
from tryon_api.backends.embedded.scenes import (
    choose_scene,
    composite_environment_array,
    composite_studio_array,
    estimate_foreground,
)
from tryon_api.garments.description import GarmentDescription, parse_description
from tryon_api.tryon.deadline import Deadline


def _rgb(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _split(rgba: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(rgba.convert("RGBA"), dtype=np.uint8)
    return array[..., :3], array[..., 3].astype(np.float32) / 255.0


def remove_background(image: Image.Image) -> Image.Image:
    """The person cut out: RGBA with a soft matte and edge colours freed of the old background."""
    rgb = _rgb(image)
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
    image: Image.Image, description: str, seed: int = 0, garment: Image.Image | None = None
) -> Image.Image:
    """The person dressed as described (and like ``garment`` if given), the original background kept."""
    dressed = dress_person(
        _rgb(image),
        parse_description(description),
        seed,
        garment_albedo=prepare_reference(_rgb(garment)) if garment is not None else None,
    )
    return Image.fromarray(dressed.rgb)


@dataclass(frozen=True)
class TryOnResult:
    image: Image.Image
    description: GarmentDescription
    scene: str


def try_on(
    image: Image.Image,
    description: str,
    mode: str,
    seed: int,
    garment: Image.Image | None = None,
    deadline: Deadline | None = None,
) -> TryOnResult:
    """The whole preview: dress the person, then place them in the studio or a scene."""
    parsed = parse_description(description)
    reference = prepare_reference(_rgb(garment)) if garment is not None else None
    if deadline is not None:
        deadline.check()
    dressed = dress_person(_rgb(image), parsed, seed, garment_albedo=reference)
    if deadline is not None:
        deadline.check()
    if mode == "studio":
        return TryOnResult(Image.fromarray(composite_studio_array(dressed.rgb, dressed.matte)), parsed, "studio")
    scene = choose_scene(parsed.style, seed)
    output = composite_environment_array(dressed.rgb, dressed.matte, parsed.style, seed)
    return TryOnResult(Image.fromarray(output), parsed, scene)

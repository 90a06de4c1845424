"""The new fabric under the photo's light: albedo (colour, pattern or a garment photo) x weave x light."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tryon_api.backends.embedded import fabric
from tryon_api.backends.embedded.garment_coordinates import SHOULDER_CM, GarmentCoordinates
from tryon_api.backends.embedded.garment_regions import BodyGeometry
from tryon_api.backends.embedded.shading import LUMA, Shading, blur
from tryon_api.garments.colours import lookup_colour
from tryon_api.garments.description import GarmentItem, implied_colour

ALBEDO_CAP = 0.72  # linear; about sRGB 222, so light above the average still shows on white cloth


@dataclass(frozen=True)
class FabricLightParameters:
    """How cloth takes the light: its brightest colour, when it counts as dark, gloss and sheen."""

    albedo_cap: float = ALBEDO_CAP  # no cloth reflects all light: a white shirt keeps its folds
    dark_below: float = 0.05  # linear luminance under which cloth takes the steady light (no badges' ghosts)
    gloss_blur: float = 0.02  # shoulder widths: highlights follow the broad form only
    gloss_range: tuple[float, float] = (50.0, 99.0)  # percentiles of the light between which highlights rise
    gloss_strength: float = 0.05  # linear light added at the brightest, per unit of a material's gloss
    sheen_strength: float = 0.8  # a material's rim sheen, in units of its own colour


FABRIC_LIGHT = FabricLightParameters()


def item_colours(item: GarmentItem | None, fallback: str) -> list[np.ndarray]:
    colours = []
    colour = implied_colour(item) if item is not None else None
    if colour is None:
        colour = lookup_colour(fallback)
    assert colour is not None
    colours.append(fabric.srgb_to_linear(np.array(colour.rgb, np.float32)))
    if item is not None:
        colours.extend(fabric.srgb_to_linear(np.array(c.rgb, np.float32)) for c in item.secondary_colours)
    return colours


def render_fabric(
    item: GarmentItem | None,
    coords: GarmentCoordinates,
    shading: Shading,
    geometry: BodyGeometry,
    seed: int,
    fallback_colour: str = "navy",
    albedo: np.ndarray | None = None,
    pattern_shift: tuple[float, float] = (0.0, 0.0),
    patterns: fabric.PatternParameters = fabric.PATTERNS,
    weaves: fabric.WeaveParameters = fabric.WEAVES,
    light_parameters: FabricLightParameters = FABRIC_LIGHT,
) -> np.ndarray:
    """Linear RGB of the garment everywhere (the caller masks it): albedo x weave x light.

    ``pattern_shift`` (cm across, down) moves where a drawn pattern's repeat starts (one sample's phase).
    """
    pixel_cm = SHOULDER_CM / geometry.shoulder_width
    u, v = coords.u + pattern_shift[0], coords.v + pattern_shift[1]
    pattern = item.patterns[0] if item is not None and item.patterns else None
    material = item.materials[0] if item is not None and item.materials else None
    if albedo is None:
        albedo = fabric.pattern_albedo(pattern, u, v, item_colours(item, fallback_colour), pixel_cm, seed, patterns)
    # No cloth reflects all light: capped below white, a white shirt keeps its folds instead of clipping flat.
    p = light_parameters
    albedo = np.minimum(albedo, p.albedo_cap)
    texture = fabric.weave(material, u, v, pixel_cm, seed, weaves)
    contrast, gloss, sheen = fabric.MATERIAL_LIGHT.get(material or "", (1.0, 0.0, 0.0))
    # Dark cloth takes the steady light: its small absolute differences would show only the filled-in badges.
    darkness = np.clip(1 - (albedo @ LUMA) / p.dark_below, 0, 1)
    form = shading.broad * (1 - darkness) + shading.steady * darkness
    broad = np.power(form, contrast)
    light = broad * shading.fine * texture
    linear = albedo * light[..., None]
    if gloss > 0:
        # Highlights from the body's broad form only, soft and weak: the old garment's fine shading on dark
        # cloth is JPEG noise and filled-in badges, and raised to a highlight it showed as grey clouds.
        # Relative to the garment's own light, so even a flatly lit jacket keeps a soft sheen where it is brightest.
        sheen_light = blur(form, p.gloss_blur * geometry.shoulder_width)
        low, high = np.percentile(sheen_light, p.gloss_range)
        highlight = np.clip((sheen_light - low) / max(float(high - low), 0.05), 0, 1) ** 2 * gloss * p.gloss_strength
        linear = linear + highlight[..., None]
    if sheen > 0:
        rim = np.clip(1.0 - form, 0, 1) * sheen
        linear = linear + rim[..., None] * albedo * p.sheen_strength
    return linear.astype(np.float32)

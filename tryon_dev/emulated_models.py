"""The hosted models' answers inside the loopback emulator, made by the embedded backend.

Each fake model call is answered by the embedded backend's real image operations (MediaPipe
person cut-out, garment dressing, painted scenes), so what comes back really is the person
cut out, re-dressed or placed in a scene, and tests can check it.
"""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
from PIL import Image

from tryon_api.backends import embedded
from tryon_api.backends.embedded.reference_garment import garment_mask
from tryon_api.garments.colours import COLOURS
from tryon_api.garments.description import parse_description
from tryon_api.garments.prompts import garment_phrase
from tryon_api.garments.vocabulary import GarmentClass, Style

# The colours a vision model names in its description: plain words from the shared vocabulary.
DESCRIPTION_COLOURS = (
    "black", "white", "grey", "red", "burgundy", "blue", "navy", "green", "olive", "yellow", "orange",
    "purple", "pink", "brown", "beige",
)  # fmt: skip
# The body region a Search and Replace ``search_prompt`` names -> the garment classes it holds.
SEARCH_REGIONS: tuple[tuple[tuple[str, ...], frozenset[GarmentClass]], ...] = (
    (("lower body", "trousers", "pants", "jeans", "skirt", "shorts"), frozenset({"bottom"})),
    (("upper body", "shirt", "top", "jacket", "coat"), frozenset({"top", "outerwear"})),
)
# Scene words in an inpainting prompt -> the style whose scene the embedded painter draws.
SCENE_STYLES: tuple[tuple[tuple[str, ...], Style], ...] = (
    (("office", "meeting room", "lobby"), "formal"),
    (("park", "forest", "trail"), "outdoor"),
    (("street", "city", "urban"), "casual"),
)


def encode(image: Image.Image, output_format: str) -> bytes:
    buffer = io.BytesIO()
    if output_format == "jpeg":
        image.convert("RGB").save(buffer, "JPEG", quality=92)
    elif output_format == "webp":
        image.save(buffer, "WEBP", quality=92)
    else:
        image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def remove_background(image: Image.Image) -> Image.Image:
    """The person cut out as an RGBA PNG, as Stability's Remove Background returns it."""
    return embedded.remove_background(image)


def search_and_replace(image: Image.Image, search_prompt: str, prompt: str, seed: int) -> Image.Image:
    """The garments of ``prompt`` that lie in the region ``search_prompt`` names, put on the
    person; everything else (face, background) is kept."""
    words = search_prompt.lower()
    classes = next((region for names, region in SEARCH_REGIONS if any(n in words for n in names)), None)
    parsed = parse_description(prompt)
    seen: set[str] = set()
    kept = []
    for item in parsed.items:  # a long prompt names a garment again with other words: the first wins
        if item.noun not in seen and (classes is None or item.garment_class in classes):
            seen.add(item.noun)
            kept.append(item)
    description = garment_phrase(replace(parsed, items=tuple(kept))) if kept else prompt
    return embedded.recolour_garment(image.convert("RGB"), description, seed)


def scene_style(prompt: str) -> Style:
    text = prompt.lower()
    return next((style for names, style in SCENE_STYLES if any(n in text for n in names)), None) or (
        parse_description(prompt).style
    )


def inpaint(image: Image.Image, mask: Image.Image | None, prompt: str, seed: int) -> Image.Image:
    """The masked (white) or transparent area filled with the scene the prompt names."""
    rgba = image.convert("RGBA")
    if mask is not None:
        keep = 255 - np.asarray(mask.convert("L").resize(rgba.size), dtype=np.uint8)
        rgba.putalpha(Image.fromarray(keep))
    return embedded.composite_environment(rgba, scene_style(prompt), seed)


def try_on(person: Image.Image, description: str, mode: str, seed: int, garment: Image.Image | None) -> Image.Image:
    """What a try-on container returns: the person re-dressed, on white or in a scene."""
    return embedded.render_try_on(person, description, mode, seed, garment).image


def describe_garment(image: Image.Image) -> str:
    """What a vision model would say about a garment photo: colour, pattern, brightness."""
    rgb = np.asarray(image.convert("RGB"))
    pixels = rgb[garment_mask(rgb)]
    centre = np.median(pixels, axis=0)
    colour = min(DESCRIPTION_COLOURS, key=lambda name: float(np.linalg.norm(np.array(COLOURS[name]) - centre)))
    luminance = pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    pattern = "solid" if float(luminance.std()) < 30 else "patterned"
    return (
        f"Colour: {colour}. Pattern: {pattern}. Material: woven fabric with a matte finish. "
        f"Cut: regular fit. Details: {pattern} {colour} garment photographed on a plain background."
    )

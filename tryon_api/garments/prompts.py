"""The words sent to the image models, built from the parsed clothing description.

Plain functions, no AWS: what to search for in the selfie (the clothing region of the request's
garment class), what to paint there (the description made specific and photographic, merged
with what the vision model saw in the garment photo), what to avoid, and which scene to paint
in ``environment`` mode (chosen from the garment's style, fixed for a given seed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tryon_api.garments.description import GarmentClass, GarmentDescription, Style
from tryon_api.tryon.interface import Mode

MAX_PROMPT_CHARS = 10_000  # the Stability AI Image Services limit
MAX_GARMENT_NOTES_CHARS = 1200

# What is in the selfie now is unknown, so the search names the body region the new garment covers.
SEARCH_PROMPTS: dict[GarmentClass, str] = {
    "top": "upper body clothing",
    "outerwear": "upper body clothing",
    "bottom": "lower body clothing",
    "dress": "all clothing",
    "full_outfit": "all clothing",
}
# The request's garment_category overrides the class read from the words (auto: the words decide).
CATEGORY_SEARCH_PROMPTS: dict[str, str] = {
    "tops": "upper body clothing",
    "bottoms": "lower body clothing",
    "one-pieces": "all clothing",
}
NEGATIVE_PROMPT = (
    "deformed body, distorted face, changed face, extra arms, extra fingers, malformed hands, blurry, low "
    "resolution, cartoon, illustration, 3d render, text, watermark, logo, mannequin, duplicate person"
)
SCENES: dict[str, tuple[str, ...]] = {
    "office": (
        "a bright modern office with large windows and soft daylight, blurred desks behind",
        "a quiet office meeting room with glass walls and warm light, shallow depth of field",
        "an open-plan office lobby with plants and natural light, softly blurred",
    ),
    "street": (
        "a sunny city street with shop fronts and trees, softly blurred background",
        "a quiet european street with stone facades in late afternoon light, shallow depth of field",
        "an urban street crossing with cafes in soft overcast daylight, blurred background",
    ),
    "park": (
        "a green city park path with trees in soft daylight, blurred background",
        "a hiking trail at the edge of a forest in morning light, shallow depth of field",
    ),
}
STYLE_SCENES: dict[Style, str] = {"formal": "office", "casual": "street", "sporty": "park", "outdoor": "park"}
VISION_INSTRUCTION = (
    "Describe the garment in this photo for an image editing model, in one paragraph of at most 80 words: "
    "its type, exact colours, material and texture, pattern, cut and fit, and details such as collar, "
    "sleeves, buttons, zips, pockets or prints. Describe only the garment, not any person or the background."
)


@dataclass(frozen=True)
class GarmentEdit:
    search_prompt: str
    prompt: str
    negative_prompt: str


def _clean(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0]


def garment_phrase(description: GarmentDescription) -> str:
    """ "black leather jacket over a white t-shirt": the normalised garments, layers in order."""
    outer = [i for i in description.items if i.layer == "outer"]
    inner = [i for i in description.items if i.layer == "inner"]
    single = [i for i in description.items if i.layer == "single"]
    parts = [item.phrase for item in single]
    if outer:
        layered = " and ".join(i.phrase for i in outer)
        if inner:
            layered += " over a " + " and ".join(i.phrase for i in inner)
        parts.insert(0, layered)
    elif inner:
        parts.extend(i.phrase for i in inner)
    return " with ".join(parts) if parts else "the described clothing"


def garment_edit(
    description: GarmentDescription,
    mode: Mode,
    garment_notes: str | None = None,
    scene: str | None = None,
    garment_category: str = "auto",
) -> GarmentEdit:
    """The Search and Replace request: the user's words first, then the reference photo's details."""
    setting = "on a plain white studio background, soft even studio lighting" if mode == "studio" else f"in {scene}"
    prompt = (
        f"A photorealistic photo of the same person wearing a {garment_phrase(description)}. "
        f"Shopper's description: {_clean(description.text, 1000)}."
    )
    if garment_notes:
        prompt += f" Garment details from the reference photo: {_clean(garment_notes, MAX_GARMENT_NOTES_CHARS)}"
        prompt = prompt.rstrip(".") + "."
    prompt += (
        f" Natural fabric folds and seams, true-to-life colours, realistic fit on the body, {setting}, "
        "sharp focus, high detail."
    )
    return GarmentEdit(
        search_prompt=CATEGORY_SEARCH_PROMPTS.get(garment_category) or SEARCH_PROMPTS[description.garment_class],
        prompt=_clean(prompt, MAX_PROMPT_CHARS),
        negative_prompt=NEGATIVE_PROMPT,
    )


def scene_prompt(description: GarmentDescription, seed: int) -> str:
    """A background scene matching the outfit's style; the seed picks the variant, so it is repeatable."""
    options = SCENES[STYLE_SCENES[description.style]]
    scene = options[seed % len(options)]
    return (
        f"{scene}, photorealistic lifestyle photograph, natural perspective and lighting matching the person, "
        "eye-level camera"
    )


def vision_request_text(user_text: str) -> str:
    return f'{VISION_INSTRUCTION} The shopper calls it: "{_clean(user_text, 1000)}".'

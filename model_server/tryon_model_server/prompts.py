"""The prompts the server gives the edit model: one per case (garment image or text; studio or
environment). Callers send only the garment in words and the mode; the wording is ours. Each model
family names the reference photos its own way (``ReferenceNames``, in its adapter)."""

from __future__ import annotations

import re
from dataclasses import dataclass

KEEP_PERSON = (
    "Keep the person's face, identity, skin tone, hair, body shape and pose exactly as they are, "
    "and keep the framing of the photo."
)
BACKGROUNDS = {
    "studio": (
        "Place the person on a seamless pure white studio background with soft, even studio lighting "
        "and a faint natural shadow at their feet."
    ),
    "environment": (
        "Place the person in a realistic everyday setting that suits the outfit (a city street, an office "
        "or a park), in natural light, as a lifestyle photograph with a softly blurred background."
    ),
}
NEGATIVE_PROMPT = (
    "blurry, low quality, distorted face, changed identity, deformed hands, extra limbs, "
    "watermark, text, logo artefacts"
)


@dataclass(frozen=True)
class EditPrompt:
    prompt: str
    negative_prompt: str


@dataclass(frozen=True)
class ReferenceNames:
    """How the prompt names the person photo and the garment photo: each family's pipeline shows
    them to the model in that order (person first), and names them its own way."""

    person: str
    garment: str


def tryon_prompt(description: str, mode: str, has_garment_image: bool, names: ReferenceNames) -> EditPrompt:
    description = " ".join(description.split()).rstrip(".")
    if has_garment_image:
        person, garment = names.person, names.garment
        dress = (
            f"{person[:1].upper()}{person[1:]} is a photo of a person; {garment} is a garment. Dress the person from "
            f"{person} in the garment from {garment} ({description}). Reproduce the garment faithfully: its cut, "
            "colours, print, logos, text and fabric; fit it naturally to the body with realistic folds."
        )
    else:
        dress = (
            f"Change the clothes of the person in the picture to: {description}. Draw the garments realistically, "
            "fitted to the body with natural folds, in the colours, materials and patterns described."
        )
    return EditPrompt(prompt=f"{dress} {KEEP_PERSON} {BACKGROUNDS[mode]}", negative_prompt=NEGATIVE_PROMPT)


def is_refused(description: str, blocked_terms: tuple[str, ...]) -> bool:
    """True when the description asks for something the server refuses (undressing a person)."""
    text = description.lower()
    return any(re.search(rf"(?<![a-z]){re.escape(term)}(?![a-z])", text) for term in blocked_terms)

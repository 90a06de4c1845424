"""The prompts the server gives the edit model: one per case (garment image or text; studio or
environment). Callers send only the garment in words and the mode; the wording is ours. Each model
family names the reference photos its own way (``ReferenceNames``, in its adapter)."""

from __future__ import annotations

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


# The request's garment_category: which clothes change and which stay (absent or auto: the words decide).
CATEGORY_REGIONS = {
    "tops": "Change only the upper-body garment; keep the trousers, skirt and shoes exactly as they are.",
    "bottoms": "Change only the lower-body garment (trousers, skirt or shorts) down to the ankles; keep the top "
    "and shoes exactly as they are.",
    "one-pieces": "Replace the whole outfit from the shoulders to the legs with this one-piece garment.",
}


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


def tryon_prompt(
    description: str, mode: str, has_garment_image: bool, names: ReferenceNames, garment_category: str = "auto"
) -> EditPrompt:
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
    if garment_category in CATEGORY_REGIONS:
        dress = f"{dress} {CATEGORY_REGIONS[garment_category]}"
    return EditPrompt(prompt=f"{dress} {KEEP_PERSON} {BACKGROUNDS[mode]}", negative_prompt=NEGATIVE_PROMPT)

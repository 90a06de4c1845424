"""The whole embedded preview for one request: parse the description, dress the person, place them.

The backend (``backend.py``), the Bedrock emulator, the sample and benchmark scripts call
``render_try_on``; the single steps are in ``image_operations``.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from tryon_api.backends.embedded.dressing import dress_person
from tryon_api.backends.embedded.image_operations import rgb_array
from tryon_api.backends.embedded.leg_regions import resolve_category
from tryon_api.backends.embedded.parameters import PREVIEW_DEFAULTS, PreviewParameters
from tryon_api.backends.embedded.reference_garment import prepare_reference
from tryon_api.backends.embedded.scenes import choose_scene, composite_environment_array, composite_studio_array
from tryon_api.garments.description import GarmentDescription, parse_description
from tryon_api.tryon.deadline import Deadline


@dataclass(frozen=True)
class PreviewRendering:
    """The preview's picture, with the description it was dressed from and the scene it chose."""

    image: Image.Image
    description: GarmentDescription
    scene: str
    garment_category: str = "tops"  # what was re-dressed: tops, bottoms or one-pieces (``auto`` resolved)


def render_try_on(
    image: Image.Image,
    description: str,
    mode: str,
    seed: int,
    garment: Image.Image | None = None,
    deadline: Deadline | None = None,
    garment_category: str = "auto",
    parameters: PreviewParameters = PREVIEW_DEFAULTS,
) -> PreviewRendering:
    """The whole preview: dress the person, then place them in the studio or a scene.

    ``garment_category`` (``auto``, ``tops``, ``bottoms``, ``one-pieces``): which of the body is re-dressed.
    """
    parsed = parse_description(description)
    category = resolve_category(garment_category, parsed)
    reference = prepare_reference(rgb_array(garment)) if garment is not None else None
    if deadline is not None:
        deadline.check()
    dressed = dress_person(
        rgb_array(image), parsed, seed, garment_albedo=reference, garment_category=category, parameters=parameters
    )
    if deadline is not None:
        deadline.check()
    if mode == "studio":
        return PreviewRendering(
            Image.fromarray(composite_studio_array(dressed.rgb, dressed.matte, dressed.clean_edge, parameters.studio)),
            parsed,
            "studio",
            category,
        )
    scene = choose_scene(parsed.style, seed)
    output = composite_environment_array(
        dressed.rgb, dressed.matte, parsed.style, seed, dressed.clean_edge, parameters.environment
    )
    return PreviewRendering(Image.fromarray(output), parsed, scene, category)

"""The embedded CPU backend: an offline try-on *preview* made by image processing on one CPU.

Loaded only when chosen (``TRYON_BACKEND=embedded``); its dependencies (MediaPipe's bundled
models, OpenCV) live in requirements-embedded.txt and never in the Lambda package.

Public image operations (PIL in, PIL out), stable for other modules and the emulators:

- ``remove_background(image) -> RGBA``: the person cut out with a soft, defringed matte.
- ``composite_studio(rgba) -> RGB``: the cutout on a white seamless with a soft shadow.
- ``composite_environment(rgba, style, seed) -> RGB``: the cutout in a painted street, office or
  park scene chosen from ``style`` (formal, casual, sporty, outdoor), the same for the same seed.
- ``recolour_garment(image, description, seed=0, garment=None, garment_category="auto") -> RGB``:
  the person dressed as described (colour, pattern, material, layers, cut), original background kept.
- ``render_try_on(image, description, mode, seed, garment=None, deadline=None, garment_category="auto",
  parameters=PREVIEW_DEFAULTS) -> PreviewRendering``: all of it (``pipeline``).

``garment_category`` (auto, tops, bottoms, one-pieces) says which of the body is re-dressed
(``leg_regions``); a seed decides a sample's drape, key light and pattern phase (``sample_variation``);
every stage's tuning is a named parameter dataclass, bundled in ``parameters.PreviewParameters``.
"""

from tryon_api.backends.embedded.backend import EmbeddedTryOnBackend
from tryon_api.backends.embedded.image_operations import (
    composite_environment,
    composite_studio,
    recolour_garment,
    remove_background,
)
from tryon_api.backends.embedded.pipeline import PreviewRendering, render_try_on

__all__ = [
    "EmbeddedTryOnBackend",
    "PreviewRendering",
    "composite_environment",
    "composite_studio",
    "recolour_garment",
    "remove_background",
    "render_try_on",
]

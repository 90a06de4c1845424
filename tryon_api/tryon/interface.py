"""What crosses the pipeline's boundary: the validated request, and the interface backends implement.

The pipeline owns these types, so backends depend on the pipeline and never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from PIL import Image

    from tryon_api.tryon.deadline import Deadline

Mode = Literal["studio", "environment"]
# ``fetch(url, deadline) -> bytes``: the garment image's bytes, or a TryOnError.
GarmentFetcher = Callable[[str, "Deadline"], bytes]
MODES: tuple[Mode, ...] = ("studio", "environment")
# The garment's category, as try-on peers take it: "auto" guesses it from the description.
GARMENT_CATEGORIES: tuple[str, ...] = ("auto", "tops", "bottoms", "one-pieces")
# The answer's image formats (the request's output_format) and the MIME type each is answered as.
OUTPUT_FORMATS: dict[str, str] = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


@dataclass(frozen=True)
class TryOnRequest:
    """A validated request: every field checked, the selfie decoded from base64."""

    selfie_bytes: bytes = field(repr=False)
    clothing_description: str
    mode: Mode
    clothing_image_url: str | None = None
    garment_category: str = "auto"  # one of GARMENT_CATEGORIES
    output_format: str = "jpeg"  # one of OUTPUT_FORMATS


@dataclass(frozen=True)
class ImageLimits:
    """What a backend accepts as input; the intake resizes the selfie to fit."""

    max_side: int = 1536
    max_pixels: int = 1_572_864  # about 1.5 MP
    min_side: int = 64
    min_aspect: float = 1 / 2.5  # width / height
    max_aspect: float = 2.5


@dataclass(frozen=True)
class GenerationInput:
    """What every backend receives: decoded, normalised RGB images and the text."""

    person: Image.Image = field(repr=False)
    clothing_description: str
    mode: Mode
    seed: int
    garment: Image.Image | None = field(default=None, repr=False)
    garment_category: str = "auto"


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes = field(repr=False)
    mime_type: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PersonFinding:
    people: int  # people (faces) found in the selfie
    age_ranges: tuple[tuple[int, int], ...] = ()  # (low, high) estimated age per face, if known


class PersonDetector(Protocol):
    """Finds the people in a selfie before any model is paid for (tryon_api/person_check/)."""

    name: str

    def find_people(self, image: Image.Image) -> PersonFinding:
        """``image``: the decoded, normalised RGB selfie. Raises ``TryOnError`` subclasses only."""
        ...


class ContentModeration(Protocol):
    """The moderation stage (tryon_api/moderation/): raises ``ContentFiltered`` (422) to refuse and
    ``DependencyUnavailable`` (503) when it cannot tell; returns when the content may go on."""

    def check_request(self, description: str, garment: Image.Image | None, person: PersonFinding | None) -> None:
        """Before any model is paid for: the description and the garment photo."""
        ...

    def check_output(self, jpeg: bytes, person: PersonFinding | None) -> None:
        """Before a generated image is returned or stored: its exact bytes (JPEG or PNG; a WebP
        answer is checked as a lossless PNG of its pixels)."""
        ...


class TryOnBackend(Protocol):
    name: str
    input_limits: ImageLimits

    def generate(self, generation: GenerationInput, deadline: Deadline) -> GeneratedImage:
        """Dress the person in ``generation`` and return the encoded image.

        Raises ``tryon_api.tryon.errors.TryOnError`` subclasses for every failure it understands.
        """
        ...

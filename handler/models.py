"""Typed models: the request as it arrives on the wire, and what flows between the stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, StrictStr

Mode = Literal["studio", "environment"]
MODES: tuple[Mode, ...] = ("studio", "environment")
MAX_DESCRIPTION_CHARS = 1000
MAX_URL_CHARS = 2048


class GenerateImageRequest(BaseModel):
    """The JSON body of ``POST /generate_image`` (documentation and first-pass typing)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    selfie_base64: StrictStr = Field(
        description="Base64 of a selfie (JPEG, PNG, WebP or HEIC); a data: URL prefix, the "
        "URL-safe alphabet and line breaks are accepted.",
        min_length=1,
    )
    clothing_description: StrictStr = Field(
        description="The clothing to try on, e.g. 'Black leather jacket with white t-shirt "
        "underneath'. Trimmed; 1 to 1000 characters.",
        min_length=1,
        max_length=MAX_DESCRIPTION_CHARS,
    )
    mode: Mode = Field(description="'studio': clean white background; 'environment': a lifestyle scene.")
    clothing_image_url: StrictStr | None = Field(
        default=None,
        description="Optional absolute http(s) URL of a reference image of the garment.",
        max_length=MAX_URL_CHARS,
    )


class GenerateImageResponse(BaseModel):
    image_base64: str = Field(description="The generated image, base64 (standard alphabet).")
    mime_type: str = Field(description="The generated image's format, image/jpeg.")


class ErrorResponse(BaseModel):
    error: str = Field(description="A short, lower-case message naming the field and the problem.")


@dataclass(frozen=True)
class TryOnRequest:
    """A validated request: every field checked, the selfie decoded from base64."""

    selfie_bytes: bytes = field(repr=False)
    clothing_description: str
    mode: Mode
    clothing_image_url: str | None = None


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


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes = field(repr=False)
    mime_type: str
    details: dict[str, Any] = field(default_factory=dict)

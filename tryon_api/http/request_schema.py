"""The JSON shapes of the HTTP contract (request, answer, error), for the OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from tryon_api.http.request_parsing import MAX_DESCRIPTION_CHARS, MAX_URL_CHARS
from tryon_api.tryon.interface import Mode


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

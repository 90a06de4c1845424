"""The JSON shapes of the HTTP contract (request, answer, error), for the OpenAPI document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from tryon_api.http.request_parsing import MAX_DESCRIPTION_CHARS, MAX_URL_CHARS
from tryon_api.jobs.interface import MAX_SAMPLES, MAX_SEED
from tryon_api.keys.credentials import ORIGIN
from tryon_api.keys.service import (
    DEFAULT_TOKEN_IMAGES,
    DEFAULT_TOKEN_TTL_SECONDS,
    MAX_TOKEN_IMAGES,
    MAX_TOKEN_TTL,
    MIN_TOKEN_IMAGES,
    MIN_TOKEN_TTL,
)
from tryon_api.tryon.interface import Mode

# Where the API takes a URL: an absolute http(s) URL (the full rules are in the field's description).
URL_PATTERN = r"^https?://"
GarmentCategory = Literal["auto", "tops", "bottoms", "one-pieces"]
OutputFormat = Literal["jpeg", "png", "webp"]


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
        "underneath'. Trimmed before its length is checked: 1 to 1000 characters after trimming.",
        min_length=1,
        max_length=MAX_DESCRIPTION_CHARS,
    )
    mode: Mode = Field(description="'studio': clean white background; 'environment': a lifestyle scene.")
    clothing_image_url: StrictStr | None = Field(
        default=None,
        description="Optional absolute http(s) URL of a reference image of the garment. Trimmed before it is "
        "checked (at most 2048 characters); an empty string means absent.",
        max_length=MAX_URL_CHARS,
        pattern=URL_PATTERN,
    )
    garment_category: GarmentCategory = Field(
        default="auto",
        description="The body region the garment replaces: 'tops', 'bottoms', 'one-pieces' (dresses, "
        "jumpsuits), or 'auto' (read from the description).",
    )
    output_format: OutputFormat = Field(
        default="jpeg", description="The answer's image format; mime_type says which came back."
    )


class GenerateImageResponse(BaseModel):
    image_base64: str = Field(description="The generated image, base64 (standard alphabet).")
    mime_type: str = Field(description="The generated image's format: image/jpeg, image/png or image/webp.")


class ErrorResponse(BaseModel):
    error: str = Field(description="A short, lower-case message naming the field and the problem.")


class SubmitJobRequest(GenerateImageRequest):
    """The JSON body of ``POST /jobs``: the synchronous call's fields and the job's own."""

    num_samples: StrictInt = Field(
        default=1, ge=1, le=MAX_SAMPLES, description="How many images to make, each with its own seed (1 to 4)."
    )
    seed: StrictInt | None = Field(
        default=None,
        ge=0,
        le=MAX_SEED,
        description="The first sample's seed (sample n uses seed+n). Default: the request's own seed, as "
        "POST /generate_image uses, so the same request gives the same images.",
    )
    webhook_url: StrictStr | None = Field(
        default=None,
        description="Optional absolute http(s) URL that gets the job.succeeded or job.failed event, signed as "
        "Standard Webhooks sign (webhook-id, webhook-timestamp, webhook-signature) and retried for about "
        "27.5 hours. Trimmed before it is checked; it passes the same checks as clothing_image_url.",
        max_length=MAX_URL_CHARS,
        pattern=URL_PATTERN,
    )


JobStatus = Literal["queued", "running", "succeeded", "failed"]


class JobAccepted(BaseModel):
    id: str = Field(description="The job's id: 128 random bits, URL-safe base64 (22 characters).")
    status: Literal["queued"] = Field(description="Always 'queued' when accepted.")


class JobImage(BaseModel):
    url: str | None = Field(
        default=None,
        description="The sample at full quality: a short-lived URL (an S3 presigned GET on AWS) that works "
        "until url_expires_at (at most 1 hour, never past the job) and answers 403 once expired, altered or "
        "its job deleted. Absent with ?images=base64.",
        pattern=URL_PATTERN,
    )
    url_expires_at: str | None = Field(default=None, description="When url stops working (ISO 8601, UTC).")
    image_base64: str | None = Field(
        default=None,
        description="With ?images=base64 only: the sample inline (standard base64), fitted with the others "
        "into one answer under 6 MB.",
    )
    mime_type: str = Field(description="The sample's format: image/jpeg, image/png or image/webp.")
    seed: int = Field(description="The seed this sample was made with: send it back to reproduce it.")


class JobFailure(BaseModel):
    message: str = Field(description="The message POST /generate_image would have answered.")
    status: int = Field(description="The status POST /generate_image would have answered.")


class JobDocument(BaseModel):
    """A job as GET /jobs/{job_id} answers it (and its webhook event's data)."""

    id: str
    status: JobStatus
    created_at: str = Field(description="When the job was submitted (ISO 8601, UTC).")
    updated_at: str = Field(description="When the job last changed (ISO 8601, UTC).")
    num_samples: int
    seed: int = Field(description="The first sample's seed.")
    garment_category: GarmentCategory = Field(default="auto", description="As submitted.")
    output_format: OutputFormat = Field(default="jpeg", description="As submitted.")
    expires_at: str | None = Field(
        default=None, description="Finished jobs: when the job and its images are removed (ISO 8601, UTC)."
    )
    images: list[JobImage] | None = Field(default=None, description="When succeeded: the samples, in seed order.")
    error: JobFailure | None = Field(default=None, description="When failed: what the synchronous call would answer.")


class ClientTokenRequest(BaseModel):
    """The JSON body of ``POST /client_tokens``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    origin: StrictStr = Field(
        description="The web page's exact origin (scheme, lower-case host, optional port), e.g. "
        "https://shop.example: the token works only in requests whose Origin header is this.",
        pattern=ORIGIN.pattern,
    )
    ttl_seconds: StrictInt = Field(
        default=DEFAULT_TOKEN_TTL_SECONDS,
        ge=MIN_TOKEN_TTL,
        le=MAX_TOKEN_TTL,
        description="The token's lifetime in seconds.",
    )
    max_images: StrictInt = Field(
        default=DEFAULT_TOKEN_IMAGES,
        ge=MIN_TOKEN_IMAGES,
        le=MAX_TOKEN_IMAGES,
        description="The most images the token may make (a job counts its samples).",
    )


class ClientToken(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`; never store it.")
    expires_at: str = Field(description="When it stops working, ISO 8601 UTC.")


class KeyLimits(BaseModel):
    per_minute: int | None = Field(description="Generating requests per UTC minute; null: unlimited.")
    per_month: int | None = Field(description="Images per UTC calendar month; null: unlimited.")


class UsageReport(BaseModel):
    key_id: str = Field(description="The key's public id (a plain key's: legacy-<digest>).")
    name: str | None = Field(description="The key's name; null for a plain key.")
    month: str = Field(description="The UTC month reported, YYYY-MM.")
    images: int = Field(description="Images counted this month (a job counts its samples when it is accepted).")
    requests: int = Field(description="Generating requests accepted this month.")
    limits: KeyLimits
    resets_at: str = Field(description="When the month (UTC) turns and the quota starts afresh, ISO 8601.")

"""A job's record as plain JSON data (what SQLite stores, what DynamoDB can store) and as the
API answers it (``GET /jobs/{id}`` and the webhook's ``data``), written once: its images as
short-lived URLs, or inline base64 when asked (``?images=base64``)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from tryon_api.jobs.interface import Job, JobBlobs, JobError, JobImage
from tryon_api.results.interface import ResultLinks, link_expiry
from tryon_api.tryon.interface import OUTPUT_FORMATS


def job_to_data(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "owner": job.owner,
        "status": job.status,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "expires_at": job.expires_at,
        "mode": job.mode,
        "clothing_description": job.clothing_description,
        "num_samples": job.num_samples,
        "seed": job.seed,
        "clothing_image_url": job.clothing_image_url,
        "webhook_url": job.webhook_url,
        "images": [{"seed": i.seed, "mime_type": i.mime_type, "blob_key": i.blob_key} for i in job.images],
        "error": {"message": job.error.message, "status": job.error.status} if job.error else None,
        "attempts": job.attempts,
        "input_keys": list(job.input_keys),
        "garment_category": job.garment_category,
        "output_format": job.output_format,
    }


def job_from_data(data: dict[str, Any]) -> Job:
    error = data.get("error")
    return Job(
        id=str(data["id"]),
        owner=str(data["owner"]),
        status=data["status"],
        created_at=float(data["created_at"]),
        updated_at=float(data["updated_at"]),
        expires_at=int(data["expires_at"]),
        mode=str(data["mode"]),
        clothing_description=str(data["clothing_description"]),
        num_samples=int(data["num_samples"]),
        seed=int(data["seed"]),
        clothing_image_url=data.get("clothing_image_url"),
        webhook_url=data.get("webhook_url"),
        images=tuple(
            JobImage(seed=int(i["seed"]), mime_type=str(i["mime_type"]), blob_key=str(i["blob_key"]))
            for i in data.get("images") or ()
        ),
        error=JobError(str(error["message"]), int(error["status"])) if error else None,
        attempts=int(data.get("attempts") or 0),
        input_keys=tuple(str(k) for k in data.get("input_keys") or ()),
        garment_category=str(data.get("garment_category") or "auto"),
        output_format=str(data.get("output_format") or "jpeg"),
    )


def iso_time(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job_document(job: Job, images: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The job as the API answers it: its images (``images``: links or inline base64) when
    succeeded, the error when failed."""
    document: dict[str, Any] = {
        "id": job.id,
        "status": job.status,
        "created_at": iso_time(job.created_at),
        "updated_at": iso_time(job.updated_at),
        "num_samples": job.num_samples,
        "seed": job.seed,
        "garment_category": job.garment_category,
        "output_format": job.output_format,
    }
    if job.status == "succeeded":
        document["expires_at"] = iso_time(job.expires_at)
        document["images"] = images or []
    elif job.status == "failed" and job.error is not None:
        document["expires_at"] = iso_time(job.expires_at)
        document["error"] = {"message": job.error.message, "status": job.error.status}
    return document


def linked_images(job: Job, links: ResultLinks, now: float, ttl_seconds: int) -> list[dict[str, Any]]:
    """Each image as a short-lived URL: it works until ``ttl_seconds`` from now, or the job's end."""
    expires_at = link_expiry(now, ttl_seconds, job.expires_at)
    return [
        {
            "url": links.link(image.blob_key, expires_at),
            "url_expires_at": iso_time(expires_at),
            "mime_type": image.mime_type,
            "seed": image.seed,
        }
        for image in job.images
    ]


# Room for each image's JSON around its base64 (and the job's own fields) in one answer.
INLINE_IMAGE_OVERHEAD = 4096


def inline_images(job: Job, blobs: JobBlobs, max_response_bytes: int) -> list[dict[str, Any]]:
    """Each image inline as base64 (``?images=base64``): when they do not all fit one answer,
    each is re-encoded to fit its share of it (the stored images stay at full quality)."""
    stored = [(image, blobs.get(image.blob_key)) for image in job.images]
    count = max(1, len(stored))
    total = sum(4 * -(-len(data) // 3) + INLINE_IMAGE_OVERHEAD for _, data in stored) + INLINE_IMAGE_OVERHEAD
    answer = []
    for image, data in stored:
        if total <= max_response_bytes:
            encoded, mime_type = base64.b64encode(data).decode("ascii"), image.mime_type
        else:
            from tryon_api.tryon.interface import GeneratedImage
            from tryon_api.tryon.response_image import encode_response_image

            share = (max_response_bytes - INLINE_IMAGE_OVERHEAD * (count + 1)) // count
            output_format = next(f for f, m in OUTPUT_FORMATS.items() if m == image.mime_type)
            encoded, mime_type = encode_response_image(GeneratedImage(data, image.mime_type), share, output_format)
        answer.append({"image_base64": encoded, "mime_type": mime_type, "seed": image.seed})
    return answer

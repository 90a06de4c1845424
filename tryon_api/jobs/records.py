"""A job's record as plain JSON data (what SQLite stores, what DynamoDB can store) and as the
API answers it (``GET /jobs/{id}`` and the webhook body), written once."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from tryon_api.jobs.interface import Job, JobBlobs, JobError, JobImage


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
    )


def iso_time(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job_document(job: Job, blobs: JobBlobs) -> dict[str, Any]:
    """The job as the API answers it: images (base64) when succeeded, the error when failed."""
    document: dict[str, Any] = {
        "id": job.id,
        "status": job.status,
        "created_at": iso_time(job.created_at),
        "updated_at": iso_time(job.updated_at),
        "num_samples": job.num_samples,
        "seed": job.seed,
    }
    if job.status == "succeeded":
        document["expires_at"] = iso_time(job.expires_at)
        document["images"] = [
            {
                "image_base64": base64.b64encode(blobs.get(image.blob_key)).decode("ascii"),
                "mime_type": image.mime_type,
                "seed": image.seed,
            }
            for image in job.images
        ]
    elif job.status == "failed" and job.error is not None:
        document["expires_at"] = iso_time(job.expires_at)
        document["error"] = {"message": job.error.message, "status": job.error.status}
    return document

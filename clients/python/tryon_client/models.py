"""What the client returns: plain, typed, immutable values built from the API's JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GeneratedImage:
    """``POST /generate_image``'s answer, decoded: the image's bytes and its MIME type."""

    data: bytes = field(repr=False)
    mime_type: str


@dataclass(frozen=True)
class JobImage:
    """One sample: a short-lived ``url`` (``download`` fetches it), or inline ``data`` when asked."""

    seed: int
    mime_type: str
    url: str | None = None
    url_expires_at: str | None = None
    data: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class JobFailure:
    message: str
    status: int


@dataclass(frozen=True)
class Job:
    id: str
    status: str  # queued, running, succeeded or failed
    num_samples: int = 1
    seed: int | None = None
    images: tuple[JobImage, ...] = ()
    error: JobFailure | None = None
    created_at: str | None = None
    updated_at: str | None = None
    expires_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        import base64

        images = tuple(
            JobImage(
                seed=int(image["seed"]),
                mime_type=str(image["mime_type"]),
                url=image.get("url"),
                url_expires_at=image.get("url_expires_at"),
                data=base64.b64decode(image["image_base64"]) if "image_base64" in image else None,
            )
            for image in data.get("images") or ()
        )
        error = data.get("error")
        return cls(
            id=str(data["id"]),
            status=str(data["status"]),
            num_samples=int(data.get("num_samples") or 1),
            seed=data.get("seed"),
            images=images,
            error=JobFailure(str(error["message"]), int(error["status"])) if error else None,
            created_at=data.get("created_at"),
            updated_at=data.get("updated_at"),
            expires_at=data.get("expires_at"),
            raw=data,
        )

"""What crosses the jobs package's boundary: a job's record, and the store, blob and queue
interfaces its adapters implement (DynamoDB, S3 and SQS on AWS; SQLite and a data folder locally).

The jobs package sits above the pipeline (it runs ``TryOnService``) and below the entry points
(the HTTP front and the queue worker); adapters depend on these types, never the other way round.
Selfie and garment bytes live only in the blob store, never in a job's record or a queue message.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Literal, Protocol

JobStatus = Literal["queued", "running", "succeeded", "failed"]
FINISHED: frozenset[str] = frozenset({"succeeded", "failed"})
IN_FLIGHT: frozenset[str] = frozenset({"queued", "running"})

MAX_SAMPLES = 4
MAX_SEED = 2**31 - 1


def selfie_key(job_id: str) -> str:
    return f"inputs/{job_id}/selfie"


RESULTS_PREFIX = "results/"
# A result's file extension by its MIME type (the key a result URL names).
RESULT_EXTENSIONS: dict[str, str] = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def result_key(job_id: str, index: int, mime_type: str = "image/jpeg") -> str:
    return f"{RESULTS_PREFIX}{job_id}/{index}.{RESULT_EXTENSIONS[mime_type]}"


# A queue message says what to do next for one job: run it, or (re)deliver its webhook.
MessageKind = Literal["run", "webhook"]


def job_owner(api_key: str) -> str:
    """Who owns a job: a digest of the API key, so a record never holds the key itself."""
    return hmac.new(b"tryon-job-owner", api_key.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class JobImage:
    seed: int
    mime_type: str
    blob_key: str  # where the blob store keeps the encoded image


@dataclass(frozen=True)
class JobError:
    """The message and status the synchronous call would have answered."""

    message: str
    status: int


@dataclass(frozen=True)
class Job:
    id: str  # 128 random bits, URL-safe
    owner: str  # job_owner(api_key)
    status: JobStatus
    created_at: float  # epoch seconds (UTC); answered as ISO 8601
    updated_at: float
    expires_at: int  # epoch seconds: the store's own expiry removes the record (DynamoDB TTL, SQLite sweep)
    mode: str
    clothing_description: str
    num_samples: int
    seed: int
    clothing_image_url: str | None = None
    webhook_url: str | None = None
    images: tuple[JobImage, ...] = ()
    error: JobError | None = None
    attempts: int = 0  # runs started (a run picked up again after a crash counts again)
    input_keys: tuple[str, ...] = field(default=())  # blob keys of the selfie (and any other input)
    garment_category: str = "auto"
    output_format: str = "jpeg"


@dataclass(frozen=True)
class QueueMessage:
    kind: MessageKind
    job_id: str
    attempt: int = 1  # webhook deliveries: the attempt this message makes
    # Webhook retries: when the attempt is due (epoch seconds; 0: now). A longer wait than one queue
    # delay (webhooks.MAX_HOP_SECONDS) is a chain of delayed messages, re-sent until this time comes.
    due_at: int = 0


class JobLimitReached(Exception):
    """The owner already has the most jobs in flight that a key may have (answered 429)."""


class JobStore(Protocol):
    def create(self, job: Job, *, max_in_flight: int) -> None:
        """Store a new queued job; raises JobLimitReached when the owner has ``max_in_flight``."""
        ...

    def get(self, job_id: str) -> Job | None: ...

    def claim(self, job_id: str, now: float) -> Job | None:
        """Atomically move a queued job (or a running one left by a crashed worker) to running;
        None when it is finished, deleted or unknown, so a redelivered message runs nothing twice."""
        ...

    def finish(self, job: Job) -> None:
        """Record a finished job (status, images or error, new expiry) and release its in-flight slot."""
        ...

    def delete(self, job_id: str) -> None:
        """Remove the record (and release its slot if in flight); a missing id is not an error."""
        ...


class BlobStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, keys: list[str]) -> None:
        """Delete these keys; missing keys are not an error."""
        ...


class JobBlobs(Protocol):
    """The part of a blob store that reading a finished job needs."""

    def get(self, key: str) -> bytes: ...


class JobQueue(Protocol):
    def send(self, message: QueueMessage, delay_seconds: int = 0) -> None:
        """Queue ``message``; ``delay_seconds`` (0-900, SQS's own bound) postpones it."""
        ...

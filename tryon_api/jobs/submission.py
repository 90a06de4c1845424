"""Submitting and deleting jobs: what POST /jobs and DELETE /jobs/{id} do once the request is valid."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from tryon_api.jobs.dependencies import JobDependencies
from tryon_api.jobs.interface import Job, QueueMessage, selfie_key
from tryon_api.tryon.interface import TryOnRequest

logger = Logger(child=True)
metrics = Metrics()

# 128 random bits as URL-safe base64 (22 characters): nothing else is a job id.
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
# A queued job waits at most this long past its results' lifetime before the store drops it.
QUEUED_GRACE_HOURS = 24


@dataclass(frozen=True)
class JobOptions:
    num_samples: int
    seed: int
    webhook_url: str | None


def new_job_id() -> str:
    return secrets.token_urlsafe(16)


def submit_job(request: TryOnRequest, options: JobOptions, owner: str, deps: JobDependencies) -> Job:
    """Record the job (or JobLimitReached), keep its selfie, queue its run."""
    now = deps.clock()
    job_id = new_job_id()
    key = selfie_key(job_id)
    job = Job(
        id=job_id,
        owner=owner,
        status="queued",
        created_at=now,
        updated_at=now,
        expires_at=int(now + (deps.settings.jobs_result_ttl_hours + QUEUED_GRACE_HOURS) * 3600),
        mode=request.mode,
        clothing_description=request.clothing_description,
        num_samples=options.num_samples,
        seed=options.seed,
        clothing_image_url=request.clothing_image_url,
        webhook_url=options.webhook_url,
        input_keys=(key,),
        garment_category=request.garment_category,
        output_format=request.output_format,
    )
    deps.store.create(job, max_in_flight=deps.settings.jobs_max_in_flight_per_key)
    try:
        deps.blobs.put(key, request.selfie_bytes, "application/octet-stream")
        deps.queue.send(QueueMessage(kind="run", job_id=job_id))
    except BaseException:
        deps.store.delete(job_id)
        deps.blobs.delete([key])
        raise
    metrics.add_metric(name="JobsSubmitted", unit=MetricUnit.Count, value=1)
    logger.info("job submitted", extra={"job_id": job_id, "num_samples": options.num_samples})
    return job


def delete_job(job: Job, deps: JobDependencies) -> None:
    """Erase the record, its inputs and its results (a run in progress drops its own results)."""
    deps.store.delete(job.id)
    deps.blobs.delete([*job.input_keys, *(image.blob_key for image in job.images)])
    logger.info("job deleted", extra={"job_id": job.id})


def sweep_expired(deps: JobDependencies) -> int:
    """Local runs: drop expired records and their blobs (DynamoDB's TTL and S3's lifecycle on AWS)."""
    sweep = getattr(deps.store, "sweep", None)
    if sweep is None:
        return 0
    expired = sweep()
    for job in expired:
        deps.blobs.delete([*job.input_keys, *(image.blob_key for image in job.images)])
    idempotency_sweep = getattr(deps.idempotency, "sweep", None)
    if idempotency_sweep is not None:
        idempotency_sweep()
    return len(expired)

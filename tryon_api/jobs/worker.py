"""The work behind a queue message, the same on AWS (the SQS worker) and locally (the dev
server's pool): run a job, or deliver its webhook.

Running: claim the job (a finished, deleted or unknown job runs nothing; a running one left by a
crashed worker runs again), render each sample with its own seed (seed, seed+1, ...), keep the
images, record the result, delete the inputs, then queue the webhook. A try-on error is the job's
answer (the status the synchronous call gives); anything else is raised so the message is retried,
and after ``MAX_RUN_ATTEMPTS`` runs the job is recorded as failed instead.

Delivering: POST the job's document, signed; a failure queues the next attempt with a longer delay
(``RETRY_DELAYS_SECONDS``), and the last failure is logged and counted (WebhookFailures).
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from tryon_api.jobs.dependencies import JobDependencies
from tryon_api.jobs.interface import Job, JobError, JobImage, QueueMessage, result_key
from tryon_api.jobs.records import job_document
from tryon_api.jobs.webhooks import RETRY_DELAYS_SECONDS
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import TryOnError
from tryon_api.tryon.interface import TryOnRequest

logger = Logger(child=True)
metrics = Metrics()  # Powertools shares one metric set: the entry point flushes it

MAX_RUN_ATTEMPTS = 3
INTERNAL_ERROR = JobError("internal error", 500)


def handle_message(message: QueueMessage, deps: JobDependencies, deadline: Deadline | None = None) -> None:
    """Do what ``message`` asks; raises (the message is then retried) only for a failure that a
    retry may fix."""
    if message.kind == "run":
        run_job(message.job_id, deps, deadline)
    elif message.kind == "webhook":
        deliver_webhook(message.job_id, message.attempt, deps)
    else:
        raise ValueError("unknown message kind")


def run_job(job_id: str, deps: JobDependencies, deadline: Deadline | None = None) -> None:
    job = deps.store.claim(job_id, deps.clock())
    if job is None:
        logger.info("job not run: finished, deleted or unknown", extra={"job_id": job_id})
        return
    logger.info("job running", extra={"job_id": job.id, "attempt": job.attempts, "num_samples": job.num_samples})
    try:
        images = _render(job, deps, deadline)
    except TryOnError as error:
        _finish(job, deps, error=JobError(error.message, error.status))
        return
    except Exception as exc:
        if job.attempts < MAX_RUN_ATTEMPTS:
            logger.warning("job run failed, retried", extra={"job_id": job.id, "error_type": type(exc).__name__})
            raise
        logger.error("job run failed for good", extra={"job_id": job.id, "error_type": type(exc).__name__})
        _finish(job, deps, error=INTERNAL_ERROR)
        return
    _finish(job, deps, images=images)


def _render(job: Job, deps: JobDependencies, deadline: Deadline | None) -> tuple[JobImage, ...]:
    selfie = deps.blobs.get(job.input_keys[0])
    request = TryOnRequest(
        selfie_bytes=selfie,
        clothing_description=job.clothing_description,
        mode=job.mode,  # type: ignore[arg-type]
        clothing_image_url=job.clothing_image_url,
    )
    per_sample = deps.settings.local_timeout_seconds
    images: list[JobImage] = []
    try:
        for index in range(job.num_samples):
            seed = job.seed + index
            sample_deadline = Deadline.after(min(per_sample, deadline.remaining()) if deadline else per_sample)
            # The samples share one answer (GET /jobs/{id}, the webhook): each gets its share of the size limit.
            # The first sample's run checks the inputs; every sample's image is checked before it is stored.
            result = deps.tryon.generate(
                request, sample_deadline, seed=seed, share=job.num_samples, check_inputs=index == 0
            )
            key = result_key(job.id, index)
            deps.blobs.put(key, base64.b64decode(result.image_base64), result.mime_type)
            images.append(JobImage(seed=seed, mime_type=result.mime_type, blob_key=key))
    except Exception:
        # A failed job keeps no image: the samples stored before the failing one go too.
        if images:
            deps.blobs.delete([image.blob_key for image in images])
        raise
    return tuple(images)


def _finish(
    job: Job, deps: JobDependencies, *, images: tuple[JobImage, ...] = (), error: JobError | None = None
) -> None:
    now = deps.clock()
    finished = replace(
        job,
        status="failed" if error else "succeeded",
        images=images,
        error=error,
        updated_at=now,
        expires_at=int(now + deps.settings.jobs_result_ttl_hours * 3600),
    )
    deps.store.finish(finished)
    deps.blobs.delete(list(job.input_keys))  # the selfie is not kept once the job ends
    if deps.store.get(job.id) is None:  # deleted while it ran: its results go too
        deps.blobs.delete([image.blob_key for image in images])
        logger.info("job deleted while running", extra={"job_id": job.id})
        return
    duration_ms = max(0.0, (now - job.created_at) * 1000)
    metrics.add_metric(name="JobsFailed" if error else "JobsSucceeded", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="JobDuration", unit=MetricUnit.Milliseconds, value=duration_ms)
    logger.info(
        "job finished",
        extra={
            "job_id": job.id,
            "status": finished.status,
            "error_status": error.status if error else None,
            "duration_ms": round(duration_ms, 1),
        },
    )
    if job.webhook_url:
        deps.queue.send(QueueMessage(kind="webhook", job_id=job.id, attempt=1))


def deliver_webhook(job_id: str, attempt: int, deps: JobDependencies) -> None:
    job = deps.store.get(job_id)
    if job is None or job.webhook_url is None or job.status not in ("succeeded", "failed"):
        logger.info("webhook not sent: job deleted or not finished", extra={"job_id": job_id})
        return
    body = json.dumps(job_document(job, deps.blobs), separators=(",", ":")).encode()
    result = deps.webhook_sender.deliver(job.webhook_url, body)
    if result.delivered:
        metrics.add_metric(name="WebhookDeliveries", unit=MetricUnit.Count, value=1)
        logger.info("webhook delivered", extra={"job_id": job_id, "attempt": attempt, "status": result.status})
        return
    if attempt <= len(RETRY_DELAYS_SECONDS):
        delay = RETRY_DELAYS_SECONDS[attempt - 1]
        deps.queue.send(QueueMessage(kind="webhook", job_id=job_id, attempt=attempt + 1), delay_seconds=delay)
        logger.info(
            "webhook failed, retried",
            extra={"job_id": job_id, "attempt": attempt, "reason": result.reason, "retry_in_seconds": delay},
        )
        return
    metrics.add_metric(name="WebhookFailures", unit=MetricUnit.Count, value=1)
    logger.warning("webhook failed for good", extra={"job_id": job_id, "attempts": attempt, "reason": result.reason})

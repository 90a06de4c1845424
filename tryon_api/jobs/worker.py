"""The work behind a queue message, the same on AWS (the SQS worker) and locally (the dev
server's pool): run a job, or deliver its webhook.

Running: claim the job (a finished, deleted or unknown job runs nothing; a running one left by a
crashed worker runs again), render each sample with its own seed (seed, seed+1, ...), keep the
images, record the result, delete the inputs, then queue the webhook. A try-on error is the job's
answer (the status the synchronous call gives); anything else is raised so the message is retried,
and after ``MAX_RUN_ATTEMPTS`` runs the job is recorded as failed instead.

Each sample is kept once at full quality (the single synchronous answer's size), in the asked
format; answers link to it (``GET /jobs/{id}``) or inline it fitted to one answer (``?images=base64``).

Delivering: POST the job's event (Standard Webhooks: ``tryon_api.jobs.webhooks``) with fresh result
URLs; a failure queues the next attempt at the schedule's time (a message chained through SQS delays
of at most 14 minutes), and the last failure is logged and counted (WebhookFailures).
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from tryon_api.jobs.dependencies import JobDependencies
from tryon_api.jobs.interface import Job, JobError, JobImage, QueueMessage, result_key
from tryon_api.jobs.records import iso_time, job_document, linked_images
from tryon_api.jobs.webhooks import RETRY_SPAN_SECONDS, hop_delay, next_attempt_due, webhook_id
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
        deliver_webhook(message, deps)
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
        garment_category=job.garment_category,
        output_format=job.output_format,
    )
    per_sample = deps.settings.local_timeout_seconds
    images: list[JobImage] = []
    try:
        for index in range(job.num_samples):
            seed = job.seed + index
            sample_deadline = Deadline.after(min(per_sample, deadline.remaining()) if deadline else per_sample)
            # Kept at full quality: each sample is answered by its own URL, not squeezed into one answer.
            # The first sample's run checks the inputs; every sample's image is checked before it is stored.
            result = deps.tryon.generate(request, sample_deadline, seed=seed, check_inputs=index == 0)
            key = result_key(job.id, index, result.mime_type)
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
        expires_at=int(now + _kept_for_seconds(job, deps)),
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


def _kept_for_seconds(job: Job, deps: JobDependencies) -> int:
    """The results' lifetime; a job with a webhook is kept until its last retry at least."""
    kept = deps.settings.jobs_result_ttl_hours * 3600
    return max(kept, RETRY_SPAN_SECONDS + 3600) if job.webhook_url else kept


def webhook_event(job: Job, deps: JobDependencies, now: float) -> dict[str, Any]:
    """The event a webhook carries: its type, when it happened, and the job with fresh result URLs."""
    images = None
    if job.status == "succeeded" and deps.result_links is not None:
        images = linked_images(job, deps.result_links, now, deps.settings.result_url_ttl_seconds)
    return {
        "type": f"job.{job.status}",
        "timestamp": iso_time(job.updated_at),
        "data": job_document(job, images),
    }


def deliver_webhook(message: QueueMessage, deps: JobDependencies) -> None:
    job_id, attempt = message.job_id, message.attempt
    now = deps.clock()
    job = deps.store.get(job_id)
    if job is not None and message.due_at and message.due_at > now:  # a hop of a longer wait: pass it on
        deps.queue.send(message, delay_seconds=hop_delay(message.due_at, now))
        return
    if job is None or job.webhook_url is None or job.status not in ("succeeded", "failed"):
        logger.info("webhook not sent: job deleted or not finished", extra={"job_id": job_id})
        return
    body = json.dumps(webhook_event(job, deps, now), separators=(",", ":")).encode()
    result = deps.webhook_sender.deliver(job.webhook_url, webhook_id(job.id), body, now)
    if result.delivered:
        metrics.add_metric(name="WebhookDeliveries", unit=MetricUnit.Count, value=1)
        logger.info("webhook delivered", extra={"job_id": job_id, "attempt": attempt, "status": result.status})
        return
    due_at = next_attempt_due(attempt, now)
    if due_at is not None:
        retry = QueueMessage(kind="webhook", job_id=job_id, attempt=attempt + 1, due_at=due_at)
        deps.queue.send(retry, delay_seconds=hop_delay(due_at, now))
        logger.info(
            "webhook failed, retried",
            extra={
                "job_id": job_id,
                "attempt": attempt,
                "reason": result.reason,
                "retry_in_seconds": round(due_at - now),
            },
        )
        return
    metrics.add_metric(name="WebhookFailures", unit=MetricUnit.Count, value=1)
    logger.warning("webhook failed for good", extra={"job_id": job_id, "attempts": attempt, "reason": result.reason})

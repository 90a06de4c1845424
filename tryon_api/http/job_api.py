"""POST /jobs, GET /jobs/{job_id} and DELETE /jobs/{job_id}: the HTTP side of jobs.

Imported by the jobs routes only (``app`` imports it on their first request). A submit is checked
as the synchronous call checks its request (the same fields, messages and statuses: the selfie is
decoded, the garment URL passes the SSRF guard) before anything is stored or queued. Jobs belong to
the key that made them: another key's job and an unknown id get the same 404. The store's, bucket's
and queue's calls end before the request's deadline (``aws_clients``); one that runs out of time is
a 504, any other failure of theirs a 503 (``store_errors``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from tryon_api.http.auth import HTTP_OPTIONAL_WHITESPACE
from tryon_api.http.request_parsing import parse_job_request, raw_body
from tryon_api.http.responses import json_response
from tryon_api.http.routes import API_KEY_HEADER, IDEMPOTENCY_HEADER
from tryon_api.http.thread_safe_resolver import ThreadSafeFunctionUrlResolver
from tryon_api.jobs.dependencies import JobDependencies
from tryon_api.jobs.interface import Job, JobLimitReached, job_owner
from tryon_api.jobs.records import inline_images, job_document, linked_images
from tryon_api.jobs.submission import JOB_ID, JobOptions, delete_job, submit_job
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import (
    BadRequest,
    DependencyUnavailable,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    JobNotFound,
    RateLimited,
    UpstreamTimeout,
)
from tryon_api.tryon.pipeline import request_seed

# Printable ASCII, as Stripe's and the IETF draft's keys are (a UUID fits well within).
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# Powertools' idempotency keys start with this (never with the store's job# / owner#).
IDEMPOTENCY_PREFIX = "idempotency#submit-job"
# Seconds a key at its in-flight limit is told to wait: about one job's run.
IN_FLIGHT_RETRY_AFTER_SECONDS = 15
TOO_MANY_JOBS = "too many jobs in flight for this api key, retry later"
JOB_STORE_TIMED_OUT = "the job store did not answer in time"


def _dependencies(app: ThreadSafeFunctionUrlResolver) -> JobDependencies:
    return app.context["services"].jobs()


@contextmanager
def store_errors() -> Iterator[None]:
    """The AWS adapters' failures as the API's: a read that ran out of time (or had none left) is a
    504, any other SDK failure a 503 with Retry-After. Nothing of the cause reaches the caller."""
    try:
        yield
    except ReadTimeoutError:
        raise UpstreamTimeout(JOB_STORE_TIMED_OUT) from None
    except (BotoCoreError, ClientError):
        raise DependencyUnavailable() from None


# GET /jobs/{job_id}?images=...: how a finished job's images come.
IMAGE_DELIVERIES = ("url", "base64")


def _owner(app: ThreadSafeFunctionUrlResolver) -> str:
    """The job owner of the (already verified) credential: the API key, or the browser token
    (whose jobs are its own alone)."""
    caller = app.context.get("caller")
    if caller is not None:
        return job_owner(caller.owner_seed)
    key = str(app.current_event.headers.get(API_KEY_HEADER) or "").strip(HTTP_OPTIONAL_WHITESPACE)
    return job_owner(key)


def _own_job(job_id: str, owner: str, deps: JobDependencies) -> Job:
    job = deps.store.get(job_id) if JOB_ID.match(job_id) else None
    if job is None or job.owner != owner:
        raise JobNotFound()
    return job


def _location(job_id: str) -> dict[str, str]:
    return {"Location": f"/jobs/{job_id}"}


def submit(app: ThreadSafeFunctionUrlResolver, deadline: Deadline) -> Response:
    deps = _dependencies(app)
    body = raw_body(app.current_event.body, app.current_event.is_base64_encoded)
    request, fields = parse_job_request(body)
    # Checked now as the synchronous call checks them, so a bad job never reaches the queue.
    person = deps.tryon.load_person(request.selfie_bytes, deadline)
    checks = Deadline.after(min(deps.settings.garment_fetch_timeout_seconds, deadline.remaining()))
    if request.clothing_image_url:
        deps.webhook_guard.check_garment(request.clothing_image_url, checks)
    if fields.webhook_url:
        deps.webhook_guard.check(fields.webhook_url, checks)
    # The person check last: it is the one that costs (a Rekognition call deployed).
    deps.tryon.require_person(person, deadline)
    options = JobOptions(
        num_samples=fields.num_samples,
        seed=request_seed(request) if fields.seed is None else fields.seed,
        webhook_url=fields.webhook_url,
    )
    owner = _owner(app)

    services = app.context.get("services")
    caller = app.context.get("caller")
    keys = getattr(services, "keys", None)

    def create() -> dict[str, Any]:
        # The job's images count against the month's quota before it is queued.
        refund = keys.reserve_images(caller, options.num_samples) if keys is not None and caller is not None else None
        try:
            job = submit_job(request, options, owner, deps)
        except JobLimitReached:
            if refund is not None:
                refund()
            raise RateLimited(TOO_MANY_JOBS, retry_after=IN_FLIGHT_RETRY_AFTER_SECONDS) from None
        except BaseException:
            if refund is not None:
                refund()
            raise
        return {"id": job.id, "status": job.status}

    key = app.current_event.headers.get(IDEMPOTENCY_HEADER)
    with store_errors():
        answer = create() if key is None else _once_per_key(app, deps, key, owner, body, create)
    return json_response(202, answer, _location(answer["id"]))


def _once_per_key(
    app: ThreadSafeFunctionUrlResolver,
    deps: JobDependencies,
    key: str,
    owner: str,
    body: str | bytes | None,
    create: Any,
) -> dict[str, Any]:
    """Powertools' idempotency utility: a retried submit with the same key and body gets the first
    answer; the same key with another body is refused; one still being answered is a 409."""
    key = key.strip(HTTP_OPTIONAL_WHITESPACE)
    if not IDEMPOTENCY_KEY.match(key) or deps.idempotency is None:
        raise BadRequest("idempotency-key must be 1 to 255 printable ascii characters")
    payload = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else (body or b"")
    config = IdempotencyConfig(
        event_key_jmespath="[owner, key]",
        payload_validation_jmespath="request",
        expires_after_seconds=deps.settings.jobs_result_ttl_hours * 3600,
    )
    if callable(getattr(app.lambda_context, "get_remaining_time_in_millis", None)):
        config.register_lambda_context(app.lambda_context)

    def submit_once(key_data: dict[str, str]) -> dict[str, Any]:
        return dict(create())

    once = idempotent_function(
        data_keyword_argument="key_data",
        persistence_store=deps.idempotency,
        config=config,
        key_prefix=IDEMPOTENCY_PREFIX,
    )(submit_once)
    try:
        return dict(once(key_data={"owner": owner, "key": key, "request": hashlib.sha256(payload).hexdigest()}))
    except IdempotencyValidationError:
        raise IdempotencyKeyReused() from None
    except IdempotencyAlreadyInProgressError:
        raise IdempotencyKeyInProgress(retry_after=1) from None
    except IdempotencyPersistenceLayerError as error:
        if isinstance(error.__cause__, ReadTimeoutError):  # the idempotency table ran out of time
            raise UpstreamTimeout(JOB_STORE_TIMED_OUT) from None
        raise DependencyUnavailable() from None


def get(app: ThreadSafeFunctionUrlResolver, job_id: str) -> Response:
    deps = _dependencies(app)
    inline = _images_inline(app.current_event.query_string_parameters or {})
    with store_errors():
        job = _own_job(job_id, _owner(app), deps)
        images = None
        if job.status == "succeeded":
            if inline:
                images = inline_images(job, deps.blobs, deps.settings.max_response_bytes)
            elif deps.result_links is not None:
                images = linked_images(job, deps.result_links, deps.clock(), deps.settings.result_url_ttl_seconds)
    return json_response(200, job_document(job, images))


def _images_inline(query: dict[str, str]) -> bool:
    """``?images=url`` (the default: short-lived links) or ``?images=base64`` (inline, one round trip)."""
    value = query.get("images", "url")
    if value not in IMAGE_DELIVERIES:
        raise BadRequest("images must be one of " + ", ".join(f'"{v}"' for v in IMAGE_DELIVERIES))
    return value == "base64"


def delete(app: ThreadSafeFunctionUrlResolver, job_id: str) -> Response:
    deps = _dependencies(app)
    with store_errors():
        delete_job(_own_job(job_id, _owner(app), deps), deps)
    return Response(status_code=204, body="")

"""Every boto3 client of the Lambda code comes from here: built once per container, with bounded
connect and read timeouts, botocore's standard retries with a bounded number of attempts, and,
on the request path, timeouts cut to the request's deadline. Nothing else in tryon_api builds a
client (tests/unit/test_aws_client_policy.py greps for it and reads every client's config).

Two kinds of client:

Model clients (Bedrock, SageMaker runtime): retries off in botocore (standard mode, one attempt),
because ``model_calls`` is the one retry layer and it knows the request's deadline; botocore's
adaptive mode stacked its own attempts under ours (up to 12 for one 503) and retried read
timeouts past the deadline. Read timeout: ``TRYON_MODEL_READ_TIMEOUT_SECONDS`` at most, and never
more than the time the request has left.

Quick clients (the API-key and webhook secrets, the jobs' table, bucket and queue, the async
endpoint's S3 objects, and whatever the next capability adds): small requests a busy service may
refuse for a moment (S3's ``SlowDown``, throttling, a 5xx, a dropped connection), so botocore's
standard retries, ``QUICK_CALL_MAX_ATTEMPTS`` in all, with short timeouts. Outside a deadline the
worst case of all attempts (connects, reads and botocore's pauses) is a fraction of the shortest
function timeout the template allows; inside one (``bound_to_deadline``: every request and every
queue message) the read timeout, and if need be the number of attempts, shrink so that the worst
case ends before the deadline, and a call with no time left fails at once (``NoTimeLeft``).

botocore fixes timeouts and attempts per client, so ``DeadlineBoundClient`` keeps a few clients
(a fixed ladder of read timeouts, built on first use) and each call goes to the one with the
longest timeout that still ends before the deadline.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError

from tryon_api.per_container import PerContainer
from tryon_api.settings import Settings

# Read timeouts (s) a call may get when the deadline is nearer than the configured one.
READ_TIMEOUT_LADDER = (600.0, 300.0, 180.0, 120.0, 90.0, 60.0, 45.0, 30.0, 20.0, 15.0, 10.0, 5.0, 3.0, 2.0, 1.0, 0.5)
# botocore: one attempt in total, so the only retries are the deadline-aware ones in model_calls.
NO_SDK_RETRIES = {"mode": "standard", "total_max_attempts": 1}
# Quick calls: botocore's standard retry mode (jittered exponential backoff).
QUICK_CALL_MAX_ATTEMPTS = 3
QUICK_CALL_CONNECT_TIMEOUT_SECONDS = 1.0
# Read timeouts of quick calls without a nearer deadline (botocore's read timeout bounds each wait
# for bytes, not a whole transfer, so a few MB of image still fits): the API-key secret, and the
# rest (the jobs' table, bucket and queue, the webhook secret, the async endpoint's S3 objects).
# Chosen so that the worst case of all attempts stays under the shortest function timeout the
# template allows (30 s): 3 x (1 + 4) s plus botocore's longest pauses (13 s) is 28 s.
SECRET_READ_TIMEOUT_SECONDS = 3.0
QUICK_CALL_READ_TIMEOUT_SECONDS = 4.0
# botocore's longest pause before retry n (1-based) in standard mode: throttling's 1 s base
# doubled per retry (capped at 20 s), plus the 5 s an x-amz-retry-after header may add
# (botocore.retries.standard.ExponentialBackoff).
RETRY_PAUSE_BASE_SECONDS = 1.0
RETRY_PAUSE_CAP_SECONDS = 20.0
RETRY_AFTER_EXTRA_SECONDS = 5.0

# The container's one boto3 session: every client shares its loaded service data (the endpoint
# rules and the list of services are read once, not per client). Clients are created from it
# only at start-up or under ``_client_creation``, since client creation is not thread-safe.
aws_session: PerContainer[boto3.session.Session] = PerContainer(boto3.session.Session)
# One lock for every client made on demand: the session is shared by all of them.
_client_creation = threading.Lock()


class Deadline(Protocol):
    """What a call needs of the request's deadline (``tryon.deadline.Deadline`` is one)."""

    def remaining(self) -> float: ...


class NoTimeLeft(ReadTimeoutError):
    """A call made so near its deadline that not even one short attempt fits: it is not sent.

    A read timeout for the callers' error mapping (504), raised before any byte is written."""

    fmt = "No time left before the deadline for a call to {endpoint_url}"


_call_deadline: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("model_call_deadline", default=None)


@contextmanager
def bound_to_deadline(deadline: Deadline) -> Iterator[None]:
    """AWS calls made inside this block (any client from here) end before ``deadline``."""
    token = _call_deadline.set(deadline)
    try:
        yield
    finally:
        _call_deadline.reset(token)


# In each request's User-Agent (CloudTrail shows it): which policy the client follows.
MODEL_CALL_USER_AGENT = "tryon-api/model-call"
QUICK_CALL_USER_AGENT = "tryon-api/quick-call"


def model_client_config(settings: Settings, read_timeout: float | None = None) -> Config:
    return Config(
        connect_timeout=settings.model_connect_timeout_seconds,
        read_timeout=settings.model_read_timeout_seconds if read_timeout is None else read_timeout,
        retries=dict(NO_SDK_RETRIES),
        max_pool_connections=10,
        user_agent_extra=MODEL_CALL_USER_AGENT,
    )


def quick_call_config(read_timeout: float, attempts: int = QUICK_CALL_MAX_ATTEMPTS) -> Config:
    return Config(
        connect_timeout=QUICK_CALL_CONNECT_TIMEOUT_SECONDS,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": attempts},
        max_pool_connections=10,
        user_agent_extra=QUICK_CALL_USER_AGENT,
    )


def read_timeout_for(configured: float, remaining: float | None) -> float:
    """The longest read timeout that is at most ``configured`` and ends before the deadline."""
    if remaining is None or remaining >= configured:
        return configured
    return next((step for step in READ_TIMEOUT_LADDER if step <= remaining), READ_TIMEOUT_LADDER[-1])


def retry_pauses_seconds(attempts: int) -> float:
    """botocore's longest pauses, in all, between ``attempts`` attempts (standard mode)."""
    return sum(
        min(RETRY_PAUSE_BASE_SECONDS * 2 ** (n - 1), RETRY_PAUSE_CAP_SECONDS) + RETRY_AFTER_EXTRA_SECONDS
        for n in range(1, attempts)
    )


def quick_call_worst_case_seconds(read_timeout: float, attempts: int) -> float:
    """Every attempt connecting and reading to its timeout, with the longest pauses between."""
    return attempts * (QUICK_CALL_CONNECT_TIMEOUT_SECONDS + read_timeout) + retry_pauses_seconds(attempts)


def quick_call_budget(configured: float, remaining: float | None) -> tuple[float, int] | None:
    """(read timeout, attempts) whose worst case ends within ``remaining`` seconds: the most
    attempts that still leave each the shortest step of the ladder, each reading as long as fits
    (at most ``configured``). ``None``: not even one short attempt fits."""
    if remaining is None:
        return configured, QUICK_CALL_MAX_ATTEMPTS
    for attempts in range(QUICK_CALL_MAX_ATTEMPTS, 0, -1):
        overhead = quick_call_worst_case_seconds(0.0, attempts)
        per_attempt = (remaining - overhead) / attempts
        if per_attempt >= READ_TIMEOUT_LADDER[-1]:
            return read_timeout_for(configured, per_attempt), attempts
    return None


# How a client's calls are timed: (read timeout, attempts) for the time left (None: no deadline),
# or None when no call fits.
Budget = Callable[[float | None], "tuple[float, int] | None"]


class DeadlineBoundClient:
    """A client whose calls never wait past the current call's deadline.

    Reads like the boto3 client it wraps (``put_item``, ``converse``, ``meta``...). Inside
    ``bound_to_deadline`` a call goes to a client whose timeouts and attempts fit the time left;
    outside it, to the client with the configured ones (``base``).
    """

    def __init__(self, factory: Callable[[float, int], Any], budget: Budget) -> None:
        """``factory(read_timeout, attempts)`` builds a client; ``budget`` picks the pair per call."""
        self._factory = factory
        self._budget = budget
        self._clients: dict[tuple[float, int], Any] = {}
        unbounded = budget(None)
        assert unbounded is not None
        self.base = self.client_for(*unbounded)

    def client_for(self, read_timeout: float, attempts: int) -> Any:
        with _client_creation:
            client = self._clients.get((read_timeout, attempts))
            if client is None:
                client = self._clients[(read_timeout, attempts)] = self._factory(read_timeout, attempts)
            return client

    def current(self) -> Any:
        deadline = _call_deadline.get()
        chosen = self._budget(deadline.remaining() if deadline is not None else None)
        if chosen is None:
            raise NoTimeLeft(endpoint_url=self.base.meta.endpoint_url)
        return self.client_for(*chosen)

    @property
    def exceptions(self) -> Any:
        # The same classes on every client of a service: never refused for want of time.
        return self.base.exceptions

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current(), name)


def create_model_client(service: str, settings: Settings) -> DeadlineBoundClient:
    """A ``bedrock-runtime`` or ``sagemaker-runtime`` client. The endpoint comes from the standard
    variables (``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``...) when set: that is how the emulator is used."""
    session = aws_session.get()
    configured = settings.model_read_timeout_seconds

    def build(read_timeout: float, attempts: int) -> Any:
        return session.client(
            service, region_name=settings.model_region or None, config=model_client_config(settings, read_timeout)
        )

    # One attempt per SDK call: the short steps of the ladder are model_calls' own business.
    return DeadlineBoundClient(build, lambda remaining: (read_timeout_for(configured, remaining), 1))


def create_quick_client(
    service: str, *, read_timeout: float = QUICK_CALL_READ_TIMEOUT_SECONDS, region: str | None = None
) -> DeadlineBoundClient:
    """A client for small, fast calls: standard retries (``QUICK_CALL_MAX_ATTEMPTS`` in total),
    short connect and read timeouts, cut to the deadline inside ``bound_to_deadline``. The endpoint
    comes from ``AWS_ENDPOINT_URL_<SERVICE>`` when set."""
    session = aws_session.get()

    def build(read: float, attempts: int) -> Any:
        return session.client(service, region_name=region, config=quick_call_config(read, attempts))

    return DeadlineBoundClient(build, lambda remaining: quick_call_budget(read_timeout, remaining))


def create_s3_client(settings: Settings) -> DeadlineBoundClient:
    """The asynchronous endpoint's S3 client (its calls run inside ``bound_to_deadline``, under
    ``call_model``), in the model's region."""
    return create_quick_client("s3", region=settings.model_region or None)


def create_secrets_client() -> DeadlineBoundClient:
    """The API-key secret's client (read before the request's deadline is known when the
    container starts, so its bound then is the worst case of all attempts)."""
    return create_quick_client("secretsmanager", read_timeout=SECRET_READ_TIMEOUT_SECONDS)


def create_presigning_client() -> Any:
    """The S3 client that signs result URLs: SigV4 query signing (S3 accepts nothing older in newer
    Regions, and botocore may pick SigV2 for presigned URLs otherwise). Signing makes no call."""
    config = quick_call_config(QUICK_CALL_READ_TIMEOUT_SECONDS).merge(Config(signature_version="s3v4"))
    return aws_session.get().client("s3", config=config)

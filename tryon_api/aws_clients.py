"""Every boto3 client of the Lambda code comes from here: built once per container, with bounded
connect and read timeouts and a bounded number of attempts.

Model clients (Bedrock, SageMaker):

Retries: off in botocore (standard mode, one attempt in total), because ``model_calls`` is the
one retry layer and it knows the request's deadline; botocore's adaptive mode stacked its own
attempts under ours (up to 12 for one 503) and retried read timeouts past the deadline.

Read timeout: ``TRYON_MODEL_READ_TIMEOUT_SECONDS`` at most, and never more than the time the
request has left. botocore fixes the read timeout per client, so ``DeadlineBoundClient`` keeps a
few clients with shorter read timeouts (a fixed ladder of values, built on first use) and each
call goes to the one whose timeout is the longest that still ends before the deadline.

The quick calls beside the model's (the API-key secret, the asynchronous endpoint's S3 objects)
are another matter: small requests a busy service may refuse for a moment (S3's ``SlowDown``,
throttling, a 5xx, a dropped connection). Those clients keep botocore's standard retries, with
short timeouts, so that every attempt together stays well inside the request's time: the secret
client's worst case (``QUICK_CALL_MAX_ATTEMPTS`` times connect and read, plus the backoff) is a
fraction of the shortest function timeout the template allows, and the S3 client's read
timeout is cut so that all its attempts end before the deadline.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import boto3
from botocore.config import Config

from tryon_api.per_container import PerContainer
from tryon_api.settings import Settings

# Read timeouts (s) a call may get when the deadline is nearer than the configured one.
READ_TIMEOUT_LADDER = (600.0, 300.0, 180.0, 120.0, 90.0, 60.0, 45.0, 30.0, 20.0, 15.0, 10.0, 5.0, 3.0, 2.0, 1.0, 0.5)
# botocore: one attempt in total, so the only retries are the deadline-aware ones in model_calls.
NO_SDK_RETRIES = {"mode": "standard", "total_max_attempts": 1}
# Quick calls: botocore's standard retry mode (jittered exponential backoff of at most 1 s, then
# 2 s, for throttling such as SlowDown; far less for other transient errors).
QUICK_CALL_MAX_ATTEMPTS = 3
QUICK_CALL_CONNECT_TIMEOUT_SECONDS = 1.0
SECRET_READ_TIMEOUT_SECONDS = 3.0
# The longest read timeout of an S3 call (the async endpoint's answer is at most a few MB).
S3_READ_TIMEOUT_SECONDS = 10.0

# The container's one boto3 session: every client shares its loaded service data (the endpoint
# rules and the list of services are read once, not per client). Clients are created from it
# only at start-up or under DeadlineBoundClient's lock, since client creation is not thread-safe.
aws_session: PerContainer[boto3.session.Session] = PerContainer(boto3.session.Session)


class Deadline(Protocol):
    """What a call needs of the request's deadline (``tryon.deadline.Deadline`` is one)."""

    def remaining(self) -> float: ...


_call_deadline: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("model_call_deadline", default=None)


@contextmanager
def bound_to_deadline(deadline: Deadline) -> Iterator[None]:
    """Model calls made inside this block get a read timeout that ends before ``deadline``."""
    token = _call_deadline.set(deadline)
    try:
        yield
    finally:
        _call_deadline.reset(token)


def model_client_config(settings: Settings, read_timeout: float | None = None) -> Config:
    return Config(
        connect_timeout=settings.model_connect_timeout_seconds,
        read_timeout=settings.model_read_timeout_seconds if read_timeout is None else read_timeout,
        retries=dict(NO_SDK_RETRIES),
        max_pool_connections=10,
        user_agent_extra="tryon-api",
    )


def quick_call_config(read_timeout: float) -> Config:
    return Config(
        connect_timeout=QUICK_CALL_CONNECT_TIMEOUT_SECONDS,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": QUICK_CALL_MAX_ATTEMPTS},
        max_pool_connections=10,
        user_agent_extra="tryon-api",
    )


def read_timeout_for(configured: float, remaining: float | None) -> float:
    """The longest read timeout that is at most ``configured`` and ends before the deadline."""
    if remaining is None or remaining >= configured:
        return configured
    return next((step for step in READ_TIMEOUT_LADDER if step <= remaining), READ_TIMEOUT_LADDER[-1])


class DeadlineBoundClient:
    """A model client whose calls never wait past the current call's deadline.

    Reads like the boto3 client it wraps (``invoke_model``, ``converse``, ``meta``...). Inside
    ``bound_to_deadline`` a call goes to a client whose read timeout fits the time left; outside
    it, to the client with the configured read timeout.
    """

    def __init__(self, factory: Callable[[float], Any], configured_read_timeout: float, attempts: int = 1) -> None:
        """``attempts``: botocore's attempts per call; the time left is shared between them."""
        self._factory = factory
        self._configured = configured_read_timeout
        self._attempts = attempts
        self._clients: dict[float, Any] = {}
        self._lock = threading.Lock()
        self.base = self.client_for(configured_read_timeout)

    def client_for(self, read_timeout: float) -> Any:
        with self._lock:
            client = self._clients.get(read_timeout)
            if client is None:
                client = self._clients[read_timeout] = self._factory(read_timeout)
            return client

    def current(self) -> Any:
        deadline = _call_deadline.get()
        remaining = deadline.remaining() / self._attempts if deadline is not None else None
        return self.client_for(read_timeout_for(self._configured, remaining))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current(), name)


def create_model_client(service: str, settings: Settings) -> DeadlineBoundClient:
    """A ``bedrock-runtime`` or ``sagemaker-runtime`` client. The endpoint comes from the standard
    variables (``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``...) when set: that is how the emulator is used."""
    session = aws_session.get()

    def build(read_timeout: float) -> Any:
        return session.client(
            service, region_name=settings.model_region or None, config=model_client_config(settings, read_timeout)
        )

    return DeadlineBoundClient(build, settings.model_read_timeout_seconds)


def create_s3_client(settings: Settings) -> DeadlineBoundClient:
    """The asynchronous endpoint's S3 client: standard retries, each attempt's read timeout a
    share of the time left (its calls run inside ``bound_to_deadline``, under ``call_model``)."""
    session = aws_session.get()

    def build(read_timeout: float) -> Any:
        return session.client("s3", region_name=settings.model_region or None, config=quick_call_config(read_timeout))

    return DeadlineBoundClient(build, S3_READ_TIMEOUT_SECONDS, attempts=QUICK_CALL_MAX_ATTEMPTS)


# Quick calls without a per-call deadline (jobs' table, bucket, queue; key and token stores;
# moderation and person checks): the worst case of all attempts is what bounds them.
QUICK_CALL_READ_TIMEOUT_SECONDS = 5.0


def create_quick_client(
    service: str, *, read_timeout: float = QUICK_CALL_READ_TIMEOUT_SECONDS, region: str | None = None
) -> Any:
    """A client for small, fast calls: standard retries (``QUICK_CALL_MAX_ATTEMPTS`` in total),
    short connect and read timeouts. The endpoint comes from ``AWS_ENDPOINT_URL_<SERVICE>`` when set."""
    return aws_session.get().client(service, region_name=region, config=quick_call_config(read_timeout))


def create_secrets_client() -> Any:
    """The API-key secret's client: standard retries and short timeouts (the secret is read
    before the request's deadline is known, so the bound is the worst case of all attempts)."""
    return aws_session.get().client("secretsmanager", config=quick_call_config(SECRET_READ_TIMEOUT_SECONDS))


def create_presigning_client() -> Any:
    """The S3 client that signs result URLs: SigV4 query signing (S3 accepts nothing older in newer
    Regions, and botocore may pick SigV2 for presigned URLs otherwise). Signing makes no call."""
    config = quick_call_config(QUICK_CALL_READ_TIMEOUT_SECONDS).merge(Config(signature_version="s3v4"))
    return aws_session.get().client("s3", config=config)

"""The boto3 clients of the model backends: built once per container from the settings.

Retries: off in botocore (standard mode, one attempt in total), because ``model_calls`` is the
one retry layer and it knows the request's deadline; botocore's adaptive mode stacked its own
attempts under ours (up to 12 for one 503) and retried read timeouts past the deadline.

Read timeout: ``TRYON_MODEL_READ_TIMEOUT_SECONDS`` at most, and never more than the time the
request has left. botocore fixes the read timeout per client, so ``DeadlineBoundClient`` keeps a
few clients with shorter read timeouts (a fixed ladder of values, built on first use) and each
call goes to the one whose timeout is the longest that still ends before the deadline.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config

from tryon_api.settings import Settings
from tryon_api.tryon.deadline import Deadline

# Read timeouts (s) a call may get when the deadline is nearer than the configured one.
READ_TIMEOUT_LADDER = (600.0, 300.0, 180.0, 120.0, 90.0, 60.0, 45.0, 30.0, 20.0, 15.0, 10.0, 5.0, 3.0, 2.0, 1.0, 0.5)
# botocore: one attempt in total, so the only retries are the deadline-aware ones in model_calls.
NO_SDK_RETRIES = {"mode": "standard", "total_max_attempts": 1}

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

    def __init__(self, factory: Callable[[float], Any], configured_read_timeout: float) -> None:
        self._factory = factory
        self._configured = configured_read_timeout
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
        remaining = deadline.remaining() if deadline is not None else None
        return self.client_for(read_timeout_for(self._configured, remaining))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current(), name)


def create_model_client(service: str, settings: Settings) -> DeadlineBoundClient:
    """A ``bedrock-runtime`` or ``sagemaker-runtime`` client. The endpoint comes from the standard
    variables (``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``...) when set: that is how the emulator is used."""
    # One session of its own: creating clients from boto3's default session is not thread-safe,
    # and the shorter-timeout clients are made while other threads serve requests.
    session = boto3.session.Session(region_name=settings.model_region or None)

    def build(read_timeout: float) -> Any:
        return session.client(service, config=model_client_config(settings, read_timeout))

    return DeadlineBoundClient(build, settings.model_read_timeout_seconds)

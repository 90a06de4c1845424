"""Calling hosted models within a request's deadline: retries, error mapping, timing, metrics.

Shared by the Bedrock and SageMaker backends. Every call runs on a small per-request thread
pool so independent calls overlap and the caller can stop waiting at the deadline (botocore
cannot cancel a call in flight; the worker finishes on its own and its result is dropped).

One retry layer decides: botocore's own retries are off (``aws_clients``: standard mode, one
attempt), and ``call_model`` retries under ``RetryPolicy``. Per model call:
- at most ``RetryPolicy.max_attempts`` attempts (``TRYON_MODEL_MAX_ATTEMPTS``, default 3), and a
  retry starts only when the backoff plus ``min_attempt_seconds`` still fit before the deadline;
- each attempt's read timeout is the smaller of ``TRYON_MODEL_READ_TIMEOUT_SECONDS`` and the time
  left (``aws_clients.DeadlineBoundClient``), so no attempt waits past the request's deadline;
- the caller never waits past the deadline either (``ModelRun.result``): 504.

Error policy, in one table (``classify``):
- throttling (ThrottlingException, TooManyRequestsException): 429 with Retry-After, not retried;
- a used-up quota (ServiceQuotaExceededException, which also covers daily quotas): 429 with a long
  Retry-After (``quota_retry_after_seconds``) and a message that promises no quick recovery;
- model timeout (ModelTimeoutException, SageMaker's "timed out" ModelError), our deadline,
  a read timeout: 504, not retried;
- transient (ServiceUnavailable*, InternalServer*/InternalFailure, ModelNotReady): retried with
  jittered exponential backoff within the attempts and the time left, then 503 or 502;
- moderation (a ValidationException whose message says the input or output was blocked by a
  content filter or moderation): 422, like a filtered answer;
- configuration (AccessDenied, ResourceNotFound, other Validation*, signature/credential errors):
  502, logged as a configuration error; the caller never sees the cause;
- anything else from the model (ModelError*, InternalDependencyException): 502.
A model's answer that holds no image ("Inference error", empty list) is retried once, then 502.
"""

from __future__ import annotations

import contextvars
import json
import random
import re
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from aws_lambda_powertools import Logger
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from tryon_api.aws_clients import bound_to_deadline
from tryon_api.backends.model_metrics import record_content_filtered, record_model_call
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import (
    ContentFiltered,
    DependencyUnavailable,
    RateLimited,
    TryOnError,
    UpstreamFailed,
    UpstreamTimeout,
)

logger = Logger(child=True)
T = TypeVar("T")

Outcome = Literal["ok", "filtered", "empty", "throttled", "timeout", "transient", "failed", "config"]

THROTTLING = frozenset({"ThrottlingException", "TooManyRequestsException"})
QUOTA = frozenset({"ServiceQuotaExceededException"})
TIMEOUTS = frozenset({"ModelTimeoutException"})
UNAVAILABLE = frozenset({"ServiceUnavailableException", "ServiceUnavailable", "ModelNotReadyException"})
SERVER_ERRORS = frozenset({"InternalServerException", "InternalFailure"})
CONFIGURATION = frozenset(
    {
        "AccessDeniedException",
        "ResourceNotFoundException",
        "ValidationException",
        "ValidationError",
        "UnrecognizedClientException",
        "IncompleteSignatureException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "MissingAuthenticationTokenException",
        "UnknownOperationException",
    }
)
# What the caller is told (the real cause goes to the logs only).
MODEL_FAILED = "the image model failed"
MODEL_UNAVAILABLE = "the image model is unavailable, retry later"
QUOTA_USED_UP = "the image model's usage quota is used up: retrying soon will not help"
# How Bedrock words a moderation refusal it returns as a ValidationException (Stability AI:
# "...flagged by our content moderation system..."; Amazon models: "...blocked by our content
# filters."). Anything else with that code is our request's fault: a configuration error.
MODERATION_MESSAGE = re.compile(r"content (filter|moderation)|moderation system|blocked by (our|the) .*filter", re.I)


class EmptyModelOutput(Exception):
    """The model answered 200 without a usable result; worth one more try."""


@dataclass(frozen=True)
class RetryPolicy:
    # Attempts per model call, whatever the cause of the retries (transient errors, empty answers).
    max_attempts: int = 3
    backoff_base_seconds: float = 0.4
    backoff_cap_seconds: float = 4.0
    # A retry is only started when at least this much time would be left after the backoff.
    min_attempt_seconds: float = 2.0
    empty_output_retries: int = 1
    retry_after_seconds: int = 5
    # Retry-After of a used-up quota: a daily quota does not come back in seconds.
    quota_retry_after_seconds: int = 3600

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff, so retries of many containers spread out."""
        ceiling = min(self.backoff_cap_seconds, self.backoff_base_seconds * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class ModelCall:
    """One call as seen by the backend, for logs, metrics and the benchmark."""

    step: str
    model: str
    outcome: str
    latency_ms: float
    attempt: int


def _retry_after(error: ClientError, default: int) -> int:
    headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    try:
        return max(1, min(3600, int(float(headers.get("retry-after", default)))))
    except (TypeError, ValueError):
        return default


def classify(error: ClientError, default_retry_after: int, quota_retry_after: int = 3600) -> tuple[Outcome, TryOnError]:
    code = str(error.response.get("Error", {}).get("Code", ""))
    message = str(error.response.get("Error", {}).get("Message", ""))
    if code in THROTTLING:
        return "throttled", RateLimited(retry_after=_retry_after(error, default_retry_after))
    if code in QUOTA:
        return "throttled", RateLimited(QUOTA_USED_UP, retry_after=max(quota_retry_after, default_retry_after))
    if code == "ValidationException" and MODERATION_MESSAGE.search(message):
        return "filtered", ContentFiltered()
    if code in TIMEOUTS or (code == "ModelError" and "timed out" in message.lower()):
        return "timeout", UpstreamTimeout()
    if code in UNAVAILABLE:
        return "transient", DependencyUnavailable(MODEL_UNAVAILABLE, retry_after=default_retry_after)
    if code in SERVER_ERRORS:
        return "transient", UpstreamFailed(MODEL_FAILED)
    if code in CONFIGURATION:
        return "config", UpstreamFailed(MODEL_FAILED)
    return "failed", UpstreamFailed(MODEL_FAILED)


def call_model(
    step: str,
    model: str,
    invoke: Callable[[], T],
    deadline: Deadline,
    policy: RetryPolicy,
    log: list[ModelCall] | None = None,
) -> T:
    """Run ``invoke`` (one SDK call plus the parsing of its answer) under the error policy."""
    empty_attempts = 0
    attempt = 0
    while True:
        deadline.check()
        attempt += 1
        started = time.perf_counter()
        outcome: Outcome = "failed"
        try:
            with bound_to_deadline(deadline):
                result = invoke()
            outcome = "ok"
            return result
        except ClientError as error:
            outcome, mapped = classify(error, policy.retry_after_seconds, policy.quota_retry_after_seconds)
            if outcome == "config":
                logger.error(
                    "model configuration error",
                    extra={"step": step, "model": model, "error_code": error.response.get("Error", {}).get("Code")},
                )
            if outcome == "transient" and attempt < policy.max_attempts:
                pause = policy.backoff(attempt - 1)
                if deadline.remaining() > pause + policy.min_attempt_seconds:
                    time.sleep(pause)
                    continue
            raise mapped from None
        except EmptyModelOutput:
            outcome = "empty"
            if empty_attempts < policy.empty_output_retries and attempt < policy.max_attempts:
                empty_attempts += 1
                continue
            raise UpstreamFailed(MODEL_FAILED) from None
        except ContentFiltered:
            outcome = "filtered"
            raise
        except ReadTimeoutError:
            outcome = "timeout"
            raise UpstreamTimeout() from None
        except (ConnectTimeoutError, EndpointConnectionError):
            outcome = "transient"
            raise DependencyUnavailable(MODEL_UNAVAILABLE) from None
        except BotoCoreError as error:
            outcome = "failed"
            logger.warning("model call failed in the SDK", extra={"step": step, "error_type": type(error).__name__})
            raise UpstreamFailed(MODEL_FAILED) from None
        except TryOnError:
            outcome = "failed"
            raise
        finally:
            latency_ms = (time.perf_counter() - started) * 1000
            record_model_call(model, outcome, latency_ms)
            if log is not None:
                log.append(ModelCall(step, model, outcome, round(latency_ms, 1), attempt))
            logger.info(
                "model call",
                extra={"step": step, "model": model, "outcome": outcome, "latency_ms": round(latency_ms, 1)},
            )


@dataclass
class ModelRun:
    """The model calls of one request: a small pool, the deadline, and the log of calls.

    ``start`` submits a call; ``result`` waits for it, but never past the deadline (504).
    ``sequential`` counts the waves of calls, i.e. the calls on the critical path.
    """

    deadline: Deadline
    policy: RetryPolicy
    workers: int = 2
    calls: list[ModelCall] = field(default_factory=list)
    sequential: int = 0
    _pool: ThreadPoolExecutor | None = None
    _wave_open: bool = False

    def __enter__(self) -> ModelRun:
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="model-call")
        return self

    def __exit__(self, _type: object, error: BaseException | None, _tb: object) -> None:
        if isinstance(error, ContentFiltered):
            record_content_filtered()  # once per request the filter refused
        if self._pool is not None:
            # Do not wait for a call still in flight after a deadline: its result is not needed.
            self._pool.shutdown(wait=False, cancel_futures=True)

    def start(self, step: str, model: str, invoke: Callable[[], T]) -> Future[T]:
        if self._pool is None:
            raise RuntimeError("ModelRun is used outside its with-block")
        if not self._wave_open:
            self.sequential += 1
            self._wave_open = True
        # In the caller's context: its log lines keep the request's correlation_id.
        context = contextvars.copy_context()
        return self._pool.submit(context.run, call_model, step, model, invoke, self.deadline, self.policy, self.calls)

    def result(self, future: Future[T]) -> T:
        self._wave_open = False
        try:
            return future.result(timeout=self.deadline.remaining())
        except FutureTimeout:
            future.cancel()
            raise UpstreamTimeout() from None

    def call(self, step: str, model: str, invoke: Callable[[], T]) -> T:
        return self.result(self.start(step, model, invoke))


def decode_json(body: Any) -> Any:
    """A model's JSON answer; one that does not parse is the model's failure (502)."""
    try:
        return json.loads(body.read() if hasattr(body, "read") else body)
    except (ValueError, UnicodeDecodeError):
        raise UpstreamFailed(MODEL_FAILED) from None

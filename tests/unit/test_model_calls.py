"""The model-call policy: error classification, retries within the deadline, the wave count."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from tryon_api.backends.model_calls import EmptyModelOutput, ModelRun, RetryPolicy, call_model, classify
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import (
    ContentFiltered,
    DependencyUnavailable,
    RateLimited,
    UpstreamFailed,
    UpstreamTimeout,
)

FAST = RetryPolicy(backoff_base_seconds=0.001, backoff_cap_seconds=0.002, min_attempt_seconds=0.0)


def client_error(code: str, message: str = "m", headers: dict[str, str] | None = None) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPHeaders": headers or {}}}
    return ClientError(response, "InvokeModel")


@pytest.mark.parametrize(
    ("code", "message", "outcome", "error", "status"),
    [
        ("ThrottlingException", "", "throttled", RateLimited, 429),
        ("ServiceQuotaExceededException", "", "throttled", RateLimited, 429),
        # Bedrock's moderation refusals arrive as ValidationException: the filter, not our config.
        (
            "ValidationException",
            "Your request was flagged by our content moderation system",
            "filtered",
            ContentFiltered,
            422,
        ),
        (
            "ValidationException",
            "This request has been blocked by our content filters.",
            "filtered",
            ContentFiltered,
            422,
        ),
        (
            "ValidationException",
            "The generated image(s) have been blocked by our content filters.",
            "filtered",
            ContentFiltered,
            422,
        ),
        ("ModelTimeoutException", "", "timeout", UpstreamTimeout, 504),
        ("ModelError", "Your invocation timed out while waiting", "timeout", UpstreamTimeout, 504),
        ("ServiceUnavailableException", "", "transient", DependencyUnavailable, 503),
        ("ServiceUnavailable", "", "transient", DependencyUnavailable, 503),
        ("ModelNotReadyException", "", "transient", DependencyUnavailable, 503),
        ("InternalServerException", "", "transient", UpstreamFailed, 502),
        ("InternalFailure", "", "transient", UpstreamFailed, 502),
        ("AccessDeniedException", "", "config", UpstreamFailed, 502),
        ("ResourceNotFoundException", "", "config", UpstreamFailed, 502),
        ("ValidationException", "", "config", UpstreamFailed, 502),
        (
            "ValidationException",
            "Malformed input request: #/seed: expected type: Integer",
            "config",
            UpstreamFailed,
            502,
        ),
        ("ValidationException", "The provided model identifier is invalid.", "config", UpstreamFailed, 502),
        ("ValidationError", "", "config", UpstreamFailed, 502),
        ("ModelErrorException", "", "failed", UpstreamFailed, 502),
        ("ModelError", "Received server error (500)", "failed", UpstreamFailed, 502),
        ("InternalDependencyException", "", "failed", UpstreamFailed, 502),
    ],
)
def test_every_error_code_has_one_outcome_and_status(
    code: str, message: str, outcome: str, error: type, status: int
) -> None:
    got_outcome, mapped = classify(client_error(code, message), 5)
    assert got_outcome == outcome
    assert isinstance(mapped, error)
    assert mapped.status == status
    assert code not in mapped.message  # internal names never reach the caller


def test_throttling_uses_the_services_retry_after_when_given() -> None:
    _, mapped = classify(client_error("ThrottlingException", headers={"retry-after": "12"}), 5)
    assert mapped.headers() == {"Retry-After": "12"}
    _, mapped = classify(client_error("ThrottlingException"), 7)
    assert mapped.headers() == {"Retry-After": "7"}


def test_a_used_up_quota_is_429_without_promising_a_quick_recovery() -> None:
    """ServiceQuotaExceededException also means a daily quota: no "retry in 5 seconds"."""
    _, throttled = classify(client_error("ThrottlingException"), 5)
    _, quota = classify(client_error("ServiceQuotaExceededException"), 5)
    assert (quota.status, throttled.status) == (429, 429)
    assert int(quota.headers()["Retry-After"]) >= 3600 > int(throttled.headers()["Retry-After"])
    assert "retry later" not in quota.message and "will not help" in quota.message
    assert quota.message != throttled.message


def test_other_validation_errors_are_logged_as_configuration_errors(json_logs: Any) -> None:
    invoke, _ = _sequence(client_error("ValidationException", "Malformed input request: #/image"))
    with pytest.raises(UpstreamFailed):
        call_model("replace_garment", "model-x", invoke, Deadline.after(10), FAST)
    invoke, _ = _sequence(client_error("ValidationException", "blocked by our content filters"))
    with pytest.raises(ContentFiltered):
        call_model("replace_garment", "model-y", invoke, Deadline.after(10), FAST)
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    config_errors = [line for line in lines if line["message"] == "model configuration error"]
    assert [(line["model"], line["error_code"]) for line in config_errors] == [("model-x", "ValidationException")]


def _sequence(*outcomes: Any) -> tuple[Callable[[], str], list[int]]:
    calls: list[int] = []

    def invoke() -> str:
        calls.append(1)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return str(outcome)

    return invoke, calls


def test_transient_errors_are_retried_until_success() -> None:
    invoke, calls = _sequence(
        client_error("ServiceUnavailableException"), client_error("InternalServerException"), "ok"
    )
    assert call_model("step", "model", invoke, Deadline.after(10), FAST) == "ok"
    assert len(calls) == 3


def test_transient_retries_stop_when_the_deadline_leaves_no_room() -> None:
    policy = RetryPolicy(backoff_base_seconds=0.001, backoff_cap_seconds=0.002, min_attempt_seconds=5.0)
    invoke, calls = _sequence(client_error("ServiceUnavailableException"), "ok")
    with pytest.raises(DependencyUnavailable):
        call_model("step", "model", invoke, Deadline.after(1.0), policy)
    assert len(calls) == 1


def test_transient_retries_are_bounded() -> None:
    invoke, calls = _sequence(*[client_error("InternalServerException")] * 10)
    with pytest.raises(UpstreamFailed):
        call_model("step", "model", invoke, Deadline.after(10), FAST)
    assert len(calls) == FAST.max_attempts == 3


def test_throttling_is_not_retried_by_us() -> None:
    invoke, calls = _sequence(client_error("ThrottlingException"), "ok")
    with pytest.raises(RateLimited):
        call_model("step", "model", invoke, Deadline.after(10), FAST)
    assert len(calls) == 1


def test_empty_output_is_retried_once() -> None:
    invoke, calls = _sequence(EmptyModelOutput("Inference error"), "ok")
    assert call_model("step", "model", invoke, Deadline.after(10), FAST) == "ok"
    invoke, calls = _sequence(EmptyModelOutput("x"), EmptyModelOutput("x"), "ok")
    with pytest.raises(UpstreamFailed):
        call_model("step", "model", invoke, Deadline.after(10), FAST)
    assert len(calls) == 2


def test_filtered_and_read_timeouts_are_not_retried() -> None:
    invoke, calls = _sequence(ContentFiltered(), "ok")
    with pytest.raises(ContentFiltered):
        call_model("step", "model", invoke, Deadline.after(10), FAST)
    invoke, calls = _sequence(ReadTimeoutError(endpoint_url="http://x"), "ok")
    with pytest.raises(UpstreamTimeout):
        call_model("step", "model", invoke, Deadline.after(10), FAST)
    assert len(calls) == 1


def test_an_expired_deadline_stops_before_calling() -> None:
    invoke, calls = _sequence("ok")
    with pytest.raises(UpstreamTimeout):
        call_model("step", "model", invoke, Deadline.after(0), FAST)
    assert calls == []


def test_backoff_is_jittered_and_capped() -> None:
    policy = RetryPolicy(backoff_base_seconds=0.5, backoff_cap_seconds=2.0)
    samples = [policy.backoff(attempt) for attempt in range(6) for _ in range(20)]
    assert max(samples) <= 2.0
    assert len({round(s, 6) for s in samples}) > 10


def test_model_run_counts_parallel_calls_as_one_wave() -> None:
    with ModelRun(Deadline.after(10), FAST) as run:
        first = run.start("a", "m1", lambda: 1)
        second = run.start("b", "m2", lambda: 2)
        assert run.result(first) + run.result(second) == 3
        assert run.call("c", "m3", lambda: 3) == 3
    assert run.sequential == 2
    assert sorted(c.step for c in run.calls) == ["a", "b", "c"]
    assert all(c.outcome == "ok" for c in run.calls)

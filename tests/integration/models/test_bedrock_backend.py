"""The Bedrock backend through the whole handler, against the loopback Bedrock emulator,
with the real boto3 client (serialization, SigV4 signing, error parsing all exercised)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.models.helpers import (
    INPAINT,
    REMOVE_BACKGROUND,
    SEARCH_REPLACE,
    VISION,
    assert_dressed_in_red,
    decode_image,
    join_abandoned_calls,
    post,
    request_body,
)
from tryon_dev.aws_emulator import AwsModelEmulator

pytestmark = pytest.mark.integration

EXPECTED_CALLS = {
    ("studio", False): [REMOVE_BACKGROUND, SEARCH_REPLACE],
    ("studio", True): [REMOVE_BACKGROUND, VISION, SEARCH_REPLACE],
    ("environment", False): [REMOVE_BACKGROUND, INPAINT, SEARCH_REPLACE],
    ("environment", True): [REMOVE_BACKGROUND, VISION, INPAINT, SEARCH_REPLACE],
}


@pytest.mark.parametrize("mode", ["studio", "environment"])
@pytest.mark.parametrize("with_garment", [False, True], ids=["text-only", "garment-image"])
def test_every_mode_with_and_without_garment_image_generates_through_bedrock(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, garment_url: str, mode: str, with_garment: bool
) -> None:
    use_backend("bedrock")
    status, _, payload = post(request_body(mode, garment_url if with_garment else None))

    assert status == 200, payload
    assert payload["mime_type"] == "image/jpeg"
    assert sorted(c.target for c in aws.calls) == sorted(EXPECTED_CALLS[(mode, with_garment)])
    assert_dressed_in_red(decode_image(payload), mode)


def test_requests_follow_the_image_services_schema_and_carry_the_prompts(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, garment_url: str
) -> None:
    use_backend("bedrock")
    body = request_body("environment", garment_url, clothing_description="Navy wool suit with a white shirt")
    status, _, payload = post(body)
    assert status == 200, payload
    sent = dict(aws.request_bodies)
    assert set(sent[REMOVE_BACKGROUND]) == {"image", "output_format"}
    replace = sent[SEARCH_REPLACE]
    assert replace["search_prompt"] == "all clothing"
    assert "navy wool suit" in replace["prompt"].lower()
    assert "Garment details from the reference photo: Colour: red" in replace["prompt"]
    assert 1 <= replace["seed"] <= 4_294_967_294
    assert "office" in sent[INPAINT]["prompt"]  # a formal outfit gets an office scene
    assert "mask" not in sent[INPAINT]  # the cut-out's alpha channel is the mask
    vision = sent[VISION]
    assert vision["messages"][0]["content"][0]["image"]["format"] == "jpeg"


def test_same_request_gives_the_same_scene_and_seed(use_backend: Callable[..., Any], aws: AwsModelEmulator) -> None:
    use_backend("bedrock")
    post(request_body("environment"))
    post(request_body("environment"))
    inpaints = [body for target, body in aws.request_bodies if target == INPAINT]
    assert len(inpaints) == 2
    assert inpaints[0]["prompt"] == inpaints[1]["prompt"]
    assert inpaints[0]["seed"] == inpaints[1]["seed"]


def test_background_removal_and_garment_description_overlap(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, garment_url: str
) -> None:
    use_backend("bedrock")
    # Each answers only once the other has been asked: a pipeline making them one after the
    # other gets a 503 from the emulator (bounded), never a pass that depends on timing.
    aws.answer_after(REMOVE_BACKGROUND, VISION, "started")
    aws.answer_after(VISION, REMOVE_BACKGROUND, "started")
    status, _, payload = post(request_body("studio", garment_url))
    assert status == 200, payload
    assert {c.status for c in aws.calls} == {200}  # no call gave up waiting for the other
    assert aws.max_in_flight >= 2
    calls = {c.target: c for c in aws.calls}
    cut, seen = calls[REMOVE_BACKGROUND], calls[VISION]
    assert cut.started < seen.ended and seen.started < cut.ended  # the two intervals intersect
    assert calls[SEARCH_REPLACE].started >= max(cut.ended, seen.ended)  # the garment change waits for both


FAULTS = [
    # (target, kind, times, status, message fragment)
    (SEARCH_REPLACE, "filtered", 1, 422, "content filter"),
    (REMOVE_BACKGROUND, "filtered", 1, 422, "content filter"),
    (SEARCH_REPLACE, "inference_error", 2, 502, "image model failed"),
    (SEARCH_REPLACE, "no_image", 2, 502, "image model failed"),
    (INPAINT, "bad_image", 1, 502, "unreadable"),
    (REMOVE_BACKGROUND, "throttling", None, 429, "too many requests"),
    (SEARCH_REPLACE, "quota", None, 429, "quota is used up"),
    (SEARCH_REPLACE, "moderation", 1, 422, "content filter"),
    (INPAINT, "model_timeout", 1, 504, "did not answer in time"),
    (REMOVE_BACKGROUND, "service_unavailable", None, 503, "unavailable"),
    (REMOVE_BACKGROUND, "model_not_ready", None, 503, "unavailable"),
    (SEARCH_REPLACE, "internal", None, 502, "image model failed"),
    (INPAINT, "model_error", 1, 502, "image model failed"),
    (REMOVE_BACKGROUND, "access_denied", 1, 502, "image model failed"),
    (SEARCH_REPLACE, "not_found", 1, 502, "image model failed"),
    (INPAINT, "validation", 1, 502, "image model failed"),
]


@pytest.mark.parametrize(("target", "kind", "times", "status", "message"), FAULTS, ids=[f"{f[1]}" for f in FAULTS])
def test_model_faults_map_to_statuses(
    use_backend: Callable[..., Any],
    aws: AwsModelEmulator,
    target: str,
    kind: str,
    times: int | None,
    status: int,
    message: str,
) -> None:
    use_backend("bedrock")
    aws.inject(target, kind, times=times)
    got, headers, payload = post(request_body("environment"))
    assert got == status
    assert message in payload["error"]
    assert set(payload) == {"error"}
    if status in (429, 503):
        assert int(headers["Retry-After"]) >= 1
    if kind == "quota":  # a daily quota does not come back in seconds
        assert int(headers["Retry-After"]) >= 3600


def test_inference_error_is_retried_once_then_succeeds(use_backend: Callable[..., Any], aws: AwsModelEmulator) -> None:
    use_backend("bedrock")
    aws.inject(SEARCH_REPLACE, "inference_error", times=1)
    status, _, payload = post(request_body("studio"))
    assert status == 200, payload
    assert [c.status for c in aws.calls if c.target == SEARCH_REPLACE] == [200, 200]


def test_inference_error_twice_gives_up_after_one_retry(use_backend: Callable[..., Any], aws: AwsModelEmulator) -> None:
    use_backend("bedrock")
    aws.inject(SEARCH_REPLACE, "inference_error", times=5)
    status, _, _ = post(request_body("studio"))
    assert status == 502
    assert len([c for c in aws.calls if c.target == SEARCH_REPLACE]) == 2


def test_unavailable_model_is_retried_with_backoff_and_recovers(
    use_backend: Callable[..., Any], aws: AwsModelEmulator
) -> None:
    use_backend("bedrock")
    aws.inject(REMOVE_BACKGROUND, "service_unavailable", times=2)
    status, _, payload = post(request_body("studio"))
    assert status == 200, payload
    assert [c.status for c in aws.calls if c.target == REMOVE_BACKGROUND] == [503, 503, 200]


def test_one_retry_layer_a_throttle_is_not_retried_under_us(
    use_backend: Callable[..., Any], aws: AwsModelEmulator
) -> None:
    """The production client config (botocore: one attempt) with the production attempts setting:
    a throttle reaches the caller as 429 after one call, not after botocore's own retries."""
    use_backend("bedrock", model_max_attempts=3)
    aws.inject(SEARCH_REPLACE, "throttling", times=1)
    status, headers, _ = post(request_body("studio"))
    assert status == 429 and int(headers["Retry-After"]) >= 1
    assert [c.status for c in aws.calls if c.target == SEARCH_REPLACE] == [429]


@pytest.mark.parametrize("attempts", [1, 3])
def test_an_always_503_model_gets_at_most_the_configured_attempts_then_503(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, attempts: int
) -> None:
    """botocore's retries are off (standard mode, one attempt), so the attempts the emulator sees
    are ours alone: TRYON_MODEL_MAX_ATTEMPTS per model call, then the documented 503."""
    use_backend("bedrock", model_max_attempts=attempts)
    aws.inject(REMOVE_BACKGROUND, "service_unavailable", times=None)
    status, headers, payload = post(request_body("studio"), timeout_seconds=60)
    assert (status, payload) == (503, {"error": "the image model is unavailable, retry later"})
    assert int(headers["Retry-After"]) >= 1
    assert [c.status for c in aws.calls if c.target == REMOVE_BACKGROUND] == [503] * attempts
    assert [c.target for c in aws.calls] == [REMOVE_BACKGROUND] * attempts  # nothing after it


def test_a_never_answering_model_gets_one_attempt_and_504_at_the_deadline(
    use_backend: Callable[..., Any], aws: AwsModelEmulator
) -> None:
    """A read timeout is not retried (by botocore or by us), and the attempt's read timeout is cut
    to the time the request has left: the one call ends at the deadline, not 85 s later."""
    use_backend("bedrock", model_max_attempts=3, deadline_margin_seconds=0.5)
    aws.set_delay(REMOVE_BACKGROUND, 600.0)  # far past the request's deadline (1.5 s - 0.5 s)
    status, _, payload = post(request_body("studio"), timeout_seconds=1.5)
    assert (status, payload) == (504, {"error": "the image model did not answer in time"})
    join_abandoned_calls()  # the worker ends on its own read timeout: bounded by the deadline
    assert not [t for t in threading.enumerate() if t.name.startswith("model-call") and t.is_alive()]
    # The emulator still holds the first call: a retry would have been a second one in flight.
    assert aws.max_in_flight == 1


def test_throttling_retry_after_comes_from_settings(use_backend: Callable[..., Any], aws: AwsModelEmulator) -> None:
    use_backend("bedrock", model_retry_after_seconds=17)
    aws.inject(REMOVE_BACKGROUND, "throttling", times=None)
    status, headers, _ = post(request_body("studio"))
    assert status == 429
    assert headers["Retry-After"] == "17"


def test_slow_model_past_the_deadline_gives_504(use_backend: Callable[..., Any], aws: AwsModelEmulator) -> None:
    use_backend("bedrock", deadline_margin_seconds=0.5)
    aws.set_delay(REMOVE_BACKGROUND, 600.0)  # never within the request's time, however busy the machine
    status, _, payload = post(request_body("studio"), timeout_seconds=1.5)
    assert status == 504
    assert payload["error"] == "the image model did not answer in time"
    join_abandoned_calls()


def test_configuration_errors_are_logged_but_not_shown(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    use_backend("bedrock")
    aws.inject(REMOVE_BACKGROUND, "access_denied", times=1)
    status, _, payload = post(request_body("studio"))
    assert status == 502
    assert "access" not in payload["error"].lower()
    errors = [r for r in caplog.records if r.getMessage() == "model configuration error"]
    assert errors and getattr(errors[0], "error_code", None) == "AccessDeniedException"


def test_model_calls_are_measured_in_emf(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, garment_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    use_backend("bedrock")
    aws.inject(SEARCH_REPLACE, "inference_error", times=1)
    status, _, _ = post(request_body("environment", garment_url))
    assert status == 200
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    # Per model (dimensions model, service): the empty answer counts as the one failure.
    calls = [(b["model"], b["ModelFailures"]) for b in blobs if "ModelCalls" in b and "model" in b]
    assert sorted(calls) == sorted(
        [
            (REMOVE_BACKGROUND, [0.0]),
            (VISION, [0.0]),
            (INPAINT, [0.0]),
            (SEARCH_REPLACE, [1.0]),
            (SEARCH_REPLACE, [0.0]),
        ]
    )
    # ...and the same calls on the series the alarm reads (dimension service only).
    service_only = [b for b in blobs if "ModelCalls" in b and "model" not in b]
    assert [d["Dimensions"] for b in service_only for d in b["_aws"]["CloudWatchMetrics"]] == [[["service"]]] * 5
    assert sum(b["ModelFailures"][0] for b in service_only) == 1
    request = next(b for b in blobs if "ModelCallsPerRequest" in b)
    assert request["ModelCallsPerRequest"] == [5.0]
    assert request["SequentialModelCalls"] == [3.0]
    assert "GenerationLatency" in request


def test_a_refused_garment_description_falls_back_to_the_text(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, garment_url: str
) -> None:
    use_backend("bedrock")
    aws.inject(VISION, "filtered")
    status, _, payload = post(request_body("studio", garment_url))
    assert status == 200, payload
    replace = dict(aws.request_bodies)[SEARCH_REPLACE]
    assert "reference photo" not in replace["prompt"]
    assert "red cotton t-shirt" in replace["prompt"].lower()


def test_scene_inpainting_starts_while_a_slow_garment_description_runs(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, garment_url: str
) -> None:
    use_backend("bedrock")
    # The garment description answers only after the scene's inpainting has answered: a pipeline
    # that waited for the description first gets the emulator's 503 (bounded) instead of a 200.
    aws.answer_after(VISION, INPAINT, "ended")
    status, _, payload = post(request_body("environment", garment_url))
    assert status == 200, payload
    assert {c.status for c in aws.calls} == {200}  # the description was not given up on
    calls = {c.target: c for c in aws.calls}
    assert calls[REMOVE_BACKGROUND].ended <= calls[INPAINT].started < calls[VISION].ended
    assert calls[SEARCH_REPLACE].started >= max(calls[VISION].ended, calls[INPAINT].ended)


@pytest.mark.parametrize(
    ("category", "search_prompt", "output_format"),
    [
        ("auto", "upper body clothing", "jpeg"),
        ("tops", "upper body clothing", "png"),
        ("bottoms", "lower body clothing", "webp"),
        ("one-pieces", "all clothing", "png"),
    ],
)
def test_garment_category_picks_the_searched_region_and_output_format_the_answers_type(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, category: str, search_prompt: str, output_format: str
) -> None:
    import base64
    import io

    from PIL import Image

    use_backend("bedrock")
    body = request_body("studio", clothing_description="a red cotton shirt", garment_category=category)
    status, _, payload = post({**body, "output_format": output_format})
    assert status == 200, payload
    assert payload["mime_type"] == {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}[output_format]
    assert Image.open(io.BytesIO(base64.b64decode(payload["image_base64"]))).format == output_format.upper()
    (replace,) = [sent for target, sent in aws.request_bodies if target == SEARCH_REPLACE]
    assert replace["search_prompt"] == search_prompt  # the words say shirt; a named category wins

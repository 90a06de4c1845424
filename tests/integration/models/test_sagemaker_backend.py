"""The SageMaker backend through the whole handler, against the loopback sagemaker-runtime emulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.models.helpers import (
    ENDPOINT,
    assert_dressed_in_red,
    decode_image,
    join_abandoned_calls,
    post,
    request_body,
)
from tryon_dev.aws_emulator import AwsModelEmulator

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["studio", "environment"])
@pytest.mark.parametrize("with_garment", [False, True], ids=["text-only", "garment-image"])
def test_every_mode_with_and_without_garment_image_generates_through_sagemaker(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, garment_url: str, mode: str, with_garment: bool
) -> None:
    use_backend("sagemaker")
    status, _, payload = post(request_body(mode, garment_url if with_garment else None))
    assert status == 200, payload
    assert [c.target for c in aws.calls] == [ENDPOINT]
    sent = aws.request_bodies[0][1]
    assert sent["contract_version"] == "1"
    assert sent["mode"] == mode
    assert (sent["garment_image_base64"] is not None) == with_garment
    assert sent["garment_description"] == "Red cotton t-shirt"
    assert_dressed_in_red(decode_image(payload), mode)


FAULTS = [
    ("filtered", 1, 422),
    ("no_image", 2, 502),
    ("throttling", None, 429),
    ("model_error", 1, 502),
    ("model_timeout", 1, 504),
    ("service_unavailable", None, 503),
    ("model_not_ready", None, 503),
    ("internal", None, 502),
    ("dependency", 1, 502),
    ("validation", 1, 502),
    ("access_denied", 1, 502),
]


@pytest.mark.parametrize(("kind", "times", "status"), FAULTS, ids=[f[0] for f in FAULTS])
def test_endpoint_faults_map_to_statuses(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, kind: str, times: int | None, status: int
) -> None:
    use_backend("sagemaker")
    aws.inject(ENDPOINT, kind, times=times)
    got, headers, payload = post(request_body("studio"))
    assert got == status
    assert set(payload) == {"error"}
    if status in (429, 503):
        assert int(headers["Retry-After"]) >= 1


def test_unknown_endpoint_is_a_configuration_error(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    use_backend("sagemaker", sagemaker_endpoint_name="not-deployed")
    status, _, payload = post(request_body("studio"))
    assert status == 502
    assert payload["error"] == "the image model failed"
    assert any(r.getMessage() == "model configuration error" for r in caplog.records)


def test_slow_endpoint_past_the_deadline_gives_504(use_backend: Callable[..., Any], aws: AwsModelEmulator) -> None:
    use_backend("sagemaker", deadline_margin_seconds=0.5)
    aws.set_delay(ENDPOINT, 600.0)  # never within the request's time, however busy the machine (reset ends it)
    status, _, _ = post(request_body("studio"), timeout_seconds=1.5)
    assert status == 504
    join_abandoned_calls()


@pytest.mark.parametrize(("category", "output_format"), [("auto", "webp"), ("bottoms", "png"), ("one-pieces", "jpeg")])
def test_garment_category_is_sent_when_named_and_output_format_sets_the_answers_type(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, category: str, output_format: str
) -> None:
    import base64
    import io

    from PIL import Image

    use_backend("sagemaker")
    status, _, payload = post({**request_body("studio", garment_category=category), "output_format": output_format})
    assert status == 200, payload  # the emulator validates the body against the contract's schema
    sent = aws.request_bodies[0][1]
    # Optional in the contract: left out for "auto", so containers older than the field keep working.
    assert sent.get("garment_category") == (None if category == "auto" else category)
    assert payload["mime_type"] == f"image/{output_format}"
    assert Image.open(io.BytesIO(base64.b64decode(payload["image_base64"]))).format == output_format.upper()

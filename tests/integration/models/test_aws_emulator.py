"""The emulator refuses what the real services refuse, in their wire format, so the backends'
passing tests mean their requests are valid (checked here through the real boto3 clients)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from PIL import Image

from tests.integration.models.helpers import (
    ENDPOINT,
    INPAINT,
    REMOVE_BACKGROUND,
    SEARCH_REPLACE,
    VISION,
    person_photo,
)
from tryon_dev.aws_emulator import AwsModelEmulator

pytestmark = pytest.mark.integration
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _b64_image(size: tuple[int, int], fmt: str = "PNG") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (120, 80, 40)).save(buffer, fmt)
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def bedrock(aws: AwsModelEmulator) -> Iterator[Any]:
    yield boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=aws.url, config=NO_RETRIES)


@pytest.fixture
def sagemaker(aws: AwsModelEmulator) -> Iterator[Any]:
    yield boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=aws.url, config=NO_RETRIES)


def _invoke(client: Any, model: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.invoke_model(modelId=model, body=json.dumps(body), contentType="application/json")
    return dict(json.loads(response["body"].read()))


def _error(call: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Message"]


@pytest.mark.parametrize(
    ("model", "body", "fragment"),
    [
        (SEARCH_REPLACE, {"image": "IMAGE", "prompt": "a red shirt"}, "required key [search_prompt]"),
        (SEARCH_REPLACE, {"image": "IMAGE", "prompt": "x", "search_prompt": "shirt", "seed": -1}, "seed"),
        (SEARCH_REPLACE, {"image": "IMAGE", "prompt": "x", "search_prompt": "shirt", "grow_mask": 21}, "grow_mask"),
        (SEARCH_REPLACE, {"image": "IMAGE", "prompt": "x" * 10_001, "search_prompt": "s"}, "maxLength"),
        (REMOVE_BACKGROUND, {"image": "IMAGE", "prompt": "not allowed"}, "extraneous key [prompt]"),
        (REMOVE_BACKGROUND, {"image": "IMAGE", "output_format": "gif"}, "output_format"),
        (REMOVE_BACKGROUND, {"image": "bm90IGFuIGltYWdl"}, "not a valid base64 encoded image"),
        (INPAINT, {"image": "IMAGE", "prompt": "a street"}, "mask or an image with an alpha channel"),
    ],
)
def test_image_services_requests_are_validated_like_bedrock(
    bedrock: Any, model: str, body: dict[str, Any], fragment: str
) -> None:
    body = {k: (_b64_image((512, 512)) if v == "IMAGE" else v) for k, v in body.items()}
    code, status, message = _error(lambda: _invoke(bedrock, model, body))
    assert (code, status) == ("ValidationException", 400)
    assert fragment in message


@pytest.mark.parametrize(
    ("size", "fragment"),
    [((63, 300), "at least 64 pixels"), ((3100, 3100), "cannot exceed 9437184"), ((1000, 300), "aspect ratio")],
)
def test_image_size_rules_are_enforced(bedrock: Any, size: tuple[int, int], fragment: str) -> None:
    code, _, message = _error(lambda: _invoke(bedrock, REMOVE_BACKGROUND, {"image": _b64_image(size)}))
    assert code == "ValidationException"
    assert fragment in message


def _decoded(answer: dict[str, Any]) -> Image.Image:
    assert answer["finish_reasons"] == [None]
    return Image.open(io.BytesIO(base64.b64decode(answer["images"][0])))


def test_remove_background_returns_a_real_cutout(bedrock: Any) -> None:
    image = _decoded(_invoke(bedrock, REMOVE_BACKGROUND, {"image": base64.b64encode(person_photo()).decode()}))
    assert image.format == "PNG" and image.mode == "RGBA"
    alpha = image.getchannel("A")
    assert alpha.getpixel((5, 5)) == 0 and alpha.getpixel((506, 5)) == 0  # flag and backdrop removed
    assert alpha.getpixel((256, 200)) == 255 and alpha.getpixel((256, 500)) == 255  # face and uniform kept


def test_search_and_replace_dresses_the_searched_region_and_keeps_the_rest(bedrock: Any) -> None:
    body = {"image": base64.b64encode(person_photo()).decode(), "search_prompt": "upper body clothing", "seed": 3}
    body["prompt"] = "A photo of the same person wearing a red t-shirt and blue jeans."
    image = np.asarray(_decoded(_invoke(bedrock, SEARCH_REPLACE, body)).convert("RGB"), dtype=np.float32)
    original = np.asarray(Image.open(io.BytesIO(person_photo())).convert("RGB"), dtype=np.float32)
    torso = image[470:580, 130:380].reshape(-1, 3).mean(axis=0)
    assert torso[0] > 120 > 90 > torso[1]  # the dark navy uniform now wears the red t-shirt
    assert np.abs(image[:60, -60:] - original[:60, -60:]).mean() < 3  # the backdrop is kept
    assert np.abs(image[150:300, 190:330] - original[150:300, 190:330]).mean() < 6  # so is the face


def test_inpaint_paints_the_transparent_area_with_the_prompted_scene(bedrock: Any) -> None:
    cutout = _decoded(_invoke(bedrock, REMOVE_BACKGROUND, {"image": base64.b64encode(person_photo()).decode()}))
    buffer = io.BytesIO()
    cutout.save(buffer, "PNG")
    body = {"image": base64.b64encode(buffer.getvalue()).decode(), "prompt": "a bright modern office", "seed": 5}
    scenes = [np.asarray(_decoded(_invoke(bedrock, INPAINT, body)).convert("RGB"), dtype=np.float32) for _ in (0, 1)]
    assert np.array_equal(scenes[0], scenes[1])  # the same seed paints the same scene
    original = np.asarray(Image.open(io.BytesIO(person_photo())).convert("RGB"), dtype=np.float32)
    assert np.abs(scenes[0][:60, -60:] - original[:60, -60:]).mean() > 20  # the backdrop became a scene
    other = np.asarray(_decoded(_invoke(bedrock, INPAINT, {**body, "seed": 6})).convert("RGB"), dtype=np.float32)
    assert np.abs(other[:60] - scenes[0][:60]).mean() > 3  # another seed, another scene


def test_filtered_answer_has_the_documented_shape(bedrock: Any, aws: AwsModelEmulator) -> None:
    aws.inject(SEARCH_REPLACE, "filtered", detail="Filter reason: prompt")
    body = {"image": _b64_image((256, 256)), "prompt": "x", "search_prompt": "shirt"}
    assert _invoke(bedrock, SEARCH_REPLACE, body) == {"finish_reasons": ["Filter reason: prompt"]}


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        ("throttling", "ThrottlingException", 429),
        ("model_timeout", "ModelTimeoutException", 408),
        ("service_unavailable", "ServiceUnavailableException", 503),
        ("quota", "ServiceQuotaExceededException", 400),
        ("model_error", "ModelErrorException", 424),
    ],
)
def test_bedrock_faults_parse_into_the_real_error_codes(
    bedrock: Any, aws: AwsModelEmulator, kind: str, code: str, status: int
) -> None:
    aws.inject(REMOVE_BACKGROUND, kind)
    got_code, got_status, _ = _error(lambda: _invoke(bedrock, REMOVE_BACKGROUND, {"image": _b64_image((256, 256))}))
    assert (got_code, got_status) == (code, status)
    # the fault is used up: the next call succeeds
    assert _invoke(bedrock, REMOVE_BACKGROUND, {"image": _b64_image((256, 256))})["finish_reasons"] == [None]


def test_converse_validates_image_blocks(bedrock: Any) -> None:
    png = base64.b64decode(_b64_image((128, 128)))
    messages = [{"role": "user", "content": [{"image": {"format": "jpeg", "source": {"bytes": png}}}, {"text": "hi"}]}]
    code, status, message = _error(lambda: bedrock.converse(modelId=VISION, messages=messages))
    assert (code, status) == ("ValidationException", 400)
    assert "declared format" in message
    messages[0]["content"][0]["image"]["format"] = "png"
    answer = bedrock.converse(modelId=VISION, messages=messages, inferenceConfig={"maxTokens": 100})
    assert answer["stopReason"] == "end_turn"
    assert "Colour: brown" in answer["output"]["message"]["content"][0]["text"]


def test_unsigned_requests_are_refused(aws: AwsModelEmulator) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{aws.url}/model/{REMOVE_BACKGROUND}/invoke", data=b"{}", headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 403
    assert caught.value.headers["x-amzn-ErrorType"].startswith("IncompleteSignatureException")


def test_sagemaker_contract_violations_come_back_as_model_errors(sagemaker: Any) -> None:
    body = {"person_image_base64": _b64_image((256, 256)), "garment_description": "x", "mode": "beach", "seed": 1}
    code, status, message = _error(
        lambda: sagemaker.invoke_endpoint(EndpointName=ENDPOINT, Body=json.dumps(body), ContentType="application/json")
    )
    assert (code, status) == ("ModelError", 424)
    assert "mode: 'beach' is not one of ['studio', 'environment']" in message


def test_sagemaker_unknown_endpoint_is_a_validation_error(sagemaker: Any) -> None:
    code, status, message = _error(
        lambda: sagemaker.invoke_endpoint(EndpointName="nope", Body=b"{}", ContentType="application/json")
    )
    assert (code, status) == ("ValidationError", 400)
    assert "nope" in message


def test_an_ordered_call_answers_once_the_other_was_made_and_fails_when_it_never_is(
    aws: AwsModelEmulator, bedrock: Any
) -> None:
    """``answer_after``: the order a test checks, with no delay racing the code under test."""
    from concurrent.futures import ThreadPoolExecutor

    aws.answer_after(REMOVE_BACKGROUND, VISION, "ended")
    aws.answer_after(VISION, REMOVE_BACKGROUND, "started")  # so the first is surely waiting
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(_invoke, bedrock, REMOVE_BACKGROUND, {"image": _b64_image((256, 256))})
        messages = [{"role": "user", "content": [{"text": "describe"}]}]
        bedrock.converse(modelId=VISION, messages=messages, inferenceConfig={"maxTokens": 50})
        assert waiting.result(timeout=60)["finish_reasons"] == [None]
    cut = next(c for c in aws.calls if c.target == REMOVE_BACKGROUND)
    seen = next(c for c in aws.calls if c.target == VISION)
    assert cut.started < seen.ended <= cut.ended

    aws.reset()
    aws.answer_after(REMOVE_BACKGROUND, VISION, "started", within=0.2)  # VISION is never called
    code, status, message = _error(lambda: _invoke(bedrock, REMOVE_BACKGROUND, {"image": _b64_image((256, 256))}))
    assert (code, status) == ("ServiceUnavailableException", 503)
    assert VISION in message

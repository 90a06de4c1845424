"""The moderation emulator answers the real boto3 clients as the services do: their error codes
for what the services refuse, answers that botocore's output shapes describe (checked on every
answer by ``aws_shapes.check_output``), and a refusal of unsigned requests."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from PIL import Image

from tryon_dev.moderation_emulator import (
    DENIED_TOPIC,
    EXPLICIT_NUDITY,
    ModerationEmulator,
    emulator_client_factory,
)

pytestmark = pytest.mark.integration


def jpeg(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def emulator() -> Iterator[ModerationEmulator]:
    with ModerationEmulator() as running:
        yield running


@pytest.fixture
def clients(emulator: ModerationEmulator) -> dict[str, Any]:
    emulator.reset()
    create = emulator_client_factory(emulator.url)
    return {"guardrail": create("bedrock-runtime"), "rekognition": create("rekognition")}


def apply(client: Any, content: list[dict[str, Any]], version: str = "1") -> dict[str, Any]:
    answer: dict[str, Any] = client.apply_guardrail(
        guardrailIdentifier="tryonguardrail01", guardrailVersion=version, source="INPUT", content=content
    )
    return answer


def test_the_denied_topic_intervenes_and_names_itself(clients: dict[str, Any]) -> None:
    answer = apply(clients["guardrail"], [{"text": {"text": "now get her out of those clothes"}}])
    assert answer["action"] == "GUARDRAIL_INTERVENED"
    assert answer["assessments"][0]["topicPolicy"]["topics"][0]["name"] == DENIED_TOPIC
    assert answer["usage"]["topicPolicyUnits"] == 1
    assert apply(clients["guardrail"], [{"text": {"text": "a navy suit"}}])["action"] == "NONE"


def test_an_image_the_bytes_of_which_are_not_its_format_is_a_validation_error(clients: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as raised:
        apply(clients["guardrail"], [{"image": {"format": "png", "source": {"bytes": jpeg((100, 100))}}}])
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_an_unknown_guardrail_version_is_not_found(clients: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as raised:
        apply(clients["guardrail"], [{"text": {"text": "a navy suit"}}], version="7")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"GIF89a not a jpeg", "InvalidImageFormatException"),
        (jpeg((60, 200)), "InvalidParameterException"),  # under Rekognition's 80 px
    ],
)
def test_rekognition_refuses_what_it_cannot_read(clients: dict[str, Any], data: bytes, code: str) -> None:
    with pytest.raises(ClientError) as raised:
        clients["rekognition"].detect_moderation_labels(Image={"Bytes": data})
    assert raised.value.response["Error"]["Code"] == code


def test_rekognition_labels_above_the_minimum_confidence(clients: dict[str, Any], emulator: ModerationEmulator) -> None:
    emulator.label_images(EXPLICIT_NUDITY)
    labels = clients["rekognition"].detect_moderation_labels(Image={"Bytes": jpeg((100, 100))}, MinConfidence=97)
    assert [label["Name"] for label in labels["ModerationLabels"]] == ["Explicit", "Explicit Nudity"]
    assert clients["rekognition"].detect_moderation_labels(Image={"Bytes": jpeg((100, 100))})["ModerationLabels"] == []


def test_an_unsigned_request_is_refused(emulator: ModerationEmulator) -> None:
    answer = requests.post(
        emulator.url,
        data=b"{}",
        headers={"X-Amz-Target": "RekognitionService.DetectModerationLabels"},
        timeout=5,
    )
    assert answer.status_code == 403

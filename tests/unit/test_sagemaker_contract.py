"""What the SageMaker backend sends is what the contract's one definition allows.

The schema in ``contracts/`` is also what ``model_server/`` validates incoming bodies against,
so a change on either side that the other would refuse fails here or in the model server's tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, ValidationError
from PIL import Image

from tryon_api.backends.sagemaker import CONTRACT_VERSION, tryon_request
from tryon_api.settings import Settings, SettingsError
from tryon_api.tryon.interface import GenerationInput

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "contracts" / "sagemaker-tryon.v1.schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text())
VALIDATOR = Draft202012Validator(SCHEMA)


def job(with_garment: bool, mode: str = "studio") -> GenerationInput:
    garment = Image.new("RGB", (300, 300), (200, 20, 30)) if with_garment else None
    return GenerationInput(
        person=Image.new("RGB", (400, 600), (120, 140, 160)),
        clothing_description="Black leather jacket with white t-shirt underneath",
        mode=mode,  # type: ignore[arg-type]
        seed=2**31 - 1,
        garment=garment,
    )


def test_the_schema_is_a_valid_2020_12_schema_of_version_1() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["contract_version"]["const"] == CONTRACT_VERSION == "1"


@pytest.mark.parametrize("mode", ["studio", "environment"])
@pytest.mark.parametrize("with_garment", [False, True], ids=["text-only", "garment-image"])
def test_the_backends_request_validates_against_the_contract(mode: str, with_garment: bool) -> None:
    payload = tryon_request(job(with_garment, mode))
    VALIDATOR.validate(payload)
    assert payload["contract_version"] == "1"
    assert "num_inference_steps" not in payload  # the container's own default
    assert (payload["garment_image_base64"] is None) is not with_garment


def test_configured_inference_steps_are_sent_and_valid() -> None:
    payload = tryon_request(job(True), inference_steps=8)
    VALIDATOR.validate(payload)
    assert payload["num_inference_steps"] == 8


def test_the_schema_refuses_what_the_model_server_refuses() -> None:
    payload = tryon_request(job(False))
    for broken in (
        {**payload, "contract_version": "2"},
        {**payload, "num_inference_steps": 0},
        {**payload, "mode": "beach"},
        {**payload, "unexpected": True},
        {key: value for key, value in payload.items() if key != "seed"},
    ):
        with pytest.raises(ValidationError):
            VALIDATOR.validate(broken)


def test_inference_steps_setting_is_bounded_by_the_contract() -> None:
    assert Settings.from_env({"TRYON_SAGEMAKER_INFERENCE_STEPS": "8"}).sagemaker_inference_steps == 8
    with pytest.raises(SettingsError, match="TRYON_SAGEMAKER_INFERENCE_STEPS must be a number between 0 and 100"):
        Settings.from_env({"TRYON_SAGEMAKER_INFERENCE_STEPS": "101"})

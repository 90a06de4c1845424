"""Configuration read at start-up, and the shared contract file itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import KLEIN, QWEN
from tryon_model_server.contract import SCHEMA_PATH, parse_body
from tryon_model_server.families import get_family
from tryon_model_server.families.qwen_image_edit import BASE, LIGHTNING, published_scheduler
from tryon_model_server.settings import ServerSettings, SettingsError

BASE_STEPS, BASE_MIN_STEPS, BASE_MAX_STEPS, LIGHTNING_STEPS = (
    BASE.default,
    BASE.minimum,
    BASE.maximum,
    LIGHTNING.default,
)


def test_defaults_serve_the_sagemaker_model_directory_on_8080() -> None:
    settings = ServerSettings.from_env({})
    assert settings.model_dir == Path("/opt/ml/model")
    assert settings.port == 8080
    assert settings.lora_path is None
    assert (settings.default_steps, settings.true_cfg_scale) == (BASE_STEPS, 4.0)


@pytest.mark.parametrize(("asked", "runs"), [(None, BASE_STEPS), (1, 2), (2, 2), (30, 30), (50, 50), (100, 50)])
def test_the_base_model_runs_the_steps_asked_clamped_to_its_bounds(asked: int | None, runs: int) -> None:
    assert ServerSettings.from_env({}).steps_for(asked) == runs


def test_one_base_step_would_denoise_with_a_nan_sigma() -> None:
    """Why the base model's minimum is 2: its published schedule stretches the last sigma to 0.02."""
    import numpy as np
    from diffusers import FlowMatchEulerDiscreteScheduler

    config = published_scheduler().config
    scheduler = FlowMatchEulerDiscreteScheduler.from_config(config)
    with np.errstate(invalid="ignore"):
        scheduler.set_timesteps(sigmas=np.linspace(1.0, 1.0, 1), mu=0.69)
    assert scheduler.sigmas[0].isnan()
    scheduler.set_timesteps(sigmas=np.linspace(1.0, 1 / BASE_MIN_STEPS, BASE_MIN_STEPS), mu=0.69)
    assert not scheduler.sigmas.isnan().any()


@pytest.mark.parametrize("asked", [None, 1, 3, 4, 8, 100])
def test_a_distilled_model_runs_its_distilled_steps_whatever_is_asked(asked: int | None) -> None:
    four_step = ServerSettings.from_env({"TRYON_LORA_PATH": "lightning-4steps.safetensors"})
    eight_step = ServerSettings.from_env({"TRYON_LORA_PATH": "lightning-8.safetensors", "TRYON_DEFAULT_STEPS": "8"})
    assert four_step.distilled and four_step.steps_for(asked) == LIGHTNING_STEPS == 4
    assert eight_step.steps_for(asked) == 8


def test_the_contract_says_how_steps_are_bounded() -> None:
    """The schema documents the rule settings.steps_for applies, and the answer field reporting it."""
    schema = json.loads(SCHEMA_PATH.read_text())
    asked = schema["properties"]["num_inference_steps"]["description"]
    assert f"clamped to {BASE_MIN_STEPS}..the server's maximum ({BASE_MAX_STEPS} unless configured" in asked
    assert "fixed at its distilled count" in asked
    success = schema["$defs"]["response"]["oneOf"][0]
    assert success["properties"]["num_inference_steps"]["type"] == "integer"
    assert "num_inference_steps" not in success["required"]


def test_a_relative_lora_path_is_inside_the_model_directory() -> None:
    settings = ServerSettings.from_env({"TRYON_LORA_PATH": "lora/lightning.safetensors"}, Path("/models/qwen"))
    assert settings.lora_path == Path("/models/qwen/lora/lightning.safetensors")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TRYON_DEFAULT_STEPS": "1"}, "TRYON_DEFAULT_STEPS must be between 2 and 50"),
        ({"TRYON_MAX_STEPS": "30", "TRYON_DEFAULT_STEPS": "40"}, "TRYON_DEFAULT_STEPS must be between 2 and 30"),
        ({"TRYON_MAX_STEPS": "101"}, "TRYON_MAX_STEPS must be between 2 and 100"),
        ({"TRYON_LORA_PATH": "lora.safetensors", "TRYON_DEFAULT_STEPS": "40"}, "between 1 and 16, got 40"),
        ({"TRYON_MODEL_PORT": "http"}, "TRYON_MODEL_PORT must be an integer"),
        ({"TRYON_QUANTIZATION": "int3"}, "TRYON_QUANTIZATION must be one of none, fp8"),
        ({"TRYON_DEVICE": "tpu"}, "TRYON_DEVICE must be auto, cpu or cuda"),
        ({"TRYON_TRUE_CFG_SCALE": "lots"}, "TRYON_TRUE_CFG_SCALE must be a number"),
    ],
)
def test_bad_settings_stop_the_start_with_a_message(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        ServerSettings.from_env(env)


def test_the_contract_file_is_a_valid_2020_12_schema_at_the_repository_root() -> None:
    assert Path(__file__).resolve().parents[2] / "contracts" / "sagemaker-tryon.v1.schema.json" == SCHEMA_PATH
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["contract_version"] == {**schema["properties"]["contract_version"], "const": "1"}


def test_a_body_without_contract_version_or_steps_is_version_1() -> None:
    body = {
        "person_image_base64": "aGk=",
        "garment_image_base64": None,
        "garment_description": "scarf",
        "mode": "studio",
        "seed": 0,
        "output_format": "jpeg",
    }
    assert parse_body(json.dumps(body).encode()) == body


# ------------------------------------------------------------------ the family: from the directory, or named


def test_the_family_is_read_from_the_model_directory(family: str, tiny_model_dir: Path) -> None:
    settings = ServerSettings.from_env({}, tiny_model_dir)
    assert settings.family == family
    limits = get_family(family).limits
    assert (settings.min_image_side, settings.max_image_aspect) == (limits.min_side, limits.max_aspect)
    assert ServerSettings.from_env({"TRYON_MODEL_FAMILY": family}, tiny_model_dir).family == family


def test_a_directory_of_another_family_stops_the_start_with_a_message(family: str, tiny_model_dir: Path) -> None:
    other = KLEIN if family == QWEN else QWEN
    with pytest.raises(SettingsError, match=f"TRYON_MODEL_FAMILY={other} but .* holds {family}"):
        ServerSettings.from_env({"TRYON_MODEL_FAMILY": other}, tiny_model_dir)


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (
            {"_class_name": "StableDiffusionPipeline"},
            "holds a 'StableDiffusionPipeline' pipeline, which no model family",
        ),
        ({"_class_name": "Flux2KleinPipeline", "is_distilled": False}, "does not say is_distilled: true"),
        ([], "is not a JSON object"),
    ],
)
def test_a_directory_no_family_serves_stops_the_start(tmp_path: Path, index: object, message: str) -> None:
    (tmp_path / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(SettingsError, match=message):
        ServerSettings.from_env({}, tmp_path)


def test_an_unknown_family_name_stops_the_start() -> None:
    with pytest.raises(SettingsError, match="TRYON_MODEL_FAMILY must be one of qwen-image-edit-2511, flux2-klein-4b"):
        ServerSettings.from_env({"TRYON_MODEL_FAMILY": "sdxl"})


@pytest.mark.parametrize("asked", [None, 1, 4, 50])
def test_klein_is_step_distilled_whatever_is_asked(asked: int | None) -> None:
    settings = ServerSettings.from_env({"TRYON_MODEL_FAMILY": KLEIN})
    assert settings.distilled and settings.true_cfg_scale == 1.0
    assert settings.steps_for(asked) == 4
    assert (settings.min_image_side, settings.max_image_aspect) == (64, 8.0)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TRYON_LORA_PATH": "lora.safetensors"}, "flux2-klein-4b is step-distilled already and takes no LoRA"),
        ({"TRYON_TRUE_CFG_SCALE": "4"}, "runs without guidance"),
        ({"TRYON_DEFAULT_STEPS": "17"}, "TRYON_DEFAULT_STEPS must be between 1 and 16"),
        ({"TRYON_GARMENT_PIXELS": "4096"}, "TRYON_GARMENT_PIXELS must be between 65536 and 1048576"),
    ],
)
def test_bad_klein_settings_stop_the_start_with_a_message(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        ServerSettings.from_env({"TRYON_MODEL_FAMILY": KLEIN, **env})


def test_the_garment_size_knob_is_refused_where_the_family_ignores_it() -> None:
    with pytest.raises(SettingsError, match="TRYON_GARMENT_PIXELS: qwen-image-edit-2511's pipeline sizes every photo"):
        ServerSettings.from_env({"TRYON_MODEL_FAMILY": QWEN, "TRYON_GARMENT_PIXELS": str(512 * 512)})
    assert (
        ServerSettings.from_env({"TRYON_MODEL_FAMILY": KLEIN, "TRYON_GARMENT_PIXELS": "262144"}).garment_pixels
        == 262144
    )

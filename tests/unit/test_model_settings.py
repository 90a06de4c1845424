"""Model backend settings: defaults, overrides, validation at start-up."""

from __future__ import annotations

import msgspec
import pytest

from tryon_api.aws_clients import model_client_config
from tryon_api.backends.factory import create_backend
from tryon_api.settings import Settings, SettingsError


def test_defaults_are_the_us_cross_region_profiles() -> None:
    settings = Settings.from_env({})
    assert settings.bedrock_search_replace_model_id == "us.stability.stable-image-search-replace-v1:0"
    assert settings.bedrock_inpaint_model_id == "us.stability.stable-image-inpaint-v1:0"
    assert settings.bedrock_remove_background_model_id == "us.stability.stable-image-remove-background-v1:0"
    assert settings.bedrock_vision_model_id == "us.amazon.nova-2-lite-v1:0"


def test_overrides_are_read() -> None:
    settings = Settings.from_env(
        {
            "TRYON_BACKEND": "sagemaker",
            "TRYON_SAGEMAKER_ENDPOINT_NAME": "my-vton-endpoint",
            "TRYON_MODEL_REGION": "eu-west-1",
            "TRYON_BEDROCK_INPAINT_MODEL_ID": "eu.stability.stable-image-inpaint-v1:0",
            "TRYON_MODEL_READ_TIMEOUT_SECONDS": "60",
            "TRYON_MODEL_MAX_ATTEMPTS": "2",
        }
    )
    assert settings.sagemaker_endpoint_name == "my-vton-endpoint"
    assert settings.model_region == "eu-west-1"
    assert settings.bedrock_inpaint_model_id == "eu.stability.stable-image-inpaint-v1:0"
    config = model_client_config(settings)
    assert config.read_timeout == 60
    # botocore makes one attempt; the attempts setting is our retry layer's (model_calls).
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    backend = create_backend(msgspec.structs.replace(settings, backend="bedrock"), model_client=object())
    assert backend.policy.max_attempts == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"TRYON_BACKEND": "sagemaker"}, "TRYON_SAGEMAKER_ENDPOINT_NAME is required"),
        ({"TRYON_SAGEMAKER_ENDPOINT_NAME": "bad_name!"}, "not a valid endpoint name"),
        ({"TRYON_MODEL_REGION": "Mars"}, "TRYON_MODEL_REGION"),
        ({"TRYON_BEDROCK_VISION_MODEL_ID": "has spaces in it"}, "not a valid model id"),
        ({"TRYON_MODEL_READ_TIMEOUT_SECONDS": "0"}, "between"),
        ({"TRYON_MODEL_MAX_ATTEMPTS": "many"}, "must be a number"),
    ],
)
def test_invalid_values_fail_at_start_up(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        Settings.from_env(env)

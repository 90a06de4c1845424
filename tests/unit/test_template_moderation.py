"""The moderation resources of template.yaml: the guardrail the issue asks for, its published
version wired into both functions, the level and image service as parameters. Which calls the
roles allow is checked from the calls botocore sends, in
tests/integration/models/test_moderation_stage.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cfn_template import load_template, resolve
from tryon_api.settings import Settings


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def props(template: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"][name]["Properties"]
    return found


def test_the_guardrail_filters_sexual_content_strongly_on_text_and_images_both_ways(template: dict[str, Any]) -> None:
    assert template["Resources"]["ModerationGuardrail"]["Type"] == "AWS::Bedrock::Guardrail"
    (sexual,) = props(template, "ModerationGuardrail")["ContentPolicyConfig"]["FiltersConfig"]
    assert sexual["Type"] == "SEXUAL"
    assert (sexual["InputStrength"], sexual["OutputStrength"]) == ("HIGH", "HIGH")
    assert set(sexual["InputModalities"]) == set(sexual["OutputModalities"]) == {"TEXT", "IMAGE"}


def test_the_guardrail_denies_undressing_or_sexualizing_a_real_person(template: dict[str, Any]) -> None:
    (topic,) = props(template, "ModerationGuardrail")["TopicPolicyConfig"]["TopicsConfig"]
    assert topic["Type"] == "DENY"
    assert "undress" in topic["Name"].lower() and "real person" in topic["Name"].lower()
    # CloudFormation's limits (AWS::Bedrock::Guardrail TopicConfig; the API allows five examples).
    assert 1 <= len(topic["Definition"]) <= 200 and len(topic["Name"]) <= 100
    assert 1 <= len(topic["Examples"]) <= 5 and all(1 <= len(example) <= 100 for example in topic["Examples"])


def test_both_functions_apply_the_published_version_at_the_configured_level(template: dict[str, Any]) -> None:
    version = props(template, "ModerationGuardrailVersion")
    assert version["GuardrailIdentifier"] == {"Fn::GetAtt": ["ModerationGuardrail", "GuardrailId"]}
    for function in ("TryOnFunction", "JobWorkerFunction"):
        variables = props(template, function)["Environment"]["Variables"]
        assert variables["TRYON_MODERATION"] == {"Ref": "ModerationLevel"}
        assert variables["TRYON_MODERATION_GUARDRAIL_ID"] == {"Fn::GetAtt": ["ModerationGuardrail", "GuardrailId"]}
        assert variables["TRYON_MODERATION_GUARDRAIL_VERSION"] == {
            "Fn::GetAtt": ["ModerationGuardrailVersion", "Version"]
        }
        assert variables["TRYON_MODERATION_IMAGE_SERVICE"] == {"Ref": "ModerationImageService"}


@pytest.mark.parametrize("level", ["permissive", "conservative", "off"])
@pytest.mark.parametrize("service", ["rekognition", "guardrail"])
def test_every_allowed_parameter_value_is_a_setting_the_code_accepts(
    template: dict[str, Any], level: str, service: str
) -> None:
    assert level in template["Parameters"]["ModerationLevel"]["AllowedValues"]
    assert service in template["Parameters"]["ModerationImageService"]["AllowedValues"]
    variables = props(template, "TryOnFunction")["Environment"]["Variables"]
    environment = {
        name: str(resolve(value, template, {"ModerationLevel": level, "ModerationImageService": service}))
        for name, value in variables.items()
        if name.startswith("TRYON_MODERATION")
    }
    settings = Settings.from_env(environment)
    assert (settings.moderation, settings.moderation_image_service) == (level, service)
    assert settings.moderation_guardrail_id and settings.moderation_guardrail_version


def test_the_defaults_are_permissive_with_rekognition_for_images(template: dict[str, Any]) -> None:
    assert template["Parameters"]["ModerationLevel"]["Default"] == "permissive"
    assert template["Parameters"]["ModerationImageService"]["Default"] == "rekognition"

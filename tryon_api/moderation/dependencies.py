"""Builds the moderation stage from the settings: the local phrasing check always, the Bedrock
guardrail for text when one is configured, and the image service the settings name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from tryon_api.moderation.interface import ImageChecker, TextChecker
from tryon_api.moderation.phrasing import LocalPhrasingChecker
from tryon_api.moderation.stage import ModerationStage
from tryon_api.settings import Settings

logger = Logger(child=True)

# ``client_factory(service, region=...)``: tryon_api.aws_clients.create_quick_client in production.
ClientFactory = Callable[..., Any]

MODERATION_OFF_WARNING = (
    "content moderation is off (TRYON_MODERATION=off): descriptions and generated images are not "
    "checked, except for selfies that appear to show a minor"
)


def build_moderation(settings: Settings, client_factory: ClientFactory | None = None) -> ModerationStage:
    if client_factory is None:
        from tryon_api.aws_clients import create_quick_client

        client_factory = create_quick_client
    region = settings.model_region or None
    text_checkers: list[TextChecker] = [LocalPhrasingChecker()]
    image_checker: ImageChecker | None = None
    guardrail = None
    if settings.moderation_guardrail_id:
        from tryon_api.moderation.aws import GuardrailChecker

        guardrail = GuardrailChecker(
            client_factory("bedrock-runtime", region=region),
            settings.moderation_guardrail_id,
            settings.moderation_guardrail_version,
        )
        text_checkers.append(guardrail)
    if settings.moderation_image_service == "guardrail":
        image_checker = guardrail
    elif settings.moderation_image_service == "rekognition":
        from tryon_api.moderation.aws import RekognitionImageChecker

        image_checker = RekognitionImageChecker(
            client_factory("rekognition", region=region), settings.moderation_min_confidence
        )
    if settings.moderation == "off":
        logger.warning(MODERATION_OFF_WARNING)
    return ModerationStage(settings.moderation, text_checkers, image_checker)

"""The moderation stage the pipeline calls: the request before any model is paid for, each
generated image before it is returned or stored.

- A refusal is ``ContentFiltered`` (422, the message the models' own filters give), one metric
  per stage (``ModerationRefusedInputText``, ``...InputImage``, ``...OutputImage``, dimension
  ``service``: the ``content-filtered-spike`` alarm and the dashboard read them), and one log line
  naming the stage, the checker and its reason, never the content.
- A checker that cannot answer is ``ModerationUnavailableError`` (503 with Retry-After) and the
  metric ``ModerationUnavailable``: the stage fails closed.
- A selfie that appears to show a minor (a face whose estimated age range starts under 18, from
  the person check's ``PersonFinding``) is checked at the conservative level whatever the setting,
  ``off`` included.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from tryon_api.moderation.interface import (
    ADULT_AGE,
    ImageChecker,
    ImageToCheck,
    ModerationLevel,
    ModerationUnavailable,
    Stage,
    TextChecker,
    Verdict,
)
from tryon_api.tryon.errors import ContentFiltered, ModerationUnavailableError
from tryon_api.tryon.interface import PersonFinding

if TYPE_CHECKING:
    from PIL import Image

logger = Logger(child=True)
metrics = Metrics()  # Powertools shares one metric set: the entry point (handler or worker) flushes it

REFUSAL_METRICS: dict[Stage, str] = {
    "input_text": "ModerationRefusedInputText",
    "input_image": "ModerationRefusedInputImage",
    "output_image": "ModerationRefusedOutputImage",
}
UNAVAILABLE_METRIC = "ModerationUnavailable"


def appears_to_be_a_minor(person: PersonFinding | None) -> bool:
    return person is not None and any(low < ADULT_AGE for low, _ in person.age_ranges)


# "The minimum image dimensions is 80 pixels for both height and width" (Rekognition Developer
# Guide, Guidelines and quotas): a smaller garment photo is enlarged to it for the check.
MIN_CHECKED_SIDE = 80


def encode_for_check(image: Image.Image) -> ImageToCheck:
    """A decoded input (the garment photo) as the services take it."""
    picture = image.convert("RGB")
    if min(picture.size) < MIN_CHECKED_SIDE:
        scale = MIN_CHECKED_SIDE / min(picture.size)
        picture = picture.resize((max(MIN_CHECKED_SIDE, round(picture.width * scale)),
                                  max(MIN_CHECKED_SIDE, round(picture.height * scale))))  # fmt: skip
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return ImageToCheck(buffer.getvalue(), "jpeg")


class ModerationStage:
    def __init__(
        self,
        level: ModerationLevel,
        text_checkers: Sequence[TextChecker],
        image_checker: ImageChecker | None = None,
    ) -> None:
        self.level = level
        self.text_checkers = tuple(text_checkers)
        self.image_checker = image_checker

    def level_for(self, person: PersonFinding | None) -> ModerationLevel:
        return "conservative" if appears_to_be_a_minor(person) else self.level

    def check_request(self, description: str, garment: Image.Image | None, person: PersonFinding | None) -> None:
        """Before any model: the description (the free local check first), then the garment photo."""
        level = self.level_for(person)
        if level == "off":
            return
        for text_checker in self.text_checkers:
            self._judge("input_text", text_checker.name, partial(text_checker.check_text, description, level))
        if garment is not None and self.image_checker is not None:
            image, image_checker = encode_for_check(garment), self.image_checker
            self._judge(
                "input_image", image_checker.name, partial(image_checker.check_image, image, level, "input_image")
            )

    def check_output(self, jpeg: bytes, person: PersonFinding | None) -> None:
        """After generation: the exact bytes that would be returned or stored."""
        level = self.level_for(person)
        if level == "off" or self.image_checker is None:
            return
        checker, image = self.image_checker, ImageToCheck(jpeg, "png" if jpeg.startswith(b"\x89PNG") else "jpeg")
        self._judge("output_image", checker.name, partial(checker.check_image, image, level, "output_image"))

    def _judge(self, stage: Stage, checker: str, check: Callable[[], Verdict]) -> None:
        try:
            verdict = check()
        except ModerationUnavailable as error:
            metrics.add_metric(name=UNAVAILABLE_METRIC, unit=MetricUnit.Count, value=1)
            logger.warning("moderation unavailable", extra={"stage": stage, "checker": checker, "error": str(error)})
            raise ModerationUnavailableError() from None
        if not verdict.allowed:
            metrics.add_metric(name=REFUSAL_METRICS[stage], unit=MetricUnit.Count, value=1)
            logger.info("moderation refused", extra={"stage": stage, "checker": checker, "reason": verdict.reason})
            raise ContentFiltered()

"""What the moderation stage asks of a checker, whatever service answers.

A checker says whether one piece of content is allowed at a level; it raises
``ModerationUnavailable`` when it cannot tell (the stage then fails closed: 503, never an
unmoderated image). Refusals carry a short reason for the logs, never the content itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

# permissive: swimwear and underwear allowed, nudity and sexual content refused.
# conservative: also underwear, swimwear, lingerie and see-through garments refused.
# off: nothing checked (operators who moderate elsewhere; a warning at start-up and in `make doctor`).
ModerationLevel = Literal["permissive", "conservative", "off"]
MODERATION_LEVELS: tuple[ModerationLevel, ...] = ("permissive", "conservative", "off")
# What is checked, one metric each: the description, the garment photo, every generated image.
Stage = Literal["input_text", "input_image", "output_image"]
STAGES: tuple[Stage, ...] = ("input_text", "input_image", "output_image")
# The adult age the minors rule compares a face's estimated age range with.
ADULT_AGE = 18


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    # What refused it (a rule's category, a service's label or filter): logged, never returned.
    reason: str = ""
    checker: str = ""


ALLOWED = Verdict(True)


@dataclass(frozen=True)
class ImageToCheck:
    """An encoded image as a service takes it: JPEG or PNG bytes."""

    data: bytes
    format: Literal["jpeg", "png"]


class ModerationUnavailable(Exception):
    """The checker could not answer (outage, throttling, timeout, refused credentials)."""


class TextChecker(Protocol):
    name: str

    def check_text(self, text: str, level: ModerationLevel) -> Verdict: ...


class ImageChecker(Protocol):
    name: str

    def check_image(self, image: ImageToCheck, level: ModerationLevel, stage: Stage) -> Verdict: ...

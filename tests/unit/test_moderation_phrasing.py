"""The local phrasing check against the fixture of refused and allowed descriptions
(tests/fixtures/moderation_phrasings.json), and the stage's levels, minors rule and answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tryon_api.moderation.interface import ImageToCheck, ModerationLevel, ModerationUnavailable, Stage, Verdict
from tryon_api.moderation.phrasing import LocalPhrasingChecker
from tryon_api.moderation.stage import ModerationStage, appears_to_be_a_minor
from tryon_api.tryon.errors import ContentFiltered, ModerationUnavailableError
from tryon_api.tryon.interface import PersonFinding

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "moderation_phrasings.json").read_text())
CHECKER = LocalPhrasingChecker()


@pytest.mark.parametrize("description", FIXTURE["refused"])
@pytest.mark.parametrize("level", ["permissive", "conservative"])
def test_refused_at_every_level(description: str, level: ModerationLevel) -> None:
    assert not CHECKER.check_text(description, level).allowed


@pytest.mark.parametrize("description", FIXTURE["conservative_only"])
def test_swimwear_underwear_and_see_through_pass_permissive_and_not_conservative(description: str) -> None:
    assert CHECKER.check_text(description, "permissive").allowed
    verdict = CHECKER.check_text(description, "conservative")
    assert not verdict.allowed and verdict.reason == "underwear-swimwear-or-see-through"


@pytest.mark.parametrize("description", FIXTURE["allowed"])
@pytest.mark.parametrize("level", ["permissive", "conservative"])
def test_ordinary_clothing_passes_at_every_level(description: str, level: ModerationLevel) -> None:
    assert CHECKER.check_text(description, level).allowed, description


def test_the_issues_examples_are_in_the_fixture() -> None:
    assert {"shirtless", "a transparent mesh top with nothing underneath", "nackt", "n4ked"} <= set(FIXTURE["refused"])
    assert {"a red bikini", "a black lace bra"} <= set(FIXTURE["conservative_only"])
    assert "a navy suit" in FIXTURE["allowed"]


def test_off_checks_nothing() -> None:
    assert CHECKER.check_text("naked", "off").allowed


@pytest.mark.parametrize(
    ("finding", "minor"),
    [
        (None, False),
        (PersonFinding(1), False),
        (PersonFinding(1, ((25, 33),)), False),
        (PersonFinding(1, ((18, 24),)), False),
        (PersonFinding(1, ((14, 20),)), True),
        (PersonFinding(2, ((30, 40), (6, 10))), True),
    ],
)
def test_a_face_whose_age_range_starts_under_18_is_a_minor(finding: PersonFinding | None, minor: bool) -> None:
    assert appears_to_be_a_minor(finding) is minor


class RecordingImageChecker:
    name = "recording"

    def __init__(self, verdict: Verdict | Exception) -> None:
        self.verdict = verdict
        self.seen: list[tuple[ModerationLevel, Stage, ImageToCheck]] = []

    def check_image(self, image: ImageToCheck, level: ModerationLevel, stage: Stage) -> Verdict:
        self.seen.append((level, stage, image))
        if isinstance(self.verdict, Exception):
            raise self.verdict
        return self.verdict


def stage_with(level: ModerationLevel, image: Any) -> ModerationStage:
    return ModerationStage(level, [CHECKER], image)


def test_a_minor_is_checked_conservatively_even_when_moderation_is_off() -> None:
    images = RecordingImageChecker(Verdict(True))
    stage = stage_with("off", images)
    stage.check_request("a red bikini", None, PersonFinding(1, ((20, 28),)))  # an adult: off checks nothing
    with pytest.raises(ContentFiltered):
        stage.check_request("a red bikini", None, PersonFinding(1, ((12, 16),)))
    stage.check_output(b"\xff\xd8\xff jpeg", PersonFinding(1, ((12, 16),)))
    assert [(level, where) for level, where, _ in images.seen] == [("conservative", "output_image")]


def test_an_image_service_outage_is_a_503_and_a_refusal_a_422() -> None:
    with pytest.raises(ModerationUnavailableError) as unavailable:
        stage_with("permissive", RecordingImageChecker(ModerationUnavailable("x"))).check_output(b"jpeg", None)
    assert unavailable.value.status == 503 and unavailable.value.retry_after == 5
    with pytest.raises(ContentFiltered) as refused:
        stage_with("permissive", RecordingImageChecker(Verdict(False, "label:Explicit"))).check_output(b"jpeg", None)
    assert refused.value.status == 422

"""The AWS adapters: Amazon Bedrock Guardrails (``ApplyGuardrail``) for text, and for images where
chosen, and Amazon Rekognition ``DetectModerationLabels`` for images.

Why each (docs/deploying.md, "Content moderation", has the prices): the guardrail's content
filters and its denied topic read a description's meaning (``get her out of those clothes``) where
no word list can; for images, Rekognition names what it sees in a three-level taxonomy that
separates explicit nudity from swimwear and underwear, which is exactly the line between the two
levels, where the guardrail's image filter gives one SEXUAL confidence for both.

Any failure to answer (an error code, throttling, a timeout, a dropped connection, an image the
guardrail did not cover) is ``ModerationUnavailable``: the stage fails closed.
"""

from __future__ import annotations

import io
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tryon_api.moderation.interface import (
    ALLOWED,
    ImageToCheck,
    ModerationLevel,
    ModerationUnavailable,
    Stage,
    Verdict,
)

# ApplyGuardrail: "images with sizes up to a maximum of 4 MB" (Bedrock user guide, image content
# filters); DetectModerationLabels: Image.Bytes at most 5,242,880 bytes (botocore's ImageBlob).
GUARDRAIL_MAX_IMAGE_BYTES = 4 * 1024 * 1024
REKOGNITION_MAX_IMAGE_BYTES = 5_242_880

# Rekognition's moderation labels (taxonomy v7, with the v6 names still answered by older model
# versions), compared lower-cased. Permissive refuses nudity and sexual content, conservative also
# swimwear, underwear and partial nudity.
REFUSED_LABELS_PERMISSIVE = frozenset(
    {
        "explicit", "explicit nudity", "explicit sexual activity", "sex toys", "exposed male genitalia",
        "exposed female genitalia", "exposed buttocks or anus", "exposed female nipple",
        "obstructed intimate parts", "obstructed female nipple", "obstructed male genitalia", "implied nudity",
        "nudity", "graphic male nudity", "graphic female nudity", "sexual activity", "illustrated explicit nudity",
        "adult toys", "sexual situations",
    }
)  # fmt: skip
REFUSED_LABELS_CONSERVATIVE = REFUSED_LABELS_PERMISSIVE | frozenset(
    {
        "non-explicit nudity of intimate parts and kissing", "non-explicit nudity", "bare back",
        "exposed male nipple", "partially exposed buttocks", "partially exposed female breast",
        "swimwear or underwear", "female swimwear or underwear", "male swimwear or underwear", "suggestive",
        "partial nudity", "barechested male", "revealing clothes",
    }
)  # fmt: skip


def fit_image(image: ImageToCheck, max_bytes: int) -> ImageToCheck:
    """The image itself when it is small enough, else a smaller JPEG copy of it (the check then
    sees the same picture at fewer pixels)."""
    if len(image.data) <= max_bytes:
        return image
    from PIL import Image

    with Image.open(io.BytesIO(image.data)) as opened:
        picture = opened.convert("RGB")
    scale = (max_bytes / len(image.data)) ** 0.5 * 0.9
    while True:
        size = (max(1, int(picture.width * scale)), max(1, int(picture.height * scale)))
        buffer = io.BytesIO()
        picture.resize(size).save(buffer, "JPEG", quality=85)
        if buffer.tell() <= max_bytes:
            return ImageToCheck(buffer.getvalue(), "jpeg")
        scale *= 0.8


def _unavailable(service: str, error: Exception) -> ModerationUnavailable:
    code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""
    return ModerationUnavailable(f"{service}: {code or type(error).__name__}")


class GuardrailChecker:
    """Bedrock Guardrails' ApplyGuardrail on a published guardrail version."""

    name = "bedrock-guardrail"

    def __init__(self, client: Any, guardrail_id: str, guardrail_version: str) -> None:
        self.client = client
        self.guardrail_id = guardrail_id
        self.guardrail_version = guardrail_version

    def check_text(self, text: str, level: ModerationLevel) -> Verdict:
        return self._apply("INPUT", [{"text": {"text": text}}], images=0)

    def check_image(self, image: ImageToCheck, level: ModerationLevel, stage: Stage) -> Verdict:
        image = fit_image(image, GUARDRAIL_MAX_IMAGE_BYTES)
        block = {"image": {"format": image.format, "source": {"bytes": image.data}}}
        return self._apply("OUTPUT" if stage == "output_image" else "INPUT", [block], images=1)

    def _apply(self, source: str, content: list[dict[str, Any]], *, images: int) -> Verdict:
        try:
            answer = self.client.apply_guardrail(
                guardrailIdentifier=self.guardrail_id,
                guardrailVersion=self.guardrail_version,
                source=source,
                content=content,
            )
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("ApplyGuardrail", error) from None
        if answer.get("action") == "GUARDRAIL_INTERVENED":
            return Verdict(False, _guardrail_reason(answer), self.name)
        if images:
            # An image the guardrail did not look at (no IMAGE modality on its filters) is unchecked.
            covered = (answer.get("guardrailCoverage") or {}).get("images") or {}
            if covered.get("guarded", 0) < images:
                raise ModerationUnavailable("ApplyGuardrail: the guardrail did not cover the image")
        return ALLOWED


def _guardrail_reason(answer: dict[str, Any]) -> str:
    reasons = []
    for assessment in answer.get("assessments") or []:
        for topic in (assessment.get("topicPolicy") or {}).get("topics") or []:
            if topic.get("action") == "BLOCKED":
                reasons.append(f"topic:{topic.get('name', '')}")
        for found in (assessment.get("contentPolicy") or {}).get("filters") or []:
            if found.get("action") == "BLOCKED":
                reasons.append(f"filter:{found.get('type', '')}")
    return ",".join(reasons) or "intervened"


class RekognitionImageChecker:
    """Rekognition's DetectModerationLabels, its labels read at the level."""

    name = "rekognition"

    def __init__(self, client: Any, min_confidence: float) -> None:
        self.client = client
        self.min_confidence = min_confidence

    def check_image(self, image: ImageToCheck, level: ModerationLevel, stage: Stage) -> Verdict:
        image = fit_image(image, REKOGNITION_MAX_IMAGE_BYTES)
        try:
            answer = self.client.detect_moderation_labels(
                Image={"Bytes": image.data}, MinConfidence=self.min_confidence
            )
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("DetectModerationLabels", error) from None
        refused = REFUSED_LABELS_CONSERVATIVE if level == "conservative" else REFUSED_LABELS_PERMISSIVE
        found = sorted(
            str(label.get("Name", ""))
            for label in answer.get("ModerationLabels") or []
            if str(label.get("Name", "")).lower() in refused
        )
        return Verdict(False, "label:" + ",".join(found), self.name) if found else ALLOWED

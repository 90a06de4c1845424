"""A loopback emulator of the two moderation APIs the AWS adapters call, on one port:

- bedrock-runtime ``ApplyGuardrail`` (rest-json, ``POST /guardrail/{id}/version/{version}/apply``);
- rekognition ``DetectModerationLabels`` (json 1.1, ``POST /`` with
  ``X-Amz-Target: RekognitionService.DetectModerationLabels``).

Requests are checked against botocore's input shapes as the services document them (required
members, enum values, image formats by their bytes, the 4 MB and 5 MB image limits, a SigV4
signature of the right service), answers are built from the output shapes and checked with
``aws_shapes.check_output``, and errors use the wire format the real clients parse.

What the emulated classifiers "see": a text intervenes when it holds one of ``denied_phrases``
(the denied topic) and an image gets the labels a test queues with ``label_images`` (or that
``classify`` gives it). Tests inject outages with ``inject``; every call is recorded (``calls``).
"""

from __future__ import annotations

import base64
import io
import json
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from PIL import Image

from tryon_dev.aws_model_errors import check_signature
from tryon_dev.aws_model_requests import EmulatedError
from tryon_dev.aws_shapes import check_output
from tryon_dev.loopback_service import AwsAnswerHandler, LoopbackService
from tryon_dev.person_check_emulator import TARGET as FACES_TARGET
from tryon_dev.person_check_emulator import RekognitionEmulator, detect_faces_answer

APPLY_GUARDRAIL = "ApplyGuardrail"
DETECT_MODERATION_LABELS = "DetectModerationLabels"
GUARDRAIL_MAX_IMAGE_BYTES = 4 * 1024 * 1024
REKOGNITION_MAX_IMAGE_BYTES = 5_242_880
REKOGNITION_MIN_SIDE, REKOGNITION_MAX_SIDE = 80, 10_000
TEXT_UNIT_CHARACTERS = 1000
DENIED_TOPIC = "Undressing or sexualizing a real person"
BLOCKED_MESSAGE = "Sorry, this request cannot be processed."

# fault kind -> (HTTP status, error code per operation)
FAULTS: dict[str, tuple[int, dict[str, str]]] = {
    "throttled": (429, {APPLY_GUARDRAIL: "ThrottlingException", DETECT_MODERATION_LABELS: "ThrottlingException"}),
    "unavailable": (
        503,
        {APPLY_GUARDRAIL: "ServiceUnavailableException", DETECT_MODERATION_LABELS: "ThrottlingException"},
    ),
    "internal": (500, {APPLY_GUARDRAIL: "InternalServerException", DETECT_MODERATION_LABELS: "InternalServerError"}),
    "denied": (403, {APPLY_GUARDRAIL: "AccessDeniedException", DETECT_MODERATION_LABELS: "AccessDeniedException"}),
}

# A label the emulated Rekognition gives: (name, parent name, taxonomy level, confidence).
Label = tuple[str, str, int, float]
EXPLICIT_NUDITY: tuple[Label, ...] = (
    ("Explicit", "", 1, 97.5),
    ("Explicit Nudity", "Explicit", 2, 97.5),
    ("Exposed Female Nipple", "Explicit Nudity", 3, 96.0),
)
SWIMWEAR: tuple[Label, ...] = (
    ("Swimwear or Underwear", "", 1, 93.0),
    ("Female Swimwear or Underwear", "Swimwear or Underwear", 2, 93.0),
)


@dataclass(frozen=True)
class ModerationCall:
    operation: str
    status: int
    source: str = ""  # ApplyGuardrail's INPUT / OUTPUT
    texts: int = 0
    images: int = 0
    fault: str = ""


@dataclass
class _Queued:
    value: Any
    times: int | None  # None: every call from now on


@dataclass
class _State:
    faults: dict[str, deque[_Queued]] = field(default_factory=dict)
    labels: deque[_Queued] = field(default_factory=deque)
    calls: list[ModerationCall] = field(default_factory=list)


def _take(queue: deque[_Queued]) -> Any:
    while queue:
        head = queue[0]
        if head.times is None:
            return head.value
        head.times -= 1
        if head.times <= 0:
            queue.popleft()
        return head.value
    return None


def image_format(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


class ModerationEmulator(LoopbackService):
    """Start it (or use it as a context manager); point ``AWS_ENDPOINT_URL_REKOGNITION`` and the
    moderation's bedrock-runtime client at ``url``."""

    thread_name = "moderation-emulator"

    def __init__(
        self,
        *,
        guardrail_id: str = "tryonguardrail01",
        guardrail_version: str = "1",
        image_modality: bool = True,
        denied_phrases: tuple[str, ...] = ("out of those clothes", "see her without", "show her body"),
        faces: RekognitionEmulator | None = None,
    ) -> None:
        """``image_modality``: the guardrail's filters include IMAGE (else images go unguarded).
        ``faces``: answers Rekognition's DetectFaces on this endpoint too (the person check), since
        one endpoint URL serves every Rekognition operation."""
        super().__init__()
        self.faces = faces
        self.guardrail_id = guardrail_id
        self.guardrail_version = guardrail_version
        self.image_modality = image_modality
        self.denied_phrases = denied_phrases
        self.classify: Callable[[bytes], tuple[Label, ...]] | None = None
        self._state = _State()
        self._lock = threading.Lock()

    # --- control API ------------------------------------------------------------------------
    def inject(self, operation: str, kind: str, *, times: int | None = 1) -> None:
        if kind not in FAULTS:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._state.faults.setdefault(operation, deque()).append(_Queued(kind, times))

    def label_images(self, labels: tuple[Label, ...], *, times: int | None = 1) -> None:
        """The next image check(s), by either service, see these labels."""
        with self._lock:
            self._state.labels.append(_Queued(labels, times))

    def reset(self) -> None:
        with self._lock:
            self._state = _State()
        self.classify = None

    @property
    def calls(self) -> list[ModerationCall]:
        with self._lock:
            return list(self._state.calls)

    def count(self, operation: str, *, images: bool | None = None, source: str | None = None) -> int:
        return sum(
            1
            for call in self.calls
            if call.operation == operation
            and (images is None or (call.images > 0) == images)
            and (source is None or call.source == source)
        )

    def request_handler(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    # --- internals ---------------------------------------------------------------------------
    def _labels_for(self, data: bytes) -> tuple[Label, ...]:
        with self._lock:
            queued = _take(self._state.labels)
        if queued is not None:
            return tuple(queued)
        return self.classify(data) if self.classify else ()

    def handle(self, operation: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict, bytes]:
        record = ModerationCall(operation, 500)
        try:
            check_signature(headers, "bedrock" if operation == APPLY_GUARDRAIL else "rekognition")
            with self._lock:
                fault = _take(self._state.faults.get(operation, deque()))
            if fault:
                status, codes = FAULTS[fault]
                record = ModerationCall(operation, status, fault=fault)
                raise EmulatedError(status, codes[operation], f"Emulated {fault} fault.")
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                raise EmulatedError(400, "ValidationException", "The request body is not valid JSON.") from None
            if not isinstance(body, dict):
                raise EmulatedError(400, "ValidationException", "The request body must be an object.")
            if operation == APPLY_GUARDRAIL:
                answer, record = self._apply_guardrail(target, body)
            else:
                answer, record = self._detect_moderation_labels(body)
            return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()
        except EmulatedError as error:
            if record.status == 500 or record.status != error.status:
                record = ModerationCall(operation, error.status, record.source, fault=record.fault)
            return error_response(error)
        finally:
            with self._lock:
                self._state.calls.append(record)

    def _apply_guardrail(self, target: str, body: dict[str, Any]) -> tuple[dict[str, Any], ModerationCall]:
        guardrail, _, version = target.partition("|")
        if guardrail not in (
            self.guardrail_id,
            f"arn:aws:bedrock:us-east-1:000000000000:guardrail/{self.guardrail_id}",
        ):
            raise EmulatedError(404, "ResourceNotFoundException", "The guardrail was not found.")
        if version != self.guardrail_version:
            raise EmulatedError(404, "ResourceNotFoundException", "The guardrail version was not found.")
        source = body.get("source")
        if source not in ("INPUT", "OUTPUT"):
            raise EmulatedError(400, "ValidationException", "source must be INPUT or OUTPUT.")
        content = body.get("content")
        if not isinstance(content, list) or not content:
            raise EmulatedError(400, "ValidationException", "content must be a non-empty list.")
        texts: list[str] = []
        images: list[bytes] = []
        for block in content:
            if not isinstance(block, dict) or len(block) != 1:
                raise EmulatedError(400, "ValidationException", "each content block holds one of text or image.")
            if "text" in block:
                text = (block["text"] or {}).get("text")
                if not isinstance(text, str):
                    raise EmulatedError(400, "ValidationException", "text.text is required.")
                texts.append(text)
            elif "image" in block:
                images.append(_guardrail_image(block["image"]))
            else:
                raise EmulatedError(400, "ValidationException", "unknown content block.")
        if len(images) > 20:
            raise EmulatedError(400, "ValidationException", "at most 20 images per request.")
        record = ModerationCall(APPLY_GUARDRAIL, 200, source, len(texts), len(images))
        topics, filters = [], []
        for text in texts:
            if any(phrase in text.lower() for phrase in self.denied_phrases):
                topics.append({"name": DENIED_TOPIC, "type": "DENY", "action": "BLOCKED", "detected": True})
        guarded_images = len(images) if self.image_modality else 0
        for data in images[:guarded_images]:
            if any(label[0] in ("Explicit", "Explicit Nudity") for label in self._labels_for(data)):
                filters.append(
                    {"type": "SEXUAL", "confidence": "HIGH", "filterStrength": "HIGH", "action": "BLOCKED",
                     "detected": True}
                )  # fmt: skip
        intervened = bool(topics or filters)
        characters = sum(len(text) for text in texts)
        units = sum(math.ceil(len(text) / TEXT_UNIT_CHARACTERS) for text in texts)
        usage = {
            "topicPolicyUnits": units,
            "contentPolicyUnits": units,
            "wordPolicyUnits": 0,
            "sensitiveInformationPolicyUnits": 0,
            "sensitiveInformationPolicyFreeUnits": 0,
            "contextualGroundingPolicyUnits": 0,
            "contentPolicyImageUnits": guarded_images,
        }
        assessment: dict[str, Any] = {}
        if topics:
            assessment["topicPolicy"] = {"topics": topics}
        if filters:
            assessment["contentPolicy"] = {"filters": filters}
        answer = {
            "usage": usage,
            "action": "GUARDRAIL_INTERVENED" if intervened else "NONE",
            "outputs": [{"text": BLOCKED_MESSAGE}] if intervened else [],
            "assessments": [assessment] if assessment else [],
            "guardrailCoverage": {
                "textCharacters": {"guarded": characters, "total": characters},
                "images": {"guarded": guarded_images, "total": len(images)},
            },
        }
        return check_output("bedrock-runtime", APPLY_GUARDRAIL, answer), record

    def _detect_moderation_labels(self, body: dict[str, Any]) -> tuple[dict[str, Any], ModerationCall]:
        image = body.get("Image")
        if not isinstance(image, dict) or set(image) - {"Bytes", "S3Object"} or len(image) != 1:
            raise EmulatedError(400, "InvalidParameterException", "Image must hold one of Bytes or S3Object.")
        if "S3Object" in image:
            raise EmulatedError(400, "InvalidS3ObjectException", "The emulator reads Bytes only.")
        data = _decode_blob(image["Bytes"], "InvalidParameterException")
        if len(data) > REKOGNITION_MAX_IMAGE_BYTES:
            raise EmulatedError(400, "ImageTooLargeException", "Image size is too large.")
        if image_format(data) is None:
            raise EmulatedError(400, "InvalidImageFormatException", "Request has invalid image format.")
        # "The minimum image dimensions is 80 pixels for both height and width"; DetectModerationLabels'
        # maximum is 10K pixels (Rekognition Developer Guide, Guidelines and quotas).
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
        if min(width, height) < REKOGNITION_MIN_SIDE or max(width, height) > REKOGNITION_MAX_SIDE:
            raise EmulatedError(400, "InvalidParameterException", "Request has invalid parameters.")
        confidence = body.get("MinConfidence", 50.0)
        if not isinstance(confidence, (int, float)) or isinstance(confidence, bool) or not 0 <= confidence <= 100:
            raise EmulatedError(400, "InvalidParameterException", "MinConfidence must be between 0 and 100.")
        labels = [
            {"Name": name, "ParentName": parent, "TaxonomyLevel": level, "Confidence": score}
            for name, parent, level, score in self._labels_for(data)
            if score >= confidence
        ]
        answer = {"ModerationLabels": labels, "ModerationModelVersion": "7.0", "ContentTypes": []}
        record = ModerationCall(DETECT_MODERATION_LABELS, 200, images=1)
        return check_output("rekognition", DETECT_MODERATION_LABELS, answer), record


def error_response(error: EmulatedError) -> tuple[int, dict[str, str], bytes]:
    """Both wire forms of an error: the header rest-json clients read, the ``__type`` json 1.1 reads."""
    body = {"__type": error.code, "message": error.message}
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": f"{error.code}:http://internal.amazon.com/"}
    return error.status, headers, json.dumps(body).encode()


def emulator_client_factory(url: str) -> Callable[..., Any]:
    """``create_quick_client``'s clients (standard retries, short timeouts) on the emulator's port:
    what tests and the local server hand ``build_moderation`` (bedrock-runtime's variable may
    already point at the model emulator, so the endpoint is given per client)."""
    import boto3

    from tryon_api.aws_clients import QUICK_CALL_READ_TIMEOUT_SECONDS, quick_call_config

    session = boto3.session.Session()

    def create(
        service: str, *, region: str | None = None, read_timeout: float = QUICK_CALL_READ_TIMEOUT_SECONDS
    ) -> Any:
        return session.client(
            service, endpoint_url=url, region_name=region or "us-east-1", config=quick_call_config(read_timeout)
        )

    return create


def _decode_blob(value: Any, code: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise EmulatedError(400, code, "The image bytes are missing.")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise EmulatedError(400, code, "The image bytes are not base64.") from None


def _guardrail_image(block: Any) -> bytes:
    if not isinstance(block, dict) or block.get("format") not in ("png", "jpeg"):
        raise EmulatedError(400, "ValidationException", "image.format must be png or jpeg.")
    data = _decode_blob((block.get("source") or {}).get("bytes"), "ValidationException")
    if len(data) > GUARDRAIL_MAX_IMAGE_BYTES:
        raise EmulatedError(400, "ValidationException", "The image is larger than 4 MB.")
    if image_format(data) != block["format"]:
        raise EmulatedError(400, "ValidationException", "The image bytes are not of the format given.")
    return data


class _Handler(AwsAnswerHandler):
    emulator: ModerationEmulator
    server_version = "moderation-emulator"

    def do_POST(self) -> None:
        headers, raw = self.read_request()
        parts = [unquote(part) for part in self.path.split("?")[0].strip("/").split("/")]
        amz_target = headers.get("x-amz-target", "")
        if len(parts) == 5 and parts[0] == "guardrail" and parts[2] == "version" and parts[4] == "apply":
            status, out_headers, body = self.emulator.handle(APPLY_GUARDRAIL, f"{parts[1]}|{parts[3]}", headers, raw)
        elif parts == [""] and amz_target == f"RekognitionService.{DETECT_MODERATION_LABELS}":
            status, out_headers, body = self.emulator.handle(DETECT_MODERATION_LABELS, "", headers, raw)
        elif parts == [""] and amz_target == FACES_TARGET and self.emulator.faces is not None:
            status, out_headers, body = detect_faces_answer(self.emulator.faces, self.path, headers, raw)
        else:
            status, out_headers, body = error_response(EmulatedError(404, "UnknownOperationException", "Not found"))
        self.write_answer(status, out_headers, body)

"""A loopback emulator of Amazon Rekognition's DetectFaces, as botocore speaks it.

The wire format is Rekognition's (``json`` protocol 1.1): ``POST /`` with ``X-Amz-Target:
RekognitionService.DetectFaces``, a SigV4 ``Authorization`` header, the image's bytes base64 in
``Image.Bytes``. The request is checked as the service model and the developer guide state it
(Bytes 1 byte to 5 MB, JPEG or PNG only, the ``Attributes`` enum), errors carry ``__type`` and the
``x-amzn-ErrorType`` header so the real boto3 client raises the same ``ClientError`` codes.

Faces are found by MediaPipe's BlazeFace full-range detector (bundled in its wheel): another
model than the face mesh the local check uses, so the two paths are not one model tested twice.
Each face answers the shapes DetectFaces answers (``BoundingBox`` as ratios, ``Confidence`` in
percent, ``AgeRange`` when asked for). The emulator cannot estimate an age: it answers
``age_range`` (settable by tests) for every face. ``calls`` counts the requests.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from tryon_dev.loopback_service import AwsAnswerHandler, LoopbackService

TARGET = "RekognitionService.DetectFaces"
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # the service model's Image.Bytes max (5,242,880)
# The Attributes enum, read from botocore's service model when the emulator starts.
ATTRIBUTES: frozenset[str] = frozenset()
MIN_CONFIDENCE = 0.5  # DetectFaces returns faces of 50 % confidence and more


class RekognitionError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _FaceFinder:
    """BlazeFace (full range), one graph guarded by a lock (MediaPipe graphs are not thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._graph: Any = None

    def faces(self, rgb: np.ndarray) -> list[tuple[float, float, float, float, float]]:
        """(left, top, width, height as ratios, confidence 0..1) of each face."""
        with self._lock:
            if self._graph is None:
                from mediapipe.python.solutions import face_detection

                self._graph = face_detection.FaceDetection(model_selection=1, min_detection_confidence=MIN_CONFIDENCE)
            result = self._graph.process(np.ascontiguousarray(rgb))
        found = []
        for detection in result.detections or []:
            box = detection.location_data.relative_bounding_box
            found.append((box.xmin, box.ymin, box.width, box.height, float(detection.score[0])))
        return found


class RekognitionEmulator(LoopbackService):
    """Start with ``start()`` (or as a context manager); point boto3 at ``url``
    (``AWS_ENDPOINT_URL_REKOGNITION``)."""

    thread_name = "rekognition-emulator"

    def __init__(self, *, age_range: tuple[int, int] = (25, 35)) -> None:
        super().__init__()
        self.age_range = age_range
        self.fault: str | None = None  # an error code every call answers, while set
        self._finder = _FaceFinder()
        self._lock = threading.Lock()
        self._calls = 0

    @property
    def calls(self) -> int:
        with self._lock:
            return self._calls

    def reset(self) -> None:
        with self._lock:
            self._calls = 0
        self.fault = None

    def request_handler(self) -> type[BaseHTTPRequestHandler]:
        return _RekognitionHandler

    def detect_faces(self, headers: dict[str, str], raw: bytes) -> dict[str, Any]:
        with self._lock:
            self._calls += 1
        _check_signature(headers)
        if self.fault == "ThrottlingException":
            raise RekognitionError(400, "ThrottlingException", "Slow down!")
        if self.fault == "AccessDeniedException":
            raise RekognitionError(
                400, "AccessDeniedException", "User is not authorized to perform: rekognition:DetectFaces"
            )
        try:
            body = json.loads(raw)
        except ValueError:
            raise RekognitionError(400, "SerializationException", "Invalid JSON") from None
        image = body.get("Image") if isinstance(body, dict) else None
        if not isinstance(image, dict) or not isinstance(image.get("Bytes"), str):
            raise RekognitionError(400, "InvalidParameterException", "Request has invalid parameters")
        attributes = body.get("Attributes", ["DEFAULT"])
        if not isinstance(attributes, list) or not set(attributes) <= _attribute_names():
            raise RekognitionError(400, "ValidationException", "1 validation error detected: Attributes")
        try:
            data = base64.b64decode(image["Bytes"], validate=True)
        except (binascii.Error, ValueError):
            raise RekognitionError(400, "SerializationException", "Invalid base64 in Image.Bytes") from None
        if not data:
            raise RekognitionError(400, "ValidationException", "Image.Bytes must have length at least 1")
        if len(data) > MAX_IMAGE_BYTES:
            raise RekognitionError(400, "ImageTooLargeException", "Image size is too large.")
        try:
            picture = Image.open(io.BytesIO(data))
            if picture.format not in ("JPEG", "PNG"):
                raise RekognitionError(400, "InvalidImageFormatException", "Request has unsupported image format")
            rgb = np.asarray(picture.convert("RGB"))
        except (UnidentifiedImageError, OSError):
            raise RekognitionError(400, "InvalidImageFormatException", "Request has invalid image format") from None
        with_age = bool({"AGE_RANGE", "ALL"} & set(attributes))
        details = []
        for left, top, width, height, score in self._finder.faces(rgb):
            face: dict[str, Any] = {
                "BoundingBox": {"Width": width, "Height": height, "Left": left, "Top": top},
                "Confidence": round(score * 100, 3),
                "Pose": {"Roll": 0.0, "Yaw": 0.0, "Pitch": 0.0},
                "Quality": {"Brightness": 50.0, "Sharpness": 50.0},
                "Landmarks": [],
            }
            if with_age:
                face["AgeRange"] = {"Low": self.age_range[0], "High": self.age_range[1]}
            details.append(face)
        return {"FaceDetails": details}


def _attribute_names() -> frozenset[str]:
    """DetectFaces' Attributes enum as botocore's service model spells it."""
    global ATTRIBUTES
    if not ATTRIBUTES:
        import botocore.session

        model = botocore.session.get_session().get_service_model("rekognition").operation_model("DetectFaces")
        ATTRIBUTES = frozenset(model.input_shape.members["Attributes"].member.enum)
    return ATTRIBUTES


def _check_signature(headers: dict[str, str]) -> None:
    authorization = headers.get("authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 ") or "/rekognition/aws4_request" not in authorization:
        raise RekognitionError(400, "IncompleteSignatureException", "Request must be signed with SigV4.")


def detect_faces_answer(
    emulator: RekognitionEmulator, path: str, headers: dict[str, str], raw: bytes
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one DetectFaces answer (the moderation emulator, which serves
    Rekognition's other operation on the same endpoint, hands DetectFaces here)."""
    try:
        if path.split("?")[0] != "/" or headers.get("x-amz-target") != TARGET:
            raise RekognitionError(400, "UnknownOperationException", "Unknown operation")
        if not headers.get("content-type", "").startswith("application/x-amz-json-1.1"):
            raise RekognitionError(400, "SerializationException", "Expected application/x-amz-json-1.1")
        status, answer, extra = 200, emulator.detect_faces(headers, raw), {}
    except RekognitionError as error:
        status = error.status
        answer = {"__type": error.code, "Message": error.message}
        extra = {"x-amzn-ErrorType": error.code}
    return status, {"Content-Type": "application/x-amz-json-1.1", **extra}, json.dumps(answer).encode()


class _RekognitionHandler(AwsAnswerHandler):
    emulator: RekognitionEmulator
    server_version = "rekognition-emulator"

    def do_POST(self) -> None:
        headers, raw = self.read_request()
        self.write_answer(*detect_faces_answer(self.emulator, self.path, headers, raw))

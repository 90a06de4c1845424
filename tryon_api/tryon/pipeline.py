"""The try-on pipeline: plain Python that knows nothing about Lambda events or HTTP."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools import Logger
from PIL import Image

from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import GARMENT_TIMED_OUT, NoPersonFound, UpstreamTimeout
from tryon_api.tryon.image_intake import load_garment_image, load_image
from tryon_api.tryon.interface import (
    ContentModeration,
    GarmentFetcher,
    GenerationInput,
    PersonDetector,
    PersonFinding,
    TryOnBackend,
    TryOnRequest,
)
from tryon_api.tryon.response_image import encode_response_image, moderation_copy
from tryon_api.tryon.work_slots import WorkSlots

logger = Logger(child=True)

# Room for '{"image_base64": "", "mime_type": "image/jpeg"}' and headers under the 6 MB cap.
RESPONSE_JSON_OVERHEAD = 4096


def request_seed(request: TryOnRequest) -> int:
    """The same request always gets the same seed, so results are reproducible."""
    digest = hashlib.sha256()
    for part in (
        request.selfie_bytes,
        request.clothing_description.encode(),
        request.mode.encode(),
        (request.clothing_image_url or "").encode(),
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    if request.garment_category != "auto":  # a named category is another request; "auto" keeps old seeds
        digest.update(request.garment_category.encode())
    return int.from_bytes(digest.digest()[:4], "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class ResponseImage:
    """The answer's image, encoded as it is sent: base64 text and its MIME type."""

    image_base64: str
    mime_type: str


def _time_check(deadline: Deadline, message: str) -> Callable[[], None]:
    def check() -> None:
        if deadline.remaining() <= 0:
            raise UpstreamTimeout(message)

    return check


class TryOnService:
    def __init__(
        self,
        backend: TryOnBackend,
        fetch_garment: GarmentFetcher,
        max_response_bytes: int,
        *,
        slots: WorkSlots | None = None,
        garment_timeout_seconds: float = 10.0,
        person_detector: PersonDetector | None = None,
        moderation: ContentModeration | None = None,
    ) -> None:
        """``person_detector``: a selfie showing nobody is refused (422) before any model is paid
        for, and its age ranges set the minors rule; None only where a test's scripted backend
        stands in for the whole generation. ``moderation``: checks the request before the backend
        and each image after it."""
        self.backend = backend
        self.fetch_garment = fetch_garment
        self.max_response_bytes = max_response_bytes
        # Decoding takes a slot of the same limiter the backend renders under (when it renders).
        self.slots = slots or WorkSlots()
        self.garment_timeout_seconds = garment_timeout_seconds
        self.person_detector = person_detector
        self.moderation = moderation

    def load_person(self, selfie: bytes, deadline: Deadline) -> Image.Image:
        with self.slots.hold(deadline):
            return load_image(
                selfie,
                self.backend.input_limits,
                check_time=_time_check(deadline, "the request ran out of time while decoding selfie_base64"),
            )

    def require_person(self, person: Image.Image, deadline: Deadline) -> PersonFinding | None:
        """A 422 when nobody is in the selfie; the finding (its age ranges set the minors rule).
        POST /jobs calls it after its cheaper URL checks, before anything is queued."""
        if self.person_detector is None:
            return None
        deadline.check("the person check")
        started = time.perf_counter()
        finding = self.person_detector.find_people(person)
        logger.debug(
            "person check",
            extra={
                "person_detector": self.person_detector.name,
                "people": finding.people,
                "person_check_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        if finding.people < 1:
            raise NoPersonFound()
        return finding

    def load_garment(self, url: str, deadline: Deadline) -> Image.Image:
        """Fetch and decode the garment: one time budget covers both (504 when it runs out)."""
        garment_deadline = Deadline.after(min(self.garment_timeout_seconds, deadline.remaining()))
        data = self.fetch_garment(url, garment_deadline)
        with self.slots.hold(garment_deadline, UpstreamTimeout(GARMENT_TIMED_OUT)):
            return load_garment_image(
                data, self.backend.input_limits, check_time=_time_check(garment_deadline, GARMENT_TIMED_OUT)
            )

    def generate(
        self,
        request: TryOnRequest,
        deadline: Deadline,
        *,
        seed: int | None = None,
        check_inputs: bool = True,
    ) -> ResponseImage:
        """``seed``: a job's sample asks for its own; the synchronous call uses the request's. The
        image fits one answer whole (a job's sample too: it is answered by its own URL).
        ``check_inputs``: False for a job's later samples, whose description and garment the first
        one checked (the person check still runs: its ages set the output check's level, and every
        generated image is checked whatever it says)."""
        person = self.load_person(request.selfie_bytes, deadline)
        finding = self.require_person(person, deadline)
        garment = None
        if request.clothing_image_url:
            garment = self.load_garment(request.clothing_image_url, deadline)
        if self.moderation is not None and check_inputs:  # before any model is paid for
            self.moderation.check_request(request.clothing_description, garment, finding)
        generation = GenerationInput(
            person=person,
            clothing_description=request.clothing_description,
            mode=request.mode,
            seed=request_seed(request) if seed is None else seed,
            garment=garment,
            garment_category=request.garment_category,
        )
        deadline.check()
        result = self.backend.generate(generation, deadline)
        with self.slots.hold(deadline):  # a model's answer may be decoded and re-encoded here
            image_base64, mime_type = encode_response_image(
                result, self.max_response_bytes - RESPONSE_JSON_OVERHEAD, request.output_format
            )
        if self.moderation is not None:  # before the image is returned or stored
            self.moderation.check_output(moderation_copy(base64.b64decode(image_base64), mime_type), finding)
        logger.info(
            "generated",
            extra={
                "backend": self.backend.name,
                "mode": request.mode,
                "with_garment": garment is not None,
                "garment_category": request.garment_category,
                "output_format": request.output_format,
                "person_size": list(person.size),
                "output_base64_bytes": len(image_base64),
            },
        )
        return ResponseImage(image_base64, mime_type)

"""The try-on pipeline: plain Python that knows nothing about Lambda events or HTTP."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.image_intake import load_garment_image, load_image
from tryon_api.tryon.interface import GarmentFetcher, GenerationInput, TryOnBackend, TryOnRequest
from tryon_api.tryon.response_image import encode_response_image

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
    return int.from_bytes(digest.digest()[:4], "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class TryOnResult:
    image_base64: str
    mime_type: str


class TryOnService:
    def __init__(self, backend: TryOnBackend, fetch_garment: GarmentFetcher, max_response_bytes: int) -> None:
        self.backend = backend
        self.fetch_garment = fetch_garment
        self.max_response_bytes = max_response_bytes

    def generate(self, request: TryOnRequest, deadline: Deadline) -> TryOnResult:
        person = load_image(request.selfie_bytes, self.backend.input_limits)
        garment = None
        if request.clothing_image_url:
            garment = load_garment_image(
                self.fetch_garment(request.clothing_image_url, deadline), self.backend.input_limits
            )
        job = GenerationInput(
            person=person,
            clothing_description=request.clothing_description,
            mode=request.mode,
            seed=request_seed(request),
            garment=garment,
        )
        deadline.check()
        result = self.backend.generate(job, deadline)
        image_base64, mime_type = encode_response_image(result, self.max_response_bytes - RESPONSE_JSON_OVERHEAD)
        logger.info(
            "generated",
            extra={
                "backend": self.backend.name,
                "mode": request.mode,
                "with_garment": garment is not None,
                "person_size": list(person.size),
                "output_base64_bytes": len(image_base64),
            },
        )
        return TryOnResult(image_base64, mime_type)

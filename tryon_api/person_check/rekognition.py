"""The person check on AWS: Amazon Rekognition DetectFaces, the cheapest of its image APIs that
answers "is anybody here" (one image unit per call, no collection, no stored data).

The selfie goes as JPEG bytes (the decoded, normalised image: at most 1536 px a side, well under
DetectFaces' 5 MB). ``AGE_RANGE`` is asked for beside the defaults: the moderation stage reads it.
Any failure of the call fails closed with a 503: a request is never passed to a model unchecked.
"""

from __future__ import annotations

import io
from typing import Any

from aws_lambda_powertools import Logger
from PIL import Image

from tryon_api.tryon.errors import DependencyUnavailable
from tryon_api.tryon.interface import PersonFinding

logger = Logger(child=True)

# DetectFaces' own confidence floor is 50 (it returns nothing below); a face it is less sure of
# than this is not taken for a person.
MIN_FACE_CONFIDENCE = 80.0
JPEG_QUALITY = 90
UNAVAILABLE = "the person check is unavailable, retry later"


class RekognitionPersonDetector:
    name = "rekognition"

    def __init__(self, client: Any, min_confidence: float = MIN_FACE_CONFIDENCE) -> None:
        self.client = client
        self.min_confidence = min_confidence

    def find_people(self, image: Image.Image) -> PersonFinding:
        from botocore.exceptions import BotoCoreError, ClientError

        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY)
        try:
            answer = self.client.detect_faces(Image={"Bytes": buffer.getvalue()}, Attributes=["DEFAULT", "AGE_RANGE"])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            logger.error("person check failed", extra={"error_code": code})
            raise DependencyUnavailable(UNAVAILABLE) from None
        except BotoCoreError as error:
            logger.error("person check failed", extra={"error_code": type(error).__name__})
            raise DependencyUnavailable(UNAVAILABLE) from None
        faces = [f for f in answer.get("FaceDetails", []) if float(f.get("Confidence", 0)) >= self.min_confidence]
        ages = tuple(
            (int(f["AgeRange"]["Low"]), int(f["AgeRange"]["High"]))
            for f in faces
            if "Low" in f.get("AgeRange", {}) and "High" in f.get("AgeRange", {})
        )
        return PersonFinding(people=len(faces), age_ranges=ages)

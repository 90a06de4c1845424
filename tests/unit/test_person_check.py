"""The pipeline's person check: nobody in the selfie is a 422 before the backend is called; the
Rekognition adapter's request and answer read through botocore's own service model (Stubber)."""

from __future__ import annotations

import io
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from PIL import Image

from tests.fakes import ScriptedBackend
from tests.photos import selfie_jpeg
from tryon_api.person_check.builder import build_person_detector
from tryon_api.person_check.rekognition import RekognitionPersonDetector
from tryon_api.settings import Settings
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import DependencyUnavailable, NoPersonFound
from tryon_api.tryon.interface import PersonFinding, TryOnRequest
from tryon_api.tryon.pipeline import TryOnService


class CountingDetector:
    name = "counting"

    def __init__(self, people: int) -> None:
        self.people = people
        self.seen: list[tuple[int, int]] = []

    def find_people(self, image: Image.Image) -> PersonFinding:
        self.seen.append(image.size)
        return PersonFinding(people=self.people)


def service(detector: CountingDetector, backend: ScriptedBackend) -> TryOnService:
    return TryOnService(backend, lambda url, deadline: b"", 6_000_000, person_detector=detector)


REQUEST = TryOnRequest(selfie_bytes=selfie_jpeg(), clothing_description="red hoodie", mode="studio")


def test_nobody_in_the_selfie_is_a_422_and_the_backend_is_never_called() -> None:
    backend, detector = ScriptedBackend(), CountingDetector(people=0)
    with pytest.raises(NoPersonFound) as refused:
        service(detector, backend).generate(REQUEST, Deadline.after(30))
    assert (refused.value.status, refused.value.message) == (422, "selfie_base64 shows no person")
    assert backend.jobs == [] and detector.seen == [(512, 600)]  # the decoded, normalised selfie


def test_a_person_goes_on_to_the_backend_and_each_jobs_sample_finds_the_ages_again() -> None:
    backend, detector = ScriptedBackend(), CountingDetector(people=1)
    pipeline = service(detector, backend)
    pipeline.generate(REQUEST, Deadline.after(30))
    # A job's later sample skips the request's checks, not the person check: its ages set the output's level.
    pipeline.generate(REQUEST, Deadline.after(30), seed=7, check_inputs=False)
    assert len(backend.jobs) == 2 and len(detector.seen) == 2


def test_the_settings_pick_the_detector_and_it_is_built_on_first_use() -> None:
    built: list[str] = []
    stubs: list[Stubber] = []

    def factory(service_name: str) -> Any:
        built.append(service_name)
        client = boto3.client(service_name, region_name="us-east-1")
        stub = Stubber(client)
        stub.add_response("detect_faces", {"FaceDetails": []})
        stub.activate()
        stubs.append(stub)
        return client

    assert build_person_detector(Settings()).name == "local"
    detector = build_person_detector(Settings(person_detector="rekognition"), factory)
    assert detector.name == "rekognition" and built == []  # nothing at start-up: cold start stays put
    assert detector.find_people(Image.new("RGB", (300, 300))) == PersonFinding(people=0)
    assert built == ["rekognition"]
    stubs[0].assert_no_pending_responses()


def face(confidence: float, low: int, high: int) -> dict[str, Any]:
    box = {"Width": 0.3, "Height": 0.3, "Left": 0.3, "Top": 0.2}
    return {"BoundingBox": box, "Confidence": confidence, "AgeRange": {"Low": low, "High": high}}


def test_the_rekognition_request_and_answer_follow_the_service_model() -> None:
    client = boto3.client("rekognition", region_name="us-east-1")
    photo = Image.open(io.BytesIO(selfie_jpeg())).convert("RGB")
    with Stubber(client) as stub:
        stub.add_response(
            "detect_faces",
            {"FaceDetails": [face(99.9, 30, 38), face(62.0, 10, 16)]},  # the second below the floor
            {"Image": {"Bytes": stub_any()}, "Attributes": ["DEFAULT", "AGE_RANGE"]},
        )
        finding = RekognitionPersonDetector(client).find_people(photo)
    assert finding == PersonFinding(people=1, age_ranges=((30, 38),))


def test_a_rekognition_error_fails_closed_with_a_503_that_names_no_service() -> None:
    client = boto3.client("rekognition", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("detect_faces", "AccessDeniedException", http_status_code=400)
        with pytest.raises(DependencyUnavailable) as raised:
            RekognitionPersonDetector(client).find_people(Image.new("RGB", (300, 300)))
    assert raised.value.status == 503 and "rekognition" not in raised.value.message.lower()


def stub_any() -> Any:
    from botocore.stub import ANY

    return ANY

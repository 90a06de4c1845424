"""No person, no picture: a selfie in which nobody can be found is a 422 before any model is paid
for, on every backend (the embedded preview, Bedrock and SageMaker through the real boto3
clients against the loopback emulator), with either detector (the local face model, or
Rekognition DetectFaces through the real boto3 client against its loopback emulator), for the
synchronous call and for jobs at submit time. Real photos of people pass."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.integration.models.helpers import post, request_body
from tests.jobs_fixtures import local_jobs
from tests.photos import b64, no_person_photos, people_photos
from tryon_api.http.auth import ApiKeyVerifier, static_key_loader
from tryon_api.http.job_services import set_job_dependencies
from tryon_api.http.services import Services, build_services, set_services
from tryon_api.person_check.builder import build_person_detector
from tryon_api.settings import Settings
from tryon_dev.aws_emulator import AwsModelEmulator
from tryon_dev.person_check_emulator import RekognitionEmulator

pytestmark = pytest.mark.integration

NO_PERSON = {"error": "selfie_base64 shows no person"}
NO_PERSON_PHOTOS = no_person_photos()
PEOPLE_PHOTOS = people_photos()


@pytest.fixture(scope="module")
def rekognition_service() -> Iterator[RekognitionEmulator]:
    with RekognitionEmulator() as running:
        yield running


@pytest.fixture
def rekognition(rekognition_service: RekognitionEmulator, monkeypatch: pytest.MonkeyPatch) -> RekognitionEmulator:
    rekognition_service.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL_REKOGNITION", rekognition_service.url)
    return rekognition_service


def body_with(selfie: bytes) -> dict[str, Any]:
    return {**request_body("studio"), "selfie_base64": b64(selfie)}


def counting_embedded_backend() -> list[int]:
    """The embedded backend as the dev server builds it, each render counted."""
    services = build_services(Settings(backend="embedded", local_api_keys=("test-key",)))
    renders: list[int] = []
    generate = services.tryon.backend.generate

    def counted(job: Any, deadline: Any) -> Any:
        renders.append(1)
        return generate(job, deadline)

    services.tryon.backend.generate = counted  # type: ignore[method-assign]
    set_services(services)
    return renders


@pytest.mark.parametrize("photo", sorted(NO_PERSON_PHOTOS))
def test_the_embedded_preview_refuses_a_selfie_without_a_person_before_rendering(photo: str) -> None:
    renders = counting_embedded_backend()
    status, _, payload = post(body_with(NO_PERSON_PHOTOS[photo]))
    assert (status, payload) == (422, NO_PERSON)
    assert renders == []


@pytest.mark.parametrize("backend", ["bedrock", "sagemaker"])
@pytest.mark.parametrize("photo", sorted(NO_PERSON_PHOTOS))
def test_the_model_backends_refuse_it_with_no_model_call(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, backend: str, photo: str
) -> None:
    use_backend(backend)
    status, _, payload = post(body_with(NO_PERSON_PHOTOS[photo]))
    assert (status, payload) == (422, NO_PERSON)
    assert aws.calls == []


@pytest.mark.parametrize("photo", sorted(NO_PERSON_PHOTOS))
def test_rekognition_finds_nobody_and_bedrock_is_never_called(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, rekognition: RekognitionEmulator, photo: str
) -> None:
    use_backend("bedrock", person_detector="rekognition")
    status, _, payload = post(body_with(NO_PERSON_PHOTOS[photo]))
    assert (status, payload) == (422, NO_PERSON)
    assert rekognition.calls == 1 and aws.calls == []


@pytest.mark.parametrize("detector", ["local", "rekognition"])
@pytest.mark.parametrize("photo", sorted(PEOPLE_PHOTOS))
def test_real_photos_of_people_pass_either_detector(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, rekognition: RekognitionEmulator, detector: str, photo: str
) -> None:
    use_backend("bedrock", person_detector=detector)
    status, _, payload = post(body_with(PEOPLE_PHOTOS[photo]))
    assert status == 200, payload
    with Image.open(io.BytesIO(base64.b64decode(payload["image_base64"]))) as image:
        assert image.format == "JPEG"
    assert rekognition.calls == (1 if detector == "rekognition" else 0)
    assert aws.calls  # the model was called for a person


def test_rekognition_answers_the_age_range_it_was_asked_for(rekognition: RekognitionEmulator) -> None:
    rekognition.age_range = (31, 39)
    detector = build_person_detector(Settings(person_detector="rekognition"))
    with Image.open(io.BytesIO(PEOPLE_PHOTOS["grace_hopper"])) as photo:
        finding = detector.find_people(photo.convert("RGB"))
    assert finding.people == 1 and finding.age_ranges == ((31, 39),)


def test_a_failing_rekognition_fails_closed_with_a_503_and_no_model_call(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, rekognition: RekognitionEmulator
) -> None:
    use_backend("bedrock", person_detector="rekognition")
    rekognition.fault = "AccessDeniedException"
    status, headers, payload = post(body_with(PEOPLE_PHOTOS["grace_hopper"]))
    assert status == 503 and "Retry-After" in headers
    assert payload == {"error": "the person check is unavailable, retry later"}
    assert "rekognition" not in json.dumps(payload).lower().replace("the person check", "")
    assert aws.calls == []


def test_a_job_without_a_person_is_refused_at_submit_time(tmp_path: Path) -> None:
    jobs, backend = local_jobs(tmp_path, local_api_keys=("jobs-key",))
    jobs.tryon.person_detector = build_person_detector(jobs.settings)
    set_services(Services(jobs.settings, ApiKeyVerifier(static_key_loader(("jobs-key",))), jobs.tryon))
    set_job_dependencies(jobs)
    from tests.handler_calls import call_handler

    body = {
        "selfie_base64": b64(NO_PERSON_PHOTOS["garment_only"]),
        "clothing_description": "a jacket",
        "mode": "studio",
    }
    status, _, payload = call_handler("POST", "/jobs", body, key="jobs-key")
    assert (status, payload) == (422, NO_PERSON)
    assert jobs.queue.receive() is None  # type: ignore[attr-defined]  # nothing queued
    assert backend.jobs == []
    status, _, payload = call_handler(
        "POST", "/jobs", {**body, "selfie_base64": b64(PEOPLE_PHOTOS["astronaut"])}, key="jobs-key"
    )
    assert status == 202, payload

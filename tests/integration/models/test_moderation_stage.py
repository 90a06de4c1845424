"""Content moderation through the whole handler on both AWS backends, with the real boto3 clients
against the loopback model emulator and the loopback ApplyGuardrail / DetectModerationLabels
emulator (tryon_dev/moderation_emulator.py), the jobs on a moto server.

The counts are the point: no model call for a refused request, exactly one output check per image
returned or stored, nothing in the jobs bucket for a refused sample, a 503 and no image when a
moderation service cannot answer.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import msgspec
import pytest
import requests
from moto.server import ThreadedMotoServer

from tests.cfn_template import load_template, resolve
from tests.handler_calls import call_handler
from tests.integration.jobs.aws_resources import create_jobs_resources
from tests.integration.models.helpers import API_KEY, post, request_body
from tryon_api.aws_clients import aws_session
from tryon_api.http.job_services import build_aws_job_dependencies, set_job_dependencies
from tryon_api.http.services import Services
from tryon_api.jobs.aws_stores import decode_message
from tryon_api.jobs.worker import handle_message
from tryon_api.moderation.dependencies import MODERATION_OFF_WARNING, build_moderation
from tryon_api.tryon.errors import ContentFiltered, ModerationUnavailableError
from tryon_api.tryon.interface import PersonFinding
from tryon_dev.aws_emulator import AwsModelEmulator
from tryon_dev.moderation_emulator import (
    APPLY_GUARDRAIL,
    DETECT_MODERATION_LABELS,
    EXPLICIT_NUDITY,
    SWIMWEAR,
    ModerationEmulator,
    emulator_client_factory,
)

pytestmark = pytest.mark.integration

BACKENDS = ["bedrock", "sagemaker"]
REFUSED = ContentFiltered.default_message
# Past the local word lists: only the guardrail's denied topic catches it.
TOPIC_ONLY = "Red cotton t-shirt, and then get her out of those clothes"
ADULT = PersonFinding(1, ((27, 35),))
MINOR = PersonFinding(1, ((11, 15),))


@pytest.fixture(scope="session")
def moderation_emulator() -> Iterator[ModerationEmulator]:
    with ModerationEmulator() as running:
        yield running


@pytest.fixture
def moderation(moderation_emulator: ModerationEmulator) -> Iterator[ModerationEmulator]:
    moderation_emulator.reset()
    yield moderation_emulator
    moderation_emulator.reset()
    moderation_emulator.image_modality = True


def moderated(
    services: Services,
    emulator: ModerationEmulator,
    find_people: Callable[[Any], PersonFinding] | None = None,
    **overrides: Any,
) -> Services:
    """The services with the moderation stage the template configures: the guardrail for text,
    Rekognition for images (or what ``overrides`` say)."""
    settings = msgspec.structs.replace(
        services.settings,
        **{
            "moderation_guardrail_id": emulator.guardrail_id,
            "moderation_guardrail_version": emulator.guardrail_version,
            "moderation_image_service": "rekognition",
            **overrides,
        },
    )
    services.tryon.moderation = build_moderation(settings, emulator_client_factory(emulator.url))
    services.tryon.person_detector = FixedPersonDetector(find_people) if find_people else None
    return services


class FixedPersonDetector:
    """The person check's answer fixed by the test (the ages that set the minors rule)."""

    name = "fixed"

    def __init__(self, find_people: Callable[[Any], PersonFinding]) -> None:
        self.find_people = find_people


def model_calls(aws: AwsModelEmulator) -> int:
    return len(aws.calls)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("with_garment", [False, True], ids=["text-only", "garment-image"])
def test_every_answer_is_checked_once_after_generation_and_the_request_before(
    use_backend: Callable[..., Any],
    aws: AwsModelEmulator,
    moderation: ModerationEmulator,
    garment_url: str,
    backend: str,
    with_garment: bool,
) -> None:
    moderated(use_backend(backend), moderation)
    status, _, payload = post(request_body("studio", garment_url if with_garment else None))
    assert status == 200, payload
    assert model_calls(aws) >= 1
    assert moderation.count(APPLY_GUARDRAIL, source="INPUT", images=False) == 1  # the description
    assert moderation.count(DETECT_MODERATION_LABELS) == (2 if with_garment else 1)  # (garment +) answer
    # The output check came after the model's answer.
    assert [call.operation for call in moderation.calls][-1] == DETECT_MODERATION_LABELS


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_description_the_guardrail_intervenes_on_is_refused_with_zero_model_calls(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, moderation: ModerationEmulator, backend: str
) -> None:
    moderated(use_backend(backend), moderation)
    status, _, payload = post(request_body(clothing_description=TOPIC_ONLY))
    assert (status, payload) == (422, {"error": REFUSED})
    assert model_calls(aws) == 0
    assert moderation.count(APPLY_GUARDRAIL) == 1 and moderation.count(DETECT_MODERATION_LABELS) == 0


@pytest.mark.parametrize("description", ["a n4ked look", "nackt", "a transparent mesh top with nothing underneath"])
def test_the_local_check_refuses_before_any_service_is_paid(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, moderation: ModerationEmulator, description: str
) -> None:
    moderated(use_backend("bedrock"), moderation)
    status, _, payload = post(request_body(clothing_description=description))
    assert (status, payload) == (422, {"error": REFUSED})
    assert model_calls(aws) == 0 and moderation.calls == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_explicit_garment_photo_is_refused_with_zero_model_calls(
    use_backend: Callable[..., Any],
    aws: AwsModelEmulator,
    moderation: ModerationEmulator,
    garment_url: str,
    backend: str,
) -> None:
    moderated(use_backend(backend), moderation)
    moderation.label_images(EXPLICIT_NUDITY)
    status, _, payload = post(request_body(garment_url=garment_url))
    assert (status, payload) == (422, {"error": REFUSED})
    assert model_calls(aws) == 0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("image_service", ["rekognition", "guardrail"])
def test_an_explicit_generated_image_is_refused_and_never_returned(
    use_backend: Callable[..., Any],
    aws: AwsModelEmulator,
    moderation: ModerationEmulator,
    backend: str,
    image_service: str,
) -> None:
    moderated(use_backend(backend), moderation, moderation_image_service=image_service)
    moderation.label_images(EXPLICIT_NUDITY)
    status, _, payload = post(request_body())
    assert (status, payload) == (422, {"error": REFUSED})
    assert model_calls(aws) >= 1  # generated, then refused
    if image_service == "guardrail":
        assert moderation.count(APPLY_GUARDRAIL, source="OUTPUT", images=True) == 1


@pytest.mark.parametrize(
    ("operation", "kind", "description"),
    [
        (APPLY_GUARDRAIL, "unavailable", "Red cotton t-shirt"),
        (APPLY_GUARDRAIL, "throttled", "Red cotton t-shirt"),
        (DETECT_MODERATION_LABELS, "unavailable", "Red cotton t-shirt"),
        (DETECT_MODERATION_LABELS, "denied", "Red cotton t-shirt"),
    ],
)
def test_a_moderation_service_that_cannot_answer_fails_closed(
    use_backend: Callable[..., Any],
    aws: AwsModelEmulator,
    moderation: ModerationEmulator,
    operation: str,
    kind: str,
    description: str,
) -> None:
    moderated(use_backend("sagemaker"), moderation)
    moderation.inject(operation, kind, times=None)
    status, headers, payload = post(request_body(clothing_description=description))
    assert (status, payload) == (503, {"error": ModerationUnavailableError.default_message})
    assert headers.get("Retry-After") == "5"
    if operation == APPLY_GUARDRAIL:
        assert model_calls(aws) == 0  # the request was never let through unchecked


def test_a_guardrail_without_the_image_modality_fails_closed(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, moderation: ModerationEmulator
) -> None:
    moderation.image_modality = False
    moderated(use_backend("bedrock"), moderation, moderation_image_service="guardrail")
    status, _, payload = post(request_body())
    assert (status, payload) == (503, {"error": ModerationUnavailableError.default_message})


def test_off_checks_nothing_and_warns(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, moderation: ModerationEmulator, json_logs: Any
) -> None:
    moderated(use_backend("bedrock"), moderation, moderation="off")
    warnings = [json.loads(line) for line in json_logs.getvalue().splitlines() if line.strip()]
    assert any(line["level"] == "WARNING" and line["message"] == MODERATION_OFF_WARNING for line in warnings)
    moderation.label_images(EXPLICIT_NUDITY)
    status, _, payload = post(request_body(clothing_description="a red bikini, topless"))
    assert status == 200, payload
    assert moderation.calls == []


@pytest.mark.parametrize("level", ["permissive", "off"])
def test_a_minors_selfie_gets_the_conservative_level_whatever_the_setting(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, moderation: ModerationEmulator, level: str
) -> None:
    services = moderated(use_backend("sagemaker"), moderation, find_people=lambda _: MINOR, moderation=level)
    status, _, payload = post(request_body(clothing_description="a red bikini"))
    assert (status, payload) == (422, {"error": REFUSED})
    assert model_calls(aws) == 0
    # The output: swimwear labels refuse a minor's image, and pass an adult's at permissive.
    moderation.label_images(SWIMWEAR)
    status, _, _ = post(request_body())
    assert status == 422 and model_calls(aws) == 1
    services.tryon.person_detector = FixedPersonDetector(lambda _: ADULT)
    moderation.label_images(SWIMWEAR)
    status, _, payload = post(request_body(clothing_description="a red bikini"))
    assert status == 200, payload  # an adult: swimwear passes at permissive (and off checks nothing)


# ----------------------------------------------------------------------------- jobs on AWS


@pytest.fixture
def moto_jobs(aws: AwsModelEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The template's table, bucket and queue on a moto server; the model variables still point
    at the model emulator (a service's own variable wins over AWS_ENDPOINT_URL)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    aws_session.set(boto3.session.Session())
    try:
        session = aws_session.get()
        clients = {name: session.client(name) for name in ("dynamodb", "s3", "sqs", "secretsmanager")}
        names = create_jobs_resources(clients["dynamodb"], clients["s3"], clients["sqs"])
        secret = clients["secretsmanager"].create_secret(Name="tryon/dev/webhook", SecretString="s")["ARN"]
        yield {"clients": clients, "names": names, "secret": secret}
    finally:
        aws_session.reset()
        set_job_dependencies(None)
        server.stop()


def run_one_job(use_backend: Callable[..., Any], moto_jobs: dict[str, Any], moderation: ModerationEmulator) -> Any:
    names, clients = moto_jobs["names"], moto_jobs["clients"]
    services = moderated(use_backend("sagemaker"), moderation)
    settings = msgspec.structs.replace(
        services.settings,
        jobs_table_name=names["table"],
        jobs_bucket_name=names["bucket"],
        jobs_queue_url=names["queue_url"],
        webhook_secret_id=moto_jobs["secret"],
    )
    services.settings = settings
    deps = build_aws_job_dependencies(settings, services.tryon)
    set_job_dependencies(deps)
    body = request_body(num_samples=2)
    status, _, submitted = call_handler("POST", "/jobs", body, key=API_KEY)
    assert status == 202, submitted
    (message,) = clients["sqs"].receive_message(QueueUrl=names["queue_url"], WaitTimeSeconds=0)["Messages"]
    handle_message(decode_message(message["Body"]), deps)
    status, _, job = call_handler("GET", f"/jobs/{submitted['id']}", key=API_KEY)
    assert status == 200
    listed = clients["s3"].list_objects_v2(Bucket=names["bucket"], Prefix="results/")
    return job, [item["Key"] for item in listed.get("Contents", [])]


def test_every_job_sample_is_checked_before_it_is_stored(
    use_backend: Callable[..., Any], moto_jobs: dict[str, Any], moderation: ModerationEmulator
) -> None:
    job, stored = run_one_job(use_backend, moto_jobs, moderation)
    assert job["status"] == "succeeded" and len(job["images"]) == 2
    assert len(stored) == 2
    assert moderation.count(DETECT_MODERATION_LABELS) == 2  # one per sample
    assert moderation.count(APPLY_GUARDRAIL) == 1  # the description, once for the job


def test_a_refused_job_sample_leaves_nothing_in_the_jobs_bucket(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, moto_jobs: dict[str, Any], moderation: ModerationEmulator
) -> None:
    moderation.label_images((), times=1)  # the first sample passes, the second is explicit
    moderation.label_images(EXPLICIT_NUDITY, times=1)
    job, stored = run_one_job(use_backend, moto_jobs, moderation)
    assert job["status"] == "failed"
    assert job["error"]["message"] == REFUSED and job["error"]["status"] == 422
    assert stored == []  # the first sample's image went with the failed job, the refused one never came
    assert model_calls(aws) == 2


# ----------------------------------------------------------------------------- IAM


def test_each_role_allows_exactly_the_moderation_calls_botocore_sends(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, moderation: ModerationEmulator, garment_url: str
) -> None:
    """The IAM action of every moderation request the clients really send (botocore's signing name
    and operation), against each role's statements in template.yaml."""
    services = moderated(use_backend("bedrock"), moderation, moderation_image_service="rekognition")
    stage = services.tryon.moderation
    sent: set[str] = set()
    for checker in [*stage.text_checkers, stage.image_checker]:  # type: ignore[union-attr]
        client = getattr(checker, "client", None)
        if client is not None:
            client.meta.events.register(
                "before-call.*.*",
                lambda model, **_: sent.add(f"{model.service_model.signing_name}:{model.name}"),
            )
    assert post(request_body(garment_url=garment_url))[0] == 200
    moderated(services, moderation, moderation_image_service="guardrail")
    for checker in [*services.tryon.moderation.text_checkers]:  # type: ignore[union-attr]
        client = getattr(checker, "client", None)
        if client is not None:
            client.meta.events.register(
                "before-call.*.*",
                lambda model, **_: sent.add(f"{model.service_model.signing_name}:{model.name}"),
            )
    assert post(request_body())[0] == 200
    assert sent == {"bedrock:ApplyGuardrail", "rekognition:DetectModerationLabels"}

    template = load_template()
    guardrail_arn = str(resolve({"Fn::GetAtt": ["ModerationGuardrail", "GuardrailArn"]}, template))
    expected = {"bedrock:ApplyGuardrail": {guardrail_arn}, "rekognition:DetectModerationLabels": {"*"}}
    for role in ("TryOnFunctionRole", "JobWorkerFunctionRole"):
        granted: dict[str, set[str]] = {}
        for entry in template["Resources"][role]["Properties"]["Policies"]:
            policy = entry["Fn::If"][1] if "Fn::If" in entry else entry
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                for action in actions:
                    # InvokeModel is the backend's, DetectFaces the person check's (tested with it).
                    if action.split(":")[0] in ("bedrock", "rekognition") and action not in (
                        "bedrock:InvokeModel",
                        "rekognition:DetectFaces",
                    ):
                        granted.setdefault(action, set()).add(str(resolve(statement["Resource"], template)))
        assert granted == expected, role
        assert set(granted) == sent


def test_refused_images_are_not_in_the_logs(
    use_backend: Callable[..., Any], aws: AwsModelEmulator, moderation: ModerationEmulator, json_logs: Any
) -> None:
    moderated(use_backend("sagemaker"), moderation)
    moderation.label_images(EXPLICIT_NUDITY)
    assert post(request_body())[0] == 422
    logged = json_logs.getvalue()
    refusal = next(json.loads(line) for line in logged.splitlines() if '"moderation refused"' in line)
    assert refusal["stage"] == "output_image" and refusal["reason"].startswith("label:")
    assert "/9j/" not in logged and base64.b64encode(b"\xff\xd8\xff").decode() not in logged

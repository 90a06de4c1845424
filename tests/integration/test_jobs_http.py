"""POST /jobs, GET and DELETE /jobs/{job_id} through the Lambda handler over function-URL events,
with the local adapters (real SQLite and data folder) and a scripted backend."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import ScriptedBackend, solid_jpeg
from tests.handler_calls import call_handler
from tests.jobs_fixtures import local_jobs
from tests.photos import b64
from tryon_api.entrypoints.wiring import set_services
from tryon_api.http.auth import ApiKeyVerifier, static_key_loader
from tryon_api.http.dependencies import Services
from tryon_api.http.request_parsing import parse_generate_request
from tryon_api.jobs.dependencies import JobDependencies
from tryon_api.jobs.local_queue import message_from_body
from tryon_api.jobs.worker import handle_message
from tryon_api.tryon.garment_url import PRIVATE_ADDRESS
from tryon_api.tryon.pipeline import request_seed

KEY, OTHER_KEY = "jobs-key-one", "jobs-key-two"


@pytest.fixture
def deps(tmp_path: Path) -> JobDependencies:
    jobs, _ = local_jobs(tmp_path, ScriptedBackend(), jobs_max_in_flight_per_key=3, local_api_keys=(KEY, OTHER_KEY))
    set_services(
        Services(
            settings=jobs.settings,
            verifier=ApiKeyVerifier(static_key_loader((KEY, OTHER_KEY))),
            tryon=jobs.tryon,
            jobs=lambda: jobs,
        )
    )
    return jobs


def call(
    method: str, path: str, body: Any = None, *, key: str | None = KEY, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    return call_handler(method, path, body, key=key, headers=headers)


def job_body(**extra: Any) -> dict[str, Any]:
    return {"selfie_base64": b64(solid_jpeg()), "clothing_description": "red hoodie", "mode": "studio", **extra}


def run_queued(deps: JobDependencies) -> int:
    ran = 0
    while (received := deps.queue.receive()) is not None:  # type: ignore[attr-defined]
        handle_message(message_from_body(received.body), deps)
        deps.queue.acknowledge(received.receipt)  # type: ignore[attr-defined]
        ran += 1
    return ran


def test_submit_poll_and_delete(deps: JobDependencies) -> None:
    status, headers, answer = call("POST", "/jobs", job_body(num_samples=2, seed=100))
    assert status == 202 and answer == {"id": answer["id"], "status": "queued"}
    assert headers["Location"] == f"/jobs/{answer['id']}" and len(answer["id"]) == 22
    status, _, polled = call("GET", f"/jobs/{answer['id']}")
    assert status == 200 and polled["status"] == "queued" and "images" not in polled
    assert polled["created_at"].endswith("Z") and polled["num_samples"] == 2 and polled["seed"] == 100
    assert run_queued(deps) == 1
    status, _, done = call("GET", f"/jobs/{answer['id']}")
    assert status == 200 and done["status"] == "succeeded"
    assert [image["seed"] for image in done["images"]] == [100, 101]
    assert all(image["url"].startswith("http://") and "image_base64" not in image for image in done["images"])
    assert {image["mime_type"] for image in done["images"]} == {"image/jpeg"}
    status, _, inline = call("GET", f"/jobs/{answer['id']}?images=base64")
    assert status == 200 and [image["seed"] for image in inline["images"]] == [100, 101]
    assert all(base64.b64decode(image["image_base64"])[:2] == b"\xff\xd8" for image in inline["images"])
    status, _, body = call("DELETE", f"/jobs/{answer['id']}")
    assert status == 204 and body == {}
    assert call("GET", f"/jobs/{answer['id']}")[0:3:2] == (404, {"error": "job not found"})
    assert call("DELETE", f"/jobs/{answer['id']}")[0] == 404


def test_the_default_seed_is_the_requests_own(deps: JobDependencies) -> None:
    body = job_body()
    _, _, answer = call("POST", "/jobs", body)
    run_queued(deps)
    _, _, done = call("GET", f"/jobs/{answer['id']}")
    expected = request_seed(parse_generate_request(json.dumps(body).encode()))
    assert done["seed"] == expected and [image["seed"] for image in done["images"]] == [expected]


def test_a_failed_job_carries_the_synchronous_message_and_status(deps: JobDependencies) -> None:
    from tryon_api.tryon.errors import UpstreamFailed

    deps.tryon.backend = ScriptedBackend(UpstreamFailed())
    _, _, answer = call("POST", "/jobs", job_body())
    run_queued(deps)
    _, _, failed = call("GET", f"/jobs/{answer['id']}")
    assert failed["status"] == "failed" and failed["error"] == {"message": "the image model failed", "status": 502}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"clothing_description": "x", "mode": "studio"}, "selfie_base64 is required"),
        ({"selfie_base64": b64(solid_jpeg()), "mode": "studio"}, "clothing_description is required"),
        (job_body(mode="beach"), 'mode must be "studio" or "environment"'),
        (job_body(selfie_base64=b64(b"not an image at all")), None),
        (job_body(num_samples=0), "num_samples must be an integer from 1 to 4"),
        (job_body(num_samples=5), "num_samples must be an integer from 1 to 4"),
        (job_body(num_samples="2"), "num_samples must be an integer from 1 to 4"),
        (job_body(num_samples=True), "num_samples must be an integer from 1 to 4"),
        (job_body(seed=-1), "seed must be an integer from 0 to 2147483647"),
        (job_body(seed=2**31), "seed must be an integer from 0 to 2147483647"),
        (job_body(seed=1.5), "seed must be an integer from 0 to 2147483647"),
        (job_body(webhook_url=7), "webhook_url must be a string"),
        (job_body(webhook_url="ftp://example.com/x"), "webhook_url must be an absolute http or https URL"),
        (
            job_body(clothing_image_url="http://10.0.0.1/x.jpg"),
            f"clothing_image_url is not allowed: {PRIVATE_ADDRESS}",
        ),
        (job_body(output_format="gif"), 'output_format must be one of "jpeg", "png", "webp"'),
        (job_body(output_format="JPEG"), 'output_format must be one of "jpeg", "png", "webp"'),
        (job_body(output_format=1), 'output_format must be one of "jpeg", "png", "webp"'),
        (job_body(garment_category="shoes"), 'garment_category must be one of "auto", "tops", "bottoms", "one-pieces"'),
        (job_body(garment_category=""), 'garment_category must be one of "auto", "tops", "bottoms", "one-pieces"'),
    ],
)
def test_a_bad_field_gets_the_synchronous_400_before_anything_is_queued(
    deps: JobDependencies, body: dict[str, Any], message: str | None
) -> None:
    deps.webhook_guard.fetcher.allow_private = False
    deps.webhook_guard.fetcher.allowed_ports = frozenset({80, 443})
    status, _, answer = call("POST", "/jobs", body)
    sync_status, _, sync_answer = call(
        "POST", "/generate_image", {k: v for k, v in body.items() if k not in ("num_samples", "seed", "webhook_url")}
    )
    assert status == 400
    if message is not None:
        assert answer == {"error": message}
    if "selfie_base64" in body and body.get("mode") != "beach" and message is None:
        assert (sync_status, sync_answer) == (status, answer)  # the same decoding, the same message
    if "output_format" in body or "garment_category" in body:
        assert (sync_status, sync_answer) == (status, answer)  # both routes take them, with one message
    assert deps.queue.receive() is None  # type: ignore[attr-defined]
    assert list((Path(deps.settings.jobs_data_dir) / "blobs").rglob("selfie")) == []


def test_another_keys_job_and_an_unknown_id_are_the_same_404(deps: JobDependencies) -> None:
    _, _, answer = call("POST", "/jobs", job_body())
    for method in ("GET", "DELETE"):
        assert call(method, f"/jobs/{answer['id']}", key=OTHER_KEY)[0:3:2] == (404, {"error": "job not found"})
        assert call(method, "/jobs/" + "A" * 22)[0:3:2] == (404, {"error": "job not found"})
        assert call(method, "/jobs/not-an-id")[0:3:2] == (404, {"error": "job not found"})
    assert call("GET", f"/jobs/{answer['id']}")[0] == 200  # still there for its owner
    assert call("GET", f"/jobs/{answer['id']}", key=None)[0] == 401


def test_the_in_flight_limit_is_a_429_with_retry_after_and_frees_when_jobs_end(deps: JobDependencies) -> None:
    for _ in range(3):
        assert call("POST", "/jobs", job_body())[0] == 202
    status, headers, answer = call("POST", "/jobs", job_body())
    assert status == 429 and int(headers["Retry-After"]) > 0
    assert answer == {"error": "too many jobs in flight for this api key, retry later"}
    assert call("POST", "/jobs", job_body(), key=OTHER_KEY)[0] == 202  # per key
    run_queued(deps)
    assert call("POST", "/jobs", job_body())[0] == 202


def test_an_idempotency_key_returns_the_same_job(deps: JobDependencies) -> None:
    body = job_body(num_samples=2)
    first = call("POST", "/jobs", body, headers={"Idempotency-Key": "order-42"})
    again = call("POST", "/jobs", body, headers={"Idempotency-Key": "order-42"})
    assert first[0] == again[0] == 202 and first[2] == again[2] and again[1]["Location"] == first[1]["Location"]
    assert run_queued(deps) == 1  # one job queued, not two
    other_key = call("POST", "/jobs", body, headers={"Idempotency-Key": "order-42"}, key=OTHER_KEY)
    assert other_key[0] == 202 and other_key[2]["id"] != first[2]["id"]  # keys are per API key
    reused = call("POST", "/jobs", job_body(num_samples=1), headers={"Idempotency-Key": "order-42"})
    assert reused[0:3:2] == (422, {"error": "idempotency-key was already used with a different request"})
    bad = call("POST", "/jobs", body, headers={"Idempotency-Key": "x" * 256})
    assert bad[0:3:2] == (400, {"error": "idempotency-key must be 1 to 255 printable ascii characters"})
    assert call("POST", "/jobs", body)[2]["id"] != first[2]["id"]  # without the header: a new job


def test_wrong_methods_on_jobs_paths_are_405_with_allow(deps: JobDependencies) -> None:
    status, headers, _ = call("PUT", "/jobs/" + "A" * 22)
    assert status == 405 and set(headers["Allow"].split(", ")) == {"GET", "DELETE"}
    status, headers, _ = call("GET", "/jobs")
    assert status == 405 and headers["Allow"] == "POST"
    assert call("GET", "/jobs/a/b")[0] == 404


def test_a_jobs_category_and_format_reach_the_backend_and_the_answer(deps: JobDependencies) -> None:
    _, _, answer = call("POST", "/jobs", job_body(garment_category="bottoms", output_format="webp", num_samples=2))
    run_queued(deps)
    _, _, done = call("GET", f"/jobs/{answer['id']}")
    assert (done["garment_category"], done["output_format"]) == ("bottoms", "webp")
    assert [image["mime_type"] for image in done["images"]] == ["image/webp", "image/webp"]
    backend = deps.tryon.backend
    assert [job.garment_category for job in backend.jobs] == ["bottoms", "bottoms"]  # type: ignore[attr-defined]
    status, _, sync = call("POST", "/generate_image", job_body(garment_category="one-pieces", output_format="png"))
    assert status == 200 and sync["mime_type"] == "image/png"
    assert base64.b64decode(sync["image_base64"]).startswith(b"\x89PNG")
    assert backend.jobs[-1].garment_category == "one-pieces"  # type: ignore[attr-defined]

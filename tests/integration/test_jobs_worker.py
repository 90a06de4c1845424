"""handle_message over the local adapters (real SQLite, a real data folder, a loopback webhook
receiver): per-sample seeds, results kept and inputs deleted, failures as the synchronous call's
status, retries, webhooks signed and retried with backoff, and the metrics the work emits."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.fakes import ScriptedBackend, solid_jpeg
from tests.jobs_fixtures import WEBHOOK_SECRET, local_jobs
from tests.loopback import webhook_receiver
from tryon_api.jobs import worker
from tryon_api.jobs.interface import QueueMessage, job_owner
from tryon_api.jobs.local_queue import message_from_body
from tryon_api.jobs.submission import JobOptions, delete_job, submit_job
from tryon_api.jobs.webhooks import RETRY_DELAYS_SECONDS, verify_signature
from tryon_api.jobs.worker import handle_message
from tryon_api.tryon.errors import ContentFiltered
from tryon_api.tryon.interface import TryOnRequest

REQUEST = TryOnRequest(selfie_bytes=solid_jpeg(), clothing_description="a green scarf", mode="studio")


@pytest.fixture(autouse=True)
def _no_metrics_left_over() -> None:
    worker.metrics.clear_metrics()  # Powertools shares one metric set: other tests' metrics are not ours


def next_message(deps: object) -> QueueMessage:
    received = deps.queue.receive()  # type: ignore[attr-defined]
    assert received is not None
    deps.queue.acknowledge(received.receipt)  # type: ignore[attr-defined]
    return message_from_body(received.body)


def emitted_metrics(capsys: pytest.CaptureFixture[str]) -> dict[str, list[float]]:
    worker.metrics.flush_metrics(raise_on_empty_metrics=False)
    found: dict[str, list[float]] = {}
    for line in capsys.readouterr().out.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for definition in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = blob[definition["Name"]]
            found.setdefault(definition["Name"], []).extend(value if isinstance(value, list) else [value])
    return found


def test_a_job_renders_each_sample_with_its_own_seed_and_keeps_only_the_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deps, backend = local_jobs(tmp_path)
    job = submit_job(REQUEST, JobOptions(num_samples=3, seed=41, webhook_url=None), job_owner("k"), deps)
    assert (tmp_path / "blobs" / "inputs" / job.id / "selfie").read_bytes() == REQUEST.selfie_bytes
    handle_message(next_message(deps), deps)

    done = deps.store.get(job.id)
    assert done is not None and done.status == "succeeded" and done.attempts == 1
    assert [image.seed for image in done.images] == [41, 42, 43]
    assert [generation.seed for generation in backend.jobs] == [41, 42, 43]
    assert not (tmp_path / "blobs" / "inputs" / job.id).exists()  # the selfie is gone once the job ends
    for image in done.images:
        assert deps.blobs.get(image.blob_key)[:2] == b"\xff\xd8"
    assert deps.queue.receive() is None  # no webhook asked: nothing queued
    metrics = emitted_metrics(capsys)
    assert metrics["JobsSubmitted"] == [1] and metrics["JobsSucceeded"] == [1] and len(metrics["JobDuration"]) == 1

    handle_message(QueueMessage("run", job.id), deps)  # a redelivered message runs nothing twice
    assert len(backend.jobs) == 3
    delete_job(done, deps)
    assert deps.store.get(job.id) is None and not (tmp_path / "blobs" / "results" / job.id).exists()


def test_a_try_on_error_is_the_jobs_answer_with_the_synchronous_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deps, _ = local_jobs(tmp_path, ScriptedBackend(ContentFiltered()))
    job = submit_job(REQUEST, JobOptions(1, 5, None), job_owner("k"), deps)
    handle_message(next_message(deps), deps)
    done = deps.store.get(job.id)
    assert done is not None and done.status == "failed"
    assert done.error is not None and (done.error.message, done.error.status) == (ContentFiltered.default_message, 422)
    assert emitted_metrics(capsys)["JobsFailed"] == [1]


def test_an_unexpected_failure_is_retried_then_recorded_as_an_internal_error(tmp_path: Path) -> None:
    deps, _ = local_jobs(tmp_path, ScriptedBackend(RuntimeError("boom /secret/path")))
    job = submit_job(REQUEST, JobOptions(1, 5, None), job_owner("k"), deps)
    for _attempt in range(worker.MAX_RUN_ATTEMPTS - 1):
        with pytest.raises(RuntimeError):
            handle_message(QueueMessage("run", job.id), deps)
        running = deps.store.get(job.id)
        assert running is not None and running.status == "running"
    handle_message(QueueMessage("run", job.id), deps)
    done = deps.store.get(job.id)
    assert done is not None and done.status == "failed" and done.error is not None
    assert (done.error.message, done.error.status) == ("internal error", 500)


def test_a_job_deleted_while_it_runs_leaves_nothing_behind(tmp_path: Path) -> None:
    deps, backend = local_jobs(tmp_path)
    job = submit_job(REQUEST, JobOptions(2, 5, None), job_owner("k"), deps)
    original = backend.generate

    def delete_midway(generation: object, deadline: object) -> object:
        deps.store.delete(job.id)
        return original(generation, deadline)  # type: ignore[arg-type]

    backend.generate = delete_midway  # type: ignore[method-assign]
    handle_message(next_message(deps), deps)
    assert deps.store.get(job.id) is None
    assert list((tmp_path / "blobs").rglob("*.jpg")) == [] and list((tmp_path / "blobs").rglob("selfie")) == []


def test_the_webhook_is_signed_and_a_failed_delivery_is_retried_with_backoff_then_given_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with webhook_receiver(status=500) as receiver:
        deps, _ = local_jobs(tmp_path, allow_private_garment_urls=True)
        job = submit_job(REQUEST, JobOptions(1, 9, receiver.url), job_owner("k"), deps)
        handle_message(next_message(deps), deps)
        message = next_message(deps)
        assert message == QueueMessage("webhook", job.id, 1)
        # The queue's clock moves only when the test moves it: each delay is read exactly.
        now = [float(int(time.time()))]  # whole seconds: sums of whole-second delays stay exact
        deps.queue.clock = lambda: now[0]  # type: ignore[attr-defined]
        delays = []
        for attempt in range(1, len(RETRY_DELAYS_SECONDS) + 2):
            handle_message(message, deps)
            received = deps.queue.receive()
            if attempt > len(RETRY_DELAYS_SECONDS):
                assert received is None
                break
            assert received is None  # the retry is delayed
            delay = deps.queue.next_visible_in() or 0
            delays.append(delay)
            sent_at = now[0]
            now[0] = sent_at + delay - 0.001
            assert deps.queue.receive() is None  # not a moment before its delay
            now[0] = sent_at + delay
            message = next_message(deps)
            assert message.attempt == attempt + 1
        assert delays == list(RETRY_DELAYS_SECONDS)
        deliveries = receiver.wait_for(len(RETRY_DELAYS_SECONDS) + 1)
        assert len(deliveries) == len(RETRY_DELAYS_SECONDS) + 1
    headers, body = deliveries[-1]
    assert verify_signature(WEBHOOK_SECRET, body, headers["x-tryon-timestamp"], headers["x-tryon-signature"])
    document = json.loads(body)
    assert document["id"] == job.id and document["status"] == "succeeded"
    assert [image["seed"] for image in document["images"]] == [9]
    metrics = emitted_metrics(capsys)
    assert metrics["WebhookFailures"] == [1] and "WebhookDeliveries" not in metrics


def test_a_delivered_webhook_is_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with webhook_receiver() as receiver:
        deps, _ = local_jobs(tmp_path, allow_private_garment_urls=True)
        submit_job(REQUEST, JobOptions(1, 9, receiver.url), job_owner("k"), deps)
        handle_message(next_message(deps), deps)
        handle_message(next_message(deps), deps)
        assert len(receiver.wait_for(1)) == 1
    assert deps.queue.receive() is None
    assert emitted_metrics(capsys)["WebhookDeliveries"] == [1]


def test_a_webhook_to_an_inside_address_is_not_delivered_when_private_urls_are_not_allowed(tmp_path: Path) -> None:
    with webhook_receiver() as receiver:
        deps, _ = local_jobs(tmp_path, allow_private_garment_urls=False)
        result = deps.webhook_sender.deliver(receiver.url, b"{}")
        assert not result.delivered and result.reason == "webhook_url is not allowed"
        assert receiver.deliveries == []

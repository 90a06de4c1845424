"""handle_message over the local adapters (real SQLite, a real data folder, a loopback webhook
receiver): per-sample seeds, results kept and inputs deleted, failures as the synchronous call's
status, retries, webhooks signed and retried with backoff, and the metrics the work emits."""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.fakes import ScriptedBackend, solid_jpeg
from tests.jobs_fixtures import WEBHOOK_SECRET, local_jobs
from tests.loopback import webhook_receiver
from tryon_api.jobs import worker
from tryon_api.jobs.interface import QueueMessage, job_owner
from tryon_api.jobs.local_queue import message_from_body
from tryon_api.jobs.submission import JobOptions, delete_job, submit_job
from tryon_api.jobs.webhooks import MAX_HOP_SECONDS, RETRY_SCHEDULE_SECONDS
from tryon_api.jobs.worker import handle_message
from tryon_api.tryon.errors import ContentFiltered
from tryon_api.tryon.garment_url import PRIVATE_ADDRESS
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


class FakeClock:
    """Time for the worker and the local queue, moved by the test: no real waiting."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def run_due_messages(deps: object, clock: FakeClock, until: float) -> list[QueueMessage]:
    """Work the queue as the worker would, jumping the clock to each message's visibility, until
    ``until`` (or the queue is empty); the messages handled, in order."""
    handled = []
    while True:
        wait = deps.queue.next_visible_in()  # type: ignore[attr-defined]
        if wait is None or clock.now + wait > until:
            return handled
        clock.now += wait
        message = next_message(deps)
        handle_message(message, deps)
        handled.append(message)


def clocked_jobs(tmp_path: Path) -> tuple[object, FakeClock]:
    deps, _ = local_jobs(tmp_path, allow_private_garment_urls=True)
    clock = FakeClock()
    deps.clock = clock
    deps.queue.clock = clock  # type: ignore[attr-defined]
    deps.store.clock = clock  # type: ignore[attr-defined]
    return deps, clock


def test_a_failed_delivery_is_retried_on_the_documented_schedule_over_a_day_then_given_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with webhook_receiver(status=500) as receiver:
        deps, clock = clocked_jobs(tmp_path)
        job = submit_job(REQUEST, JobOptions(1, 9, receiver.url), job_owner("k"), deps)
        started = clock.now
        handled = run_due_messages(deps, clock, until=started + 3 * 86400)
        attempts = len(RETRY_SCHEDULE_SECONDS) + 1
        deliveries = receiver.wait_for(attempts)
    assert len(deliveries) == attempts and deps.queue.receive() is None
    # Every SQS delay was at most 15 minutes: the long waits are chains of hops, no Lambda sleeps.
    webhook_messages = [m for m in handled if m.kind == "webhook"]
    assert len(webhook_messages) > attempts and max(RETRY_SCHEDULE_SECONDS) // MAX_HOP_SECONDS <= len(handled)
    times = [int(headers["webhook-timestamp"]) for headers, _ in deliveries]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(abs(gap - planned) <= 1 for gap, planned in zip(gaps, RETRY_SCHEDULE_SECONDS, strict=True))
    assert times[-1] - times[0] >= 24 * 3600  # the schedule spans more than a day
    assert {headers["webhook-id"] for headers, _ in deliveries} == {f"msg_{job.id}"}  # stable across retries
    metrics = emitted_metrics(capsys)
    assert metrics["WebhookFailures"] == [1] and "WebhookDeliveries" not in metrics


def test_a_receiver_down_for_an_hour_still_gets_the_event(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with webhook_receiver(status=503) as receiver:
        deps, clock = clocked_jobs(tmp_path)
        job = submit_job(REQUEST, JobOptions(2, 9, receiver.url), job_owner("k"), deps)
        back_at = clock.now + 3600
        run_due_messages(deps, clock, until=back_at)
        down = len(receiver.wait_for(1))
        assert 1 <= down < len(RETRY_SCHEDULE_SECONDS) and deps.queue.next_visible_in() is not None
        receiver.status = 200  # the receiver is back after an hour
        run_due_messages(deps, clock, until=clock.now + 86400)
        deliveries = receiver.wait_for(down + 1)
    assert len(deliveries) == down + 1 and deps.queue.receive() is None
    headers, body = deliveries[-1]
    # Verified with the standardwebhooks package (a verifier nobody here wrote), at the delivery's time.
    with freeze_verifier_clock(int(headers["webhook-timestamp"])):
        event = Webhook(WEBHOOK_SECRET).verify(body, headers)
    assert event["type"] == "job.succeeded" and event["data"]["id"] == job.id
    assert [image["seed"] for image in event["data"]["images"]] == [9, 10]
    assert all(image["url"].startswith("http") and "image_base64" not in image for image in event["data"]["images"])
    assert {h["webhook-id"] for h, _ in deliveries} == {f"msg_{job.id}"}
    assert emitted_metrics(capsys)["WebhookDeliveries"] == [1]


def test_a_job_deleted_while_its_webhook_waits_ends_the_retry_chain(tmp_path: Path) -> None:
    with webhook_receiver(status=500) as receiver:
        deps, clock = clocked_jobs(tmp_path)
        job = submit_job(REQUEST, JobOptions(1, 9, receiver.url), job_owner("k"), deps)
        run_due_messages(deps, clock, until=clock.now + 3 * 3600)  # a few failed attempts, a retry waiting
        attempts = len(receiver.wait_for(1))
        assert deps.queue.next_visible_in() is not None
        done = deps.store.get(job.id)
        assert done is not None
        delete_job(done, deps)
        handled = run_due_messages(deps, clock, until=clock.now + 3 * 86400)
    assert len(handled) == 1 and deps.queue.next_visible_in() is None  # the next hop found no job: no more
    assert len(receiver.deliveries) == attempts


def test_a_delivery_passes_standardwebhooks_verification_and_a_changed_byte_fails_it(tmp_path: Path) -> None:
    with webhook_receiver() as receiver:
        deps, _ = local_jobs(tmp_path, allow_private_garment_urls=True)
        deps.tryon.backend = ScriptedBackend(ContentFiltered())
        job = submit_job(REQUEST, JobOptions(1, 9, receiver.url), job_owner("k"), deps)
        handle_message(next_message(deps), deps)
        handle_message(next_message(deps), deps)
        ((headers, body),) = receiver.wait_for(1)
    assert headers["webhook-signature"].startswith("v1,") and headers["webhook-id"] == f"msg_{job.id}"
    event = Webhook(WEBHOOK_SECRET).verify(body, headers)
    assert event["type"] == "job.failed" and event["data"]["error"]["status"] == 422
    for index in (0, len(body) // 2, len(body) - 1):
        changed = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
        with pytest.raises(WebhookVerificationError):
            Webhook(WEBHOOK_SECRET).verify(changed, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"another secret, 24 bytes").decode()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):  # the id is signed too
        Webhook(WEBHOOK_SECRET).verify(body, {**headers, "webhook-id": "msg_other"})


@contextmanager
def freeze_verifier_clock(epoch: int) -> Iterator[None]:
    """standardwebhooks checks the timestamp against datetime.now: set it to the delivery's time."""
    import standardwebhooks.webhooks as module

    real = module.datetime

    class Frozen(real):  # type: ignore[misc, valid-type]
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return real.fromtimestamp(epoch, tz)

    module.datetime = Frozen  # type: ignore[misc]
    try:
        yield
    finally:
        module.datetime = real  # type: ignore[misc]


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
        result = deps.webhook_sender.deliver(receiver.url, "msg_x", b"{}")
        assert not result.delivered and result.reason == f"webhook_url is not allowed: {PRIVATE_ADDRESS}"
        assert receiver.deliveries == []

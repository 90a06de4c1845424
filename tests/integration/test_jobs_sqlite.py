"""The local jobs adapters against a real SQLite file: the store, the queue, the blob folder and
Powertools' idempotency over the SQLite layer, including a restart (a fresh instance on the same files)."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError

from tryon_api.jobs.interface import Job, JobError, JobLimitReached, QueueMessage
from tryon_api.jobs.local_blobs import LocalBlobStore
from tryon_api.jobs.local_queue import SqliteJobQueue, message_from_body
from tryon_api.jobs.sqlite_idempotency import SqliteIdempotencyLayer
from tryon_api.jobs.sqlite_store import SqliteJobStore


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def a_job(job_id: str = "a" * 22, owner: str = "owner-1", expires_at: int = 1_800_090_000) -> Job:
    return Job(
        id=job_id,
        owner=owner,
        status="queued",
        created_at=1_800_000_000.0,
        updated_at=1_800_000_000.0,
        expires_at=expires_at,
        mode="studio",
        clothing_description="a red coat",
        num_samples=2,
        seed=7,
        webhook_url="https://hooks.example.com/x",
        input_keys=(f"inputs/{job_id}/selfie",),
    )


def test_a_job_is_stored_claimed_finished_and_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    store = SqliteJobStore(tmp_path / "jobs.sqlite3", clock=clock)
    job = a_job()
    store.create(job, max_in_flight=5)
    assert store.get(job.id) == job
    claimed = store.claim(job.id, clock.now + 1)
    assert claimed is not None and claimed.status == "running" and claimed.attempts == 1

    restarted = SqliteJobStore(tmp_path / "jobs.sqlite3", clock=clock)
    assert restarted.running_job_ids() == [job.id]
    again = restarted.claim(job.id, clock.now + 2)  # a run left by a crashed worker is picked up again
    assert again is not None and again.attempts == 2
    failed = replace(again, status="failed", error=JobError("the image model failed", 502))
    restarted.finish(failed)
    assert restarted.get(job.id) == failed
    assert restarted.claim(job.id, clock.now + 3) is None  # finished: nothing runs twice
    restarted.delete(job.id)
    assert restarted.get(job.id) is None
    assert restarted.claim(job.id, clock.now + 4) is None
    restarted.finish(failed)  # a job deleted while it ran stays deleted
    assert restarted.get(job.id) is None


def test_the_in_flight_limit_holds_under_concurrent_submits_and_frees_on_finish(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.sqlite3", clock=Clock())
    outcomes: list[str] = []
    lock = threading.Lock()

    def submit(index: int) -> None:
        try:
            store.create(a_job(f"{index:022d}"), max_in_flight=3)
            result = "created"
        except JobLimitReached:
            result = "limited"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["created"] * 3 + ["limited"] * 9
    store.create(a_job("x" * 22, owner="owner-2"), max_in_flight=3)  # another owner has its own slots
    created = [f"{i:022d}" for i in range(12) if store.get(f"{i:022d}") is not None]
    job = store.get(created[0])
    assert job is not None
    store.finish(replace(job, status="succeeded"))
    store.create(a_job("y" * 22), max_in_flight=3)
    with pytest.raises(JobLimitReached):
        store.create(a_job("z" * 22), max_in_flight=3)


def test_expired_jobs_are_invisible_at_once_and_swept(tmp_path: Path) -> None:
    clock = Clock()
    store = SqliteJobStore(tmp_path / "jobs.sqlite3", clock=clock)
    store.create(a_job("o" * 22, expires_at=int(clock.now) + 10), max_in_flight=5)
    store.create(a_job("n" * 22, expires_at=int(clock.now) + 1000), max_in_flight=5)
    clock.now += 11
    assert store.get("o" * 22) is None
    assert [job.id for job in store.sweep()] == ["o" * 22]
    assert store.get("n" * 22) is not None
    assert store.sweep() == []


def test_the_queue_delays_holds_retries_dead_letters_and_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "jobs.sqlite3"
    queue = SqliteJobQueue(path, visibility_timeout_seconds=60, max_receives=2, clock=clock)
    queue.send(QueueMessage("run", "a" * 22))
    queue.send(QueueMessage("webhook", "b" * 22, attempt=3), delay_seconds=30)
    with pytest.raises(ValueError):
        queue.send(QueueMessage("run", "c" * 22), delay_seconds=901)

    first = queue.receive()
    assert first is not None and message_from_body(first.body) == QueueMessage("run", "a" * 22, 1)
    assert queue.receive() is None  # the other one is delayed, the first is held
    assert queue.next_visible_in() == pytest.approx(30)

    restarted = SqliteJobQueue(path, visibility_timeout_seconds=60, max_receives=2, clock=clock)
    assert restarted.release_held() == 1  # the stopped server's message is visible again
    again = restarted.receive()
    assert again is not None and again.receipt == first.receipt and again.receives == 2
    restarted.release(again.receipt, 0)
    clock.now += 30
    delayed = restarted.receive()  # the first is past its last receive: dead-lettered, the delayed one comes
    assert delayed is not None and message_from_body(delayed.body) == QueueMessage("webhook", "b" * 22, 3)
    restarted.acknowledge(delayed.receipt)
    assert restarted.receive() is None
    assert restarted.counts() == {"messages": 0, "dead": 1}


@pytest.mark.parametrize(
    "body",
    ["[]", '{"kind": "other", "job_id": "x"}', '{"kind": "run"}', '{"kind": "run", "job_id": "x", "attempt": 0}'],
)
def test_a_malformed_message_body_is_refused(body: str) -> None:
    with pytest.raises(ValueError):
        message_from_body(body)


def test_blobs_are_files_under_the_folder_and_keys_cannot_escape_it(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    blobs.put("results/abc/0.jpg", b"jpeg bytes", "image/jpeg")
    assert blobs.get("results/abc/0.jpg") == b"jpeg bytes"
    assert (tmp_path / "blobs" / "results" / "abc" / "0.jpg").read_bytes() == b"jpeg bytes"
    blobs.delete(["results/abc/0.jpg", "results/abc/1.jpg"])  # a missing key is not an error
    assert not (tmp_path / "blobs" / "results" / "abc").exists()
    for key in ("../escape", "/etc/passwd", "results/../../x", "a//b", ""):
        with pytest.raises(ValueError):
            blobs.put(key, b"x", "text/plain")


def test_powertools_idempotency_over_sqlite_returns_the_first_answer(tmp_path: Path) -> None:
    layer = SqliteIdempotencyLayer(tmp_path / "jobs.sqlite3")
    calls: list[str] = []

    def create(key_data: dict[str, str]) -> dict[str, str]:
        calls.append(key_data["key"])
        return {"id": f"job-{len(calls)}"}

    config = IdempotencyConfig(event_key_jmespath="[owner, key]", payload_validation_jmespath="request")
    submit = idempotent_function(data_keyword_argument="key_data", persistence_store=layer, config=config)(create)
    first = submit(key_data={"owner": "o", "key": "k1", "request": "hash-a"})
    assert submit(key_data={"owner": "o", "key": "k1", "request": "hash-a"}) == first == {"id": "job-1"}
    assert submit(key_data={"owner": "other", "key": "k1", "request": "hash-a"}) == {"id": "job-2"}
    with pytest.raises(IdempotencyValidationError):
        submit(key_data={"owner": "o", "key": "k1", "request": "hash-b"})
    restarted = SqliteIdempotencyLayer(tmp_path / "jobs.sqlite3")
    again = idempotent_function(data_keyword_argument="key_data", persistence_store=restarted, config=config)(create)
    assert again(key_data={"owner": "o", "key": "k1", "request": "hash-a"}) == {"id": "job-1"}
    assert calls == ["k1", "k1"]

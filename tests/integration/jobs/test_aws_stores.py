"""DynamoDBJobStore, S3BlobStore and SqsJobQueue through real boto3 clients against moto, on the
table, bucket and queues that template.yaml declares (tests/integration/jobs/aws_resources.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from tests.integration.jobs.conftest import JobsAws
from tryon_api.jobs.aws_stores import (
    DynamoDBJobStore,
    MalformedQueueMessage,
    S3BlobStore,
    SqsJobQueue,
    decode_message,
    encode_message,
)
from tryon_api.jobs.interface import Job, JobError, JobImage, JobLimitReached, QueueMessage, job_owner

pytestmark = pytest.mark.integration

NOW = 1_800_000_000.0
OWNER = job_owner("key-a")


def new_job(number: int, owner: str = OWNER, **changes: Any) -> Job:
    job = Job(
        id=f"job-{number:04d}-aaaaaaaaaaaa",
        owner=owner,
        status="queued",
        created_at=NOW,
        updated_at=NOW,
        expires_at=int(NOW) + 86_400,
        mode="studio",
        clothing_description="a red linen shirt",
        num_samples=2,
        seed=1234,
        input_keys=(f"inputs/job-{number:04d}/selfie",),
    )
    return replace(job, **changes)


@pytest.fixture
def store(jobs_aws: JobsAws) -> DynamoDBJobStore:
    return DynamoDBJobStore(jobs_aws.dynamodb, jobs_aws.table, clock=lambda: NOW)


def raw_item(jobs_aws: JobsAws, pk: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = jobs_aws.dynamodb.get_item(TableName=jobs_aws.table, Key={"pk": {"S": pk}}).get(
        "Item"
    )
    return item


# ------------------------------------------------------------------------------- DynamoDB


def test_a_created_job_reads_back_field_for_field(store: DynamoDBJobStore) -> None:
    job = new_job(1, clothing_image_url="https://garments.example/shirt.jpg", webhook_url="https://hooks.example/x")
    store.create(job, max_in_flight=5)
    assert store.get(job.id) == job
    plain = new_job(2)
    store.create(plain, max_in_flight=5)
    assert store.get(plain.id) == plain  # absent optional fields stay None
    assert store.get("no-such-job") is None


def test_records_and_counters_live_under_the_documented_keys_with_the_ttl_attribute(
    store: DynamoDBJobStore, jobs_aws: JobsAws
) -> None:
    job = new_job(1)
    store.create(job, max_in_flight=5)
    record = raw_item(jobs_aws, f"job#{job.id}")
    counter = raw_item(jobs_aws, f"owner#{OWNER}")
    ttl = jobs_aws.dynamodb.describe_time_to_live(TableName=jobs_aws.table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at" and ttl["TimeToLiveStatus"] == "ENABLED"
    assert record is not None and record["expires_at"] == {"N": str(job.expires_at)}
    assert counter is not None and counter["in_flight"] == {"N": "1"} and "N" in counter["expires_at"]
    assert "key-a" not in json.dumps(record) + json.dumps(counter)  # only the key's digest is stored


def test_the_in_flight_limit_refuses_the_next_job_and_writes_nothing(store: DynamoDBJobStore) -> None:
    for number in range(3):
        store.create(new_job(number), max_in_flight=3)
    with pytest.raises(JobLimitReached):
        store.create(new_job(3), max_in_flight=3)
    assert store.get(new_job(3).id) is None
    assert store.in_flight(OWNER) == 3
    other = job_owner("key-b")  # another key has its own limit
    store.create(new_job(10, owner=other), max_in_flight=3)
    assert store.in_flight(other) == 1


def test_a_duplicate_id_is_refused_without_taking_a_slot(store: DynamoDBJobStore) -> None:
    store.create(new_job(1), max_in_flight=5)
    with pytest.raises(ValueError, match="exists"):
        store.create(new_job(1), max_in_flight=5)
    assert store.in_flight(OWNER) == 1


def test_claim_runs_a_queued_job_and_picks_up_a_running_one_again(store: DynamoDBJobStore) -> None:
    job = new_job(1)
    store.create(job, max_in_flight=5)
    claimed = store.claim(job.id, NOW + 5)
    assert claimed is not None and (claimed.status, claimed.attempts, claimed.updated_at) == ("running", 1, NOW + 5)
    again = store.claim(job.id, NOW + 700)  # the message came back: the first worker died
    assert again is not None and again.attempts == 2
    assert store.claim("no-such-job", NOW) is None


def test_finish_records_the_result_and_releases_the_slot_once(store: DynamoDBJobStore) -> None:
    job = new_job(1)
    store.create(job, max_in_flight=1)
    running = store.claim(job.id, NOW + 1)
    assert running is not None
    images = tuple(JobImage(1234 + n, "image/jpeg", f"results/{job.id}/{n}.jpg") for n in range(2))
    done = replace(running, status="succeeded", images=images, updated_at=NOW + 30, expires_at=int(NOW) + 99_999)
    store.finish(done)
    assert store.get(job.id) == done
    assert store.in_flight(OWNER) == 0
    store.finish(replace(done, status="failed", error=JobError("boom", 502)))  # a duplicate run finishing late
    assert store.get(job.id) == done and store.in_flight(OWNER) == 0
    assert store.claim(job.id, NOW + 60) is None  # a redelivered message runs nothing
    store.create(new_job(2), max_in_flight=1)  # the slot is free again


def test_a_failed_job_keeps_its_error(store: DynamoDBJobStore) -> None:
    job = new_job(1)
    store.create(job, max_in_flight=5)
    failed = replace(job, status="failed", error=JobError("the model refused the image", 422), updated_at=NOW + 3)
    store.finish(failed)
    assert store.get(job.id) == failed


def test_finish_without_a_counter_still_records_the_result(store: DynamoDBJobStore, jobs_aws: JobsAws) -> None:
    job = new_job(1)
    store.create(job, max_in_flight=5)
    jobs_aws.dynamodb.delete_item(TableName=jobs_aws.table, Key={"pk": {"S": f"owner#{OWNER}"}})  # expired by TTL
    done = replace(job, status="succeeded", updated_at=NOW + 2)
    store.finish(done)
    assert store.get(job.id) == done and store.in_flight(OWNER) == 0


def test_delete_releases_the_slot_of_a_job_in_flight_only(store: DynamoDBJobStore) -> None:
    queued, finished = new_job(1), new_job(2)
    store.create(queued, max_in_flight=5)
    store.create(finished, max_in_flight=5)
    store.finish(replace(finished, status="succeeded"))
    assert store.in_flight(OWNER) == 1
    store.delete(finished.id)
    assert store.in_flight(OWNER) == 1 and store.get(finished.id) is None
    store.delete(queued.id)
    assert store.in_flight(OWNER) == 0 and store.get(queued.id) is None
    store.delete(queued.id)  # gone already: not an error, releases nothing
    assert store.in_flight(OWNER) == 0
    assert store.claim(queued.id, NOW) is None
    store.finish(replace(queued, status="succeeded"))  # a worker finishing a deleted job
    assert store.get(queued.id) is None and store.in_flight(OWNER) == 0


def test_an_expired_record_is_gone_before_the_ttl_sweep_removes_it(jobs_aws: JobsAws) -> None:
    clock = [NOW]
    store = DynamoDBJobStore(jobs_aws.dynamodb, jobs_aws.table, clock=lambda: clock[0])
    job = new_job(1, expires_at=int(NOW) + 60)
    store.create(job, max_in_flight=5)
    assert store.get(job.id) == job
    clock[0] = NOW + 61
    assert store.get(job.id) is None
    assert store.claim(job.id, clock[0]) is None
    assert raw_item(jobs_aws, f"job#{job.id}") is not None  # still there: DynamoDB deletes it later


# ------------------------------------------------------------------------------------- S3


def test_blobs_round_trip_with_their_content_type(jobs_aws: JobsAws) -> None:
    blobs = S3BlobStore(jobs_aws.s3, jobs_aws.bucket)
    blobs.put("results/job-1/0.jpg", b"\xff\xd8jpeg", "image/jpeg")
    assert blobs.get("results/job-1/0.jpg") == b"\xff\xd8jpeg"
    head = jobs_aws.s3.head_object(Bucket=jobs_aws.bucket, Key="results/job-1/0.jpg")
    assert head["ContentType"] == "image/jpeg"
    with pytest.raises(KeyError):
        blobs.get("results/job-1/9.jpg")


def test_delete_removes_many_keys_in_batches_and_ignores_missing_ones(jobs_aws: JobsAws) -> None:
    blobs = S3BlobStore(jobs_aws.s3, jobs_aws.bucket)
    keys = [f"inputs/job-{n}/selfie" for n in range(1205)]  # more than one DeleteObjects request holds
    for key in keys[:1105]:
        blobs.put(key, b"x", "application/octet-stream")
    blobs.put("results/keep/0.jpg", b"y", "image/jpeg")
    blobs.delete(keys)
    blobs.delete([])
    listed = jobs_aws.s3.list_objects_v2(Bucket=jobs_aws.bucket)
    assert [o["Key"] for o in listed.get("Contents", [])] == ["results/keep/0.jpg"]


# ------------------------------------------------------------------------------------ SQS


def test_a_sent_message_arrives_as_the_worker_decodes_it(jobs_aws: JobsAws) -> None:
    queue = SqsJobQueue(jobs_aws.sqs, jobs_aws.queue_url)
    queue.send(QueueMessage("run", "job-0001-aaaaaaaaaaaa"))
    received = jobs_aws.sqs.receive_message(QueueUrl=jobs_aws.queue_url, MaxNumberOfMessages=10)["Messages"]
    assert [decode_message(m["Body"]) for m in received] == [QueueMessage("run", "job-0001-aaaaaaaaaaaa", 1)]


def test_a_delayed_message_stays_invisible_until_its_delay(jobs_aws: JobsAws, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's SQS keeps a message's DelaySeconds on its clock: the test moves that clock instead
    of sleeping, so a busy machine can neither reveal the message early nor hide it late."""
    import moto.sqs.models as moto_sqs

    now = [moto_sqs.unix_time_millis()]
    monkeypatch.setattr(moto_sqs, "unix_time_millis", lambda: now[0])
    queue = SqsJobQueue(jobs_aws.sqs, jobs_aws.queue_url)
    queue.send(QueueMessage("webhook", "job-0001-aaaaaaaaaaaa", attempt=3), delay_seconds=1)
    assert "Messages" not in jobs_aws.sqs.receive_message(QueueUrl=jobs_aws.queue_url)
    now[0] += 990
    assert "Messages" not in jobs_aws.sqs.receive_message(QueueUrl=jobs_aws.queue_url)
    now[0] += 20
    received = jobs_aws.sqs.receive_message(QueueUrl=jobs_aws.queue_url).get("Messages", [])
    assert [decode_message(m["Body"]) for m in received] == [QueueMessage("webhook", "job-0001-aaaaaaaaaaaa", 3)]


@pytest.mark.parametrize("delay", [-1, 901])
def test_a_delay_outside_sqs_bounds_is_refused_before_sending(jobs_aws: JobsAws, delay: int) -> None:
    with pytest.raises(ValueError, match="0-900"):
        SqsJobQueue(jobs_aws.sqs, jobs_aws.queue_url).send(QueueMessage("run", "j"), delay_seconds=delay)


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        "{}",
        '{"kind": "delete", "job_id": "j"}',
        '{"kind": "run", "job_id": ""}',
        '{"kind": "run", "job_id": 7}',
        '{"kind": "run", "job_id": "' + "j" * 65 + '"}',
        '{"kind": "run", "job_id": "j", "attempt": 0}',
        '{"kind": "run", "job_id": "j", "attempt": true}',
        '{"kind": "run", "job_id": "j", "attempt": "2"}',
    ],
)
def test_a_body_that_is_not_a_job_message_is_malformed(body: str) -> None:
    with pytest.raises(MalformedQueueMessage):
        decode_message(body)


def test_messages_round_trip_through_their_wire_form() -> None:
    for message in (QueueMessage("run", "abc"), QueueMessage("webhook", "abc", attempt=5)):
        assert decode_message(encode_message(message)) == message

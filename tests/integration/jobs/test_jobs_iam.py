"""Each function's role allows exactly the AWS calls its jobs code makes, read from the calls
botocore really sends (against moto) and from template.yaml's policies.

IAM checks TransactWriteItems per item, as the write each item makes (PutItem, UpdateItem,
DeleteItem, ConditionCheckItem), and DeleteObjects per key, as s3:DeleteObject (DynamoDB and S3
API references). The calls are the adapters' as the API (submit, poll, delete) and the worker
(claim, render, finish, deliver) use them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.cfn_template import load_template, resolve
from tests.integration.jobs.conftest import JobsAws
from tryon_api.jobs.aws_stores import DynamoDBJobStore, S3BlobStore, SqsJobQueue
from tryon_api.jobs.interface import Job, JobImage, QueueMessage, job_owner

pytestmark = pytest.mark.integration

TEMPLATE = load_template()
TABLE, BUCKET, QUEUE = "<JobsTable.Arn>", "<JobsBucket.Arn>", "<JobsQueue.Arn>"
TRANSACT_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
NOW = 1_800_000_000.0


class CallRecorder:
    """(IAM action, resource) for every request the clients send."""

    def __init__(self) -> None:
        self.calls: set[tuple[str, str]] = set()

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        service = model.service_model.endpoint_prefix
        name = model.name
        if service == "dynamodb":
            if name == "TransactWriteItems":
                for item in params["TransactItems"]:
                    (kind,) = item
                    self.calls.add((TRANSACT_ITEM_ACTIONS[kind], TABLE))
            else:
                self.calls.add((f"dynamodb:{name}", TABLE))
        elif service == "s3":
            if name == "DeleteObjects":
                for entry in params["Delete"]["Objects"]:
                    self.calls.add(("s3:DeleteObject", f"{BUCKET}/{entry['Key']}"))
            else:
                self.calls.add((f"s3:{name}", f"{BUCKET}/{params['Key']}"))
        elif service == "sqs":
            self.calls.add((f"sqs:{name}", QUEUE))


@pytest.fixture
def recorded(jobs_aws: JobsAws) -> Iterator[tuple[CallRecorder, DynamoDBJobStore, S3BlobStore, SqsJobQueue]]:
    recorder = CallRecorder()
    for client in (jobs_aws.dynamodb, jobs_aws.s3, jobs_aws.sqs):
        client.meta.events.register("provide-client-params.*.*", recorder)  # the call's API parameters
    yield (
        recorder,
        DynamoDBJobStore(jobs_aws.dynamodb, jobs_aws.table, clock=lambda: NOW),
        S3BlobStore(jobs_aws.s3, jobs_aws.bucket),
        SqsJobQueue(jobs_aws.sqs, jobs_aws.queue_url),
    )


def allowed(role: str) -> list[tuple[str, str]]:
    """(action, resource pattern) the role's jobs statements allow (the model policies aside)."""
    grants = []
    for entry in TEMPLATE["Resources"][role]["Properties"]["Policies"]:
        if "Fn::If" in entry:
            continue  # the model policies (invoke-bedrock-models...): not jobs calls
        for statement in entry["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in actions:
                if action.split(":")[0] in ("dynamodb", "s3", "sqs") and action != "s3:ListBucket":
                    grants.extend((action, str(resolve(r, TEMPLATE))) for r in resources)
    return grants


def check(role: str, calls: set[tuple[str, str]], *, polling: frozenset[str] = frozenset()) -> None:
    grants = allowed(role)
    for action, resource in calls:
        assert any(a == action and fnmatch.fnmatchcase(resource, r) for a, r in grants), (role, action, resource)
    used = {action for action, _ in calls} | polling
    assert {action for action, _ in grants} == used, f"{role} grants actions its code never uses"


def a_job(number: int) -> Job:
    job_id = f"iamjob{number:02d}-aaaaaaaaaaaaa"
    return Job(
        job_id, job_owner("k"), "queued", NOW, NOW, int(NOW) + 3600, "studio", "shirt", 2, 5,
        webhook_url="https://hooks.example/x", input_keys=(f"inputs/{job_id}/selfie",),
    )  # fmt: skip


def test_the_api_role_allows_what_submit_poll_and_delete_call_and_nothing_more(recorded: Any) -> None:
    recorder, store, blobs, queue = recorded
    job = a_job(1)
    store.create(job, max_in_flight=5)  # submit: record and slot, selfie, run message
    blobs.put(job.input_keys[0], b"selfie", "application/octet-stream")
    queue.send(QueueMessage("run", job.id))
    finished = replace(job, status="succeeded", images=(JobImage(5, "image/jpeg", f"results/{job.id}/0.jpg"),))
    store.finish(finished)  # (the worker's part, not recorded for the API below)
    blobs.put(finished.images[0].blob_key, b"jpeg", "image/jpeg")
    recorder.calls -= {c for c in recorder.calls if c[0] in ("dynamodb:UpdateItem",) or "results/" in c[1]}
    store.get(job.id)  # poll: the record, the result images
    blobs.get(finished.images[0].blob_key)
    store.delete(job.id)  # delete: the record (and slot if in flight), inputs and results
    blobs.delete([*job.input_keys, *(image.blob_key for image in finished.images)])
    queued = a_job(2)
    store.create(queued, max_in_flight=5)
    store.delete(queued.id)  # deleting a job in flight releases its slot (an UpdateItem)
    # Powertools' idempotency records (DynamoDBPersistenceLayer: PutItem, GetItem, UpdateItem,
    # DeleteItem) need nothing beyond these on the same table.
    check("TryOnFunctionRole", recorder.calls)


def test_the_worker_role_allows_what_running_a_job_calls_and_nothing_more(recorded: Any) -> None:
    recorder, store, blobs, queue = recorded
    job = a_job(3)
    store.create(job, max_in_flight=5)
    blobs.put(job.input_keys[0], b"selfie", "application/octet-stream")
    recorder.calls.clear()  # what the API did
    running = store.claim(job.id, NOW + 1)  # claim, read the selfie, write results, finish, drop inputs
    assert running is not None
    selfie = blobs.get(job.input_keys[0])
    keys = [f"results/{job.id}/{n}.jpg" for n in range(job.num_samples)]
    for key in keys:
        blobs.put(key, selfie, "image/jpeg")
    store.finish(replace(running, status="succeeded"))
    blobs.delete(list(job.input_keys))
    store.get(job.id)  # deleted while it ran? then its results go too
    blobs.delete(keys)
    queue.send(QueueMessage("webhook", job.id), delay_seconds=0)  # the webhook, and its retries
    # Lambda's event source mapping polls the queue with the worker's role (the documented three).
    polling = frozenset({"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"})
    check("JobWorkerFunctionRole", recorder.calls, polling=polling)

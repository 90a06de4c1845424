"""The worker's Lambda entry point with SQS events shaped like Lambda's, through moto's queue and
its redrive policy (tests/integration/jobs/sqs_event_source.py plays the event source mapping).

These tests are about batch semantics only (which records fail, what is retried, what ends in the
dead-letter queue, what is logged and counted), so the message runner here is a recorder that
fails on chosen job ids; the jobs worker itself is tested with the store and the pipeline.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel

from tests.cfn_template import resolve
from tests.cloudwatch import parse_emf
from tests.integration.jobs.aws_resources import TEMPLATE, properties
from tests.integration.jobs.conftest import JobsAws
from tests.integration.jobs.sqs_event_source import SqsEventSource, approximate_messages
from tryon_api.entrypoints import queue_worker
from tryon_api.jobs.aws_stores import SqsJobQueue
from tryon_api.jobs.interface import QueueMessage
from tryon_dev.lambda_context import new_context

pytestmark = pytest.mark.integration

MAX_RECEIVE_COUNT = int(properties("JobsQueue")["RedrivePolicy"]["maxReceiveCount"])


class FailingOn:
    """A message runner that records every message and raises for the chosen job ids."""

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing
        self.seen: list[QueueMessage] = []

    def __call__(self, message: QueueMessage, seconds_left: float | None) -> None:
        assert seconds_left is not None and 0 < seconds_left <= 60  # the invocation's context reached it
        self.seen.append(message)
        if message.job_id in self.failing:
            raise RuntimeError(f"model unavailable for {message.job_id}")


@pytest.fixture
def runner() -> Iterator[FailingOn]:
    recorder = FailingOn(set())
    queue_worker.set_message_runner(recorder)
    yield recorder
    queue_worker.set_message_runner(None)


def invoke_capturing(source: SqsEventSource, printed: io.StringIO) -> Any:
    with contextlib.redirect_stdout(printed):  # EMF goes to stdout, as in Lambda
        return source.poll(queue_worker.lambda_handler)


def test_only_the_failed_records_are_reported_and_kept(
    jobs_aws: JobsAws, runner: FailingOn, json_logs: io.StringIO
) -> None:
    queue = SqsJobQueue(jobs_aws.sqs, jobs_aws.queue_url)
    ids = [f"job-{n}" for n in range(6)]
    runner.failing = {"job-1", "job-4"}
    for job_id in ids:
        queue.send(QueueMessage("run", job_id))
    source = SqsEventSource(jobs_aws.sqs, jobs_aws.queue_url, batch_size=10)
    printed = io.StringIO()
    poll = invoke_capturing(source, printed)
    assert poll.received == 6 and poll.error is None
    records = source.events[0]["Records"]
    failed_jobs = {json.loads(r["body"])["job_id"] for r in records if r["messageId"] in poll.failed_ids}
    assert failed_jobs == {"job-1", "job-4"}
    assert sorted(m.job_id for m in runner.seen) == ids
    assert approximate_messages(jobs_aws.sqs, jobs_aws.queue_url) == 2  # the successes were deleted
    series = parse_emf(printed.getvalue())
    assert [sum(v) for k, v in series.values.items() if k[1] == "JobMessagesFailed"] == [2.0]
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    failures = [line for line in lines if line["message"] == "job message failed"]
    assert {(f["job_id"], f["message_kind"], f["error_type"]) for f in failures} == {
        ("job-1", "run", "RuntimeError"),
        ("job-4", "run", "RuntimeError"),
    }
    assert all("model unavailable" not in line for line in json_logs.getvalue().splitlines())


def test_a_batch_whose_records_all_fail_is_reported_not_raised(jobs_aws: JobsAws, runner: FailingOn) -> None:
    queue = SqsJobQueue(jobs_aws.sqs, jobs_aws.queue_url)
    runner.failing = {"job-a", "job-b"}
    queue.send(QueueMessage("run", "job-a"))
    queue.send(QueueMessage("webhook", "job-b", attempt=2))
    poll = invoke_capturing(SqsEventSource(jobs_aws.sqs, jobs_aws.queue_url, batch_size=10), io.StringIO())
    assert poll.error is None  # no invocation error: Lambda would count it and scale the worker down
    assert poll.received == 2 and len(poll.failed_ids) == 2
    assert approximate_messages(jobs_aws.sqs, jobs_aws.queue_url) == 2


def test_a_poison_message_ends_in_the_dead_letter_queue_and_the_rest_run_once(
    jobs_aws_instant_retry: JobsAws, runner: FailingOn, json_logs: io.StringIO
) -> None:
    aws = jobs_aws_instant_retry
    queue = SqsJobQueue(aws.sqs, aws.queue_url)
    aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody="{not json")
    for job_id in ("job-x", "job-y"):
        queue.send(QueueMessage("run", job_id))
    source = SqsEventSource(aws.sqs, aws.queue_url, batch_size=10)
    polls = source.drain(queue_worker.lambda_handler, max_polls=MAX_RECEIVE_COUNT + 3)
    assert polls[-1].received == 0, "the queue drained within the bounded loop"
    assert approximate_messages(aws.sqs, aws.queue_url) == 0
    dead = aws.sqs.receive_message(QueueUrl=aws.dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in dead] == ["{not json"]
    assert sorted(m.job_id for m in runner.seen) == ["job-x", "job-y"]  # each ran once, none dead-lettered
    malformed = [json.loads(line) for line in json_logs.getvalue().splitlines() if "malformed job message" in line]
    assert [int(line["receive_count"]) for line in malformed] == list(range(1, MAX_RECEIVE_COUNT + 1))
    assert all("{not json" not in line for line in json_logs.getvalue().splitlines())


def test_a_message_that_keeps_failing_is_dead_lettered_after_max_receive_count(
    jobs_aws_instant_retry: JobsAws, runner: FailingOn
) -> None:
    aws = jobs_aws_instant_retry
    runner.failing = {"job-z"}
    SqsJobQueue(aws.sqs, aws.queue_url).send(QueueMessage("run", "job-z"))
    source = SqsEventSource(aws.sqs, aws.queue_url, batch_size=1)
    source.drain(queue_worker.lambda_handler, max_polls=MAX_RECEIVE_COUNT + 3)
    assert [m.job_id for m in runner.seen] == ["job-z"] * MAX_RECEIVE_COUNT
    dead = aws.sqs.receive_message(QueueUrl=aws.dlq_url)["Messages"]
    assert [json.loads(m["Body"])["job_id"] for m in dead] == ["job-z"]


WORKER_EVENTS = sorted((Path(__file__).resolve().parents[3] / "events" / "worker").glob("*.json"))


@pytest.mark.parametrize("path", WORKER_EVENTS, ids=lambda p: p.name)
def test_the_sample_worker_events_are_lambda_sqs_events_of_the_jobs_queue(path: Path, runner: FailingOn) -> None:
    event = json.loads(path.read_text())
    SqsModel.model_validate(event)
    queue_name = str(resolve(properties("JobsQueue")["QueueName"], TEMPLATE))
    assert {r["eventSourceARN"].rsplit(":", 1)[1] for r in event["Records"]} == {queue_name}
    assert queue_worker.lambda_handler(event, new_context(30)) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert [m.kind for m in runner.seen] == [json.loads(r["body"])["kind"] for r in event["Records"]]

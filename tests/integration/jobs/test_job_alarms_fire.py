"""The jobs alarms and dashboard rows read series that really exist, and each alarm fires.

The queries come from template.yaml. The datapoints come from the real artefacts: SQS's own
metrics from moto's queues (the template's queues, driven through the worker's Lambda entry
point), and our EMF series from the lines the worker prints while it runs jobs.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cfn_template import load_template, resolve
from tests.cloudwatch import AlarmSpec, Series, alarm_specs, dashboard_body, dashboard_series, evaluate_alarm, parse_emf
from tests.integration.jobs.conftest import JobsAws
from tests.integration.jobs.sqs_event_source import SqsEventSource
from tryon_api.entrypoints import queue_worker

pytestmark = pytest.mark.integration

NAMESPACE = os.environ["POWERTOOLS_METRICS_NAMESPACE"]
PARAMETERS = {"MetricsNamespace": NAMESPACE}
TEMPLATE = load_template()
JOB_ALARMS: dict[str, AlarmSpec] = {
    name: spec
    for spec in alarm_specs(TEMPLATE, PARAMETERS)
    if (name := spec.name.removeprefix("tryon-dev-")).startswith("jobs-")
}
QUEUE = str(resolve({"Fn::GetAtt": ["JobsQueue", "QueueName"]}, TEMPLATE, PARAMETERS))
DEAD_LETTERS = str(resolve({"Fn::GetAtt": ["JobsDeadLetterQueue", "QueueName"]}, TEMPLATE, PARAMETERS))
WORKER = str(resolve({"Ref": "JobWorkerFunction"}, TEMPLATE, PARAMETERS))


def jobs_rows() -> list[tuple[str, Any]]:
    rows, _ = dashboard_series(dashboard_body(TEMPLATE, PARAMETERS))
    return [(title, key) for title, key in rows if title.startswith("Jobs")]


def sqs_series(metric: str, queue: str, value: float) -> Series:
    series = Series()
    series.add(("AWS/SQS", metric, frozenset({("QueueName", queue)})), value)
    return series


def test_the_jobs_alarms_and_rows_read_the_jobs_queues_the_worker_or_our_metrics() -> None:
    assert set(JOB_ALARMS) == {"jobs-oldest-message-age", "jobs-dead-letters", "jobs-failures", "jobs-webhook-failures"}
    keys = [query.key for spec in JOB_ALARMS.values() for query in spec.queries] + [key for _, key in jobs_rows()]
    assert jobs_rows(), "the dashboard has jobs rows"
    for namespace, _, dimensions in keys:
        assert (namespace, dimensions) in {
            (NAMESPACE, frozenset({("service", "tryon")})),
            ("AWS/SQS", frozenset({("QueueName", QUEUE)})),
            ("AWS/SQS", frozenset({("QueueName", DEAD_LETTERS)})),
            ("AWS/Lambda", frozenset({("FunctionName", WORKER)})),
        }, (namespace, dimensions)


@pytest.fixture
def drained_poison(jobs_aws_instant_retry: JobsAws) -> Iterator[tuple[JobsAws, str]]:
    """A malformed message driven through the worker until SQS dead-letters it; the EMF printed."""
    aws = jobs_aws_instant_retry
    aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody="{not json")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        SqsEventSource(aws.sqs, aws.queue_url, batch_size=1).drain(queue_worker.lambda_handler, max_polls=10)
    yield aws, printed.getvalue()


def test_the_dead_letter_alarm_fires_once_a_message_is_dead_lettered(drained_poison: tuple[JobsAws, str]) -> None:
    aws, printed = drained_poison
    alarm = JOB_ALARMS["jobs-dead-letters"]
    visible = {
        name: int(
            aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
                "ApproximateNumberOfMessages"
            ]
        )
        for name, url in ((DEAD_LETTERS, aws.dlq_url), (QUEUE, aws.queue_url))
    }
    assert visible == {DEAD_LETTERS: 1, QUEUE: 0}
    metric = "ApproximateNumberOfMessagesVisible"
    now = sqs_series(metric, DEAD_LETTERS, visible[DEAD_LETTERS])
    assert evaluate_alarm(alarm, [now] * alarm.evaluation_periods) == "ALARM"
    emptied = sqs_series(metric, DEAD_LETTERS, 0)
    assert evaluate_alarm(alarm, [emptied] * alarm.evaluation_periods) == "OK"
    # The retries before it are on the dashboard, from the worker's own EMF.
    emitted = parse_emf(printed).keys()
    retried = (NAMESPACE, "JobMessagesFailed", frozenset({("service", "tryon")}))
    assert retried in emitted and retried in {key for _, key in jobs_rows()}


def test_the_oldest_message_alarm_fires_while_a_failed_message_waits_out_its_visibility_timeout(
    jobs_aws: JobsAws,
) -> None:
    """Age when the message is seen again = the template's visibility timeout; a healthy queue's
    oldest message is seconds old."""
    alarm = JOB_ALARMS["jobs-oldest-message-age"]
    jobs_aws.sqs.send_message(QueueUrl=jobs_aws.queue_url, MessageBody='{"kind": "run", "job_id": "j"}')
    (message,) = jobs_aws.sqs.receive_message(QueueUrl=jobs_aws.queue_url, AttributeNames=["All"])["Messages"]
    sent = int(message["Attributes"]["SentTimestamp"]) / 1000
    visibility = int(
        jobs_aws.sqs.get_queue_attributes(QueueUrl=jobs_aws.queue_url, AttributeNames=["VisibilityTimeout"])[
            "Attributes"
        ]["VisibilityTimeout"]
    )
    assert (
        jobs_aws.sqs.receive_message(QueueUrl=jobs_aws.queue_url).get("Messages") is None
    )  # still invisible: it waits
    metric = "ApproximateAgeOfOldestMessage"
    waiting = [sqs_series(metric, QUEUE, visibility)] * alarm.evaluation_periods
    assert evaluate_alarm(alarm, waiting) == "ALARM"
    healthy = [sqs_series(metric, QUEUE, max(0.0, time.time() - sent))] * alarm.evaluation_periods
    assert evaluate_alarm(alarm, healthy) == "OK"


# --------------------------------------------------------- the jobs worker's own EMF (core code)


def test_job_and_webhook_failures_fire_their_alarms_from_the_workers_emf(jobs_aws: JobsAws) -> None:
    from tests.fakes import ScriptedBackend, raising, solid_jpeg
    from tryon_api.jobs.aws_stores import DynamoDBJobStore, S3BlobStore, SqsJobQueue
    from tryon_api.jobs.dependencies import JobDependencies, webhook_guard
    from tryon_api.jobs.interface import Job, QueueMessage, job_owner, selfie_key
    from tryon_api.jobs.webhooks import RETRY_SCHEDULE_SECONDS, WebhookSender
    from tryon_api.jobs.worker import handle_message
    from tryon_api.settings import Settings
    from tryon_api.tryon.deadline import Deadline
    from tryon_api.tryon.errors import UpstreamFailed
    from tryon_api.tryon.garment_fetch import GarmentImageFetcher
    from tryon_api.tryon.pipeline import TryOnService

    settings = Settings()
    guard = webhook_guard(settings)

    def dependencies(backend: ScriptedBackend) -> JobDependencies:
        fetcher = GarmentImageFetcher(allow_private=False, timeout_seconds=1, max_bytes=1024)
        return JobDependencies(
            store=DynamoDBJobStore(jobs_aws.dynamodb, jobs_aws.table),
            blobs=S3BlobStore(jobs_aws.s3, jobs_aws.bucket),
            queue=SqsJobQueue(jobs_aws.sqs, jobs_aws.queue_url),
            tryon=TryOnService(backend, fetcher, 6_000_000),
            settings=settings,
            webhook_guard=guard,
            webhook_sender=WebhookSender(guard, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", timeout_seconds=2),
        )

    def submit(deps: JobDependencies, number: int, webhook_url: str | None = None) -> Job:
        now = time.time()
        job_id = f"alarmjob{number:02d}-aaaaaaaaaaa"
        job = Job(
            job_id,
            job_owner("k"),
            "queued",
            now,
            now,
            int(now) + 3600,
            "studio",
            "a red shirt",
            1,
            7,
            webhook_url=webhook_url,
            input_keys=(selfie_key(job_id),),
        )
        deps.store.create(job, max_in_flight=50)
        deps.blobs.put(selfie_key(job_id), solid_jpeg(), "application/octet-stream")
        deps.queue.send(QueueMessage("run", job_id))
        return job

    def run_all(deps: JobDependencies) -> Series:
        queue_worker.set_message_runner(
            lambda message, left: handle_message(message, deps, Deadline.after((left or 30) - 1))
        )
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                SqsEventSource(jobs_aws.sqs, jobs_aws.queue_url, batch_size=1).drain(queue_worker.lambda_handler, 20)
        finally:
            queue_worker.set_message_runner(None)
        return parse_emf(printed.getvalue())

    healthy = dependencies(ScriptedBackend())
    for number in range(4):
        submit(healthy, number)
    ok_series = run_all(healthy)
    failing = dependencies(raising(UpstreamFailed()))
    for number in range(10, 14):
        submit(failing, number)
    failed_series = run_all(failing)
    # A finished job whose receiver never resolves: its last delivery attempt gives up.
    job = submit(healthy, 20, webhook_url="https://hooks.invalid/tryon")
    run_all(healthy)
    SqsJobQueue(jobs_aws.sqs, jobs_aws.queue_url).send(
        QueueMessage("webhook", job.id, attempt=len(RETRY_SCHEDULE_SECONDS) + 1)
    )
    webhook_series = run_all(healthy)
    # A body that is no job message (sent by hand, or corrupted): the worker counts it as it fails.
    jobs_aws.sqs.send_message(QueueUrl=jobs_aws.queue_url, MessageBody='{"not": "a job message"}')
    malformed_series = run_all(healthy)
    assert malformed_series.keys() >= {(NAMESPACE, "JobMessagesFailed", frozenset({("service", "tryon")}))}

    states = {
        fault: {name: evaluate_alarm(spec, [series] * spec.evaluation_periods) for name, spec in JOB_ALARMS.items()}
        for fault, series in (("ok", ok_series), ("failing", failed_series), ("webhook", webhook_series))
    }
    assert states["ok"]["jobs-failures"] == "OK" and states["failing"]["jobs-failures"] == "ALARM"
    assert states["ok"]["jobs-webhook-failures"] == "OK"
    threshold = int(JOB_ALARMS["jobs-webhook-failures"].threshold)
    assert states["webhook"]["jobs-webhook-failures"] == ("ALARM" if threshold <= 1 else "OK")
    many = Series()
    for key, values in webhook_series.values.items():
        for value in values * threshold:
            many.add(key, value)
    assert evaluate_alarm(JOB_ALARMS["jobs-webhook-failures"], [many]) == "ALARM"
    emitted = ok_series.keys() | failed_series.keys() | webhook_series.keys() | malformed_series.keys()
    for spec in JOB_ALARMS.values():
        for query in spec.queries:
            if query.namespace == NAMESPACE:
                assert query.key in emitted, f"{spec.name} reads {query.key}, which the worker never emits"
    for title, key in jobs_rows():
        if key[0] == NAMESPACE and key[1] not in ("JobsSubmitted", "WebhookDeliveries"):  # the API / a receiver
            assert key in emitted, f"panel {title!r} reads {key}, which the worker never emits"

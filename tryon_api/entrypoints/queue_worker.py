"""The jobs worker's Lambda entry point (template.yaml ``JobWorkerFunction``): SQS batches in,
partial batch failures out. It builds the jobs' dependencies and the pipeline only (no HTTP
service, no key verifier).

Each record is one ``QueueMessage`` (run a job, or deliver its webhook), handed to the jobs
package's ``handle_message``. A record whose handling raises is reported in
``batchItemFailures`` (Powertools' BatchProcessor), so SQS makes only that message visible again;
after the queue's ``maxReceiveCount`` receives it moves to the dead-letter queue. A body that is
not a job message can never succeed, so it fails the same way and ends there too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from tryon_api.aws_clients import bound_to_deadline
from tryon_api.entrypoints.wiring import get_job_dependencies
from tryon_api.http.log_redaction import install_log_redaction
from tryon_api.jobs.aws_stores import MalformedQueueMessage, decode_message
from tryon_api.jobs.interface import QueueMessage
from tryon_api.per_container import PerContainer
from tryon_api.tryon.deadline import Deadline

logger = Logger()
install_log_redaction(logger.registered_handler)
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()
# A batch whose records all failed is answered like any other (every record in batchItemFailures),
# not raised: an invocation error would also make the event source scale the worker down.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

# Runs one message; the float is the seconds left of the invocation (None: no Lambda context).
MessageRunner = Callable[[QueueMessage, float | None], None]
MESSAGE_KEYS = ("job_id", "message_kind", "attempt", "receive_count")


def build_message_runner() -> MessageRunner:
    """The jobs worker over this container's dependencies (store, blobs, queue, pipeline, webhooks)."""
    from tryon_api.jobs.worker import handle_message

    dependencies = get_job_dependencies()
    margin = dependencies.settings.deadline_margin_seconds

    def run(message: QueueMessage, seconds_left: float | None) -> None:
        # The job ends (recorded as failed if need be) before Lambda would kill the invocation.
        if seconds_left is None:
            handle_message(message, dependencies, None)
            return
        # The AWS calls (store, bucket, queue) end before the invocation does; the margin is what
        # recording a job that ran out of time may still use.
        with bound_to_deadline(Deadline.after(seconds_left)):
            handle_message(message, dependencies, Deadline.after(seconds_left - margin))

    return run


_runner: PerContainer[MessageRunner] = PerContainer(build_message_runner)
set_message_runner = _runner.set


def seconds_left(context: LambdaContext | None) -> float | None:
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    return remaining_ms() / 1000.0 if callable(remaining_ms) else None


def run_record(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    """One message; BatchProcessor passes the invocation's context by this parameter's name."""
    receive_count = record.attributes.approximate_receive_count
    try:
        message = decode_message(record.body)
    except MalformedQueueMessage as error:
        # Never the body itself: it is not ours, and may hold anything.
        logger.error(
            "malformed job message",
            extra={"message_id": record.message_id, "receive_count": receive_count, "error": str(error)},
        )
        metrics.add_metric("JobMessagesFailed", MetricUnit.Count, 1)
        raise
    logger.append_keys(
        job_id=message.job_id, message_kind=message.kind, attempt=message.attempt, receive_count=receive_count
    )
    try:
        _runner.get()(message, seconds_left(lambda_context))
    except Exception as error:
        # The type only: a message could carry request data. The message is retried, then dead-lettered.
        logger.warning("job message failed", extra={"error_type": type(error).__name__})
        metrics.add_metric("JobMessagesFailed", MetricUnit.Count, 1)
        raise
    finally:
        logger.remove_keys(list(MESSAGE_KEYS))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=run_record, processor=processor, context=context)

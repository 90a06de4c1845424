"""What Lambda's SQS event source mapping does with the jobs queue, for one poller, driven step by
step against moto: receive a batch (all attributes), invoke the function with Lambda's event, then
delete every message except those the answer lists in ``batchItemFailures`` (with
ReportBatchItemFailures on; an invocation error keeps the whole batch). A kept message becomes
visible again after the visibility timeout, and SQS's redrive policy moves it to the dead-letter
queue once it has been received ``maxReceiveCount`` times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.parser.models import SqsModel

from tryon_dev.events import sqs_event
from tryon_dev.lambda_context import new_context

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class Poll:
    received: int
    failed_ids: set[str] = field(default_factory=set)
    error: BaseException | None = None


class SqsEventSource:
    def __init__(self, sqs: Any, queue_url: str, batch_size: int, timeout_seconds: float = 60.0) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.batch_size = batch_size
        self.timeout_seconds = timeout_seconds
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.events: list[dict[str, Any]] = []

    def poll(self, handler: Handler) -> Poll:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return Poll(0)
        event = sqs_event(messages, self.queue_arn)
        SqsModel.model_validate(event)  # Powertools' model of Lambda's SQS event accepts it
        self.events.append(event)
        try:
            answer = handler(event, new_context(self.timeout_seconds))
        except Exception as error:  # the invocation failed: every message of the batch comes back
            return Poll(len(messages), {m["MessageId"] for m in messages}, error)
        failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
        assert failed <= {m["MessageId"] for m in messages}, "Lambda fails the batch on an unknown id"
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)],
            )
        return Poll(len(messages), failed)

    def drain(self, handler: Handler, max_polls: int) -> list[Poll]:
        """Poll until a receive finds nothing, at most ``max_polls`` times."""
        polls = []
        for _ in range(max_polls):
            poll = self.poll(handler)
            polls.append(poll)
            if poll.received == 0:
                break
        return polls


def approximate_messages(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

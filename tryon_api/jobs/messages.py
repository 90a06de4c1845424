"""A queue message's JSON body, the same on SQS and in the local queue."""

from __future__ import annotations

import json
from typing import Any

from tryon_api.jobs.interface import QueueMessage

# A job id is 128 random bits, URL-safe: 22 characters; anything much longer is not ours.
MAX_JOB_ID_LENGTH = 64


class MalformedQueueMessage(ValueError):
    """A queue message body that is not a job message: it can never succeed (a poison message)."""


def encode_message(message: QueueMessage) -> str:
    fields: dict[str, Any] = {"kind": message.kind, "job_id": message.job_id, "attempt": message.attempt}
    if message.due_at:
        fields["due_at"] = message.due_at
    return json.dumps(fields)


def decode_message(body: str) -> QueueMessage:
    """The message an SQS body holds; ``MalformedQueueMessage`` for anything else."""
    try:
        fields = json.loads(body)
    except ValueError:
        raise MalformedQueueMessage("the body is not JSON") from None
    if not isinstance(fields, dict):
        raise MalformedQueueMessage("the body is not a JSON object")
    kind, job_id, attempt = fields.get("kind"), fields.get("job_id"), fields.get("attempt", 1)
    if kind not in ("run", "webhook"):
        raise MalformedQueueMessage("unknown message kind")
    if not isinstance(job_id, str) or not 0 < len(job_id) <= MAX_JOB_ID_LENGTH:
        raise MalformedQueueMessage("job_id is not a job id")
    if not isinstance(attempt, int) or isinstance(attempt, bool) or not 1 <= attempt <= 1000:
        raise MalformedQueueMessage("attempt is not a positive integer")
    due_at = fields.get("due_at", 0)
    if not isinstance(due_at, int) or isinstance(due_at, bool) or not 0 <= due_at < 2**40:
        raise MalformedQueueMessage("due_at is not a time")
    return QueueMessage(kind=kind, job_id=job_id, attempt=attempt, due_at=due_at)

"""The parts of the Lambda context object that the handler reads, for runs outside Lambda."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass


@dataclass
class LocalContext:
    """The parts of the Lambda context the handler reads."""

    aws_request_id: str
    deadline: float
    function_name: str = "tryon-local"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:tryon-local"
    memory_limit_in_mb: int = 3008

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def new_context(timeout_seconds: float) -> LocalContext:
    return LocalContext(aws_request_id=str(uuid.uuid4()), deadline=time.monotonic() + timeout_seconds)

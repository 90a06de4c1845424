"""Invokes the built handler (``.aws-sam/build/TryOnFunction``) with events, as the Lambda
runtime would: imported from the code directory, called with the event and a context.

Run by tests/integration/test_sam_local_invoke.py in a subprocess whose environment is the one
SAM CLI resolved; writes one JSON result per event to RESULTS. ``python sam_invoke_driver.py
RESULTS EVENT...``. The network is the test's: ``.invalid`` names never resolve (RFC 6761) and
only loopback addresses can be reached, so no event can leave the machine.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

_getaddrinfo = socket.getaddrinfo
_connect = socket.socket.connect


def _offline_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, str) and host.rstrip(".").endswith(".invalid"):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return _getaddrinfo(host, *args, **kwargs)


def _loopback_connect(self: socket.socket, address: Any) -> Any:
    if isinstance(address, tuple) and not str(address[0]).startswith(("127.", "::1")):
        raise ConnectionRefusedError(f"test network: no connection to {address[0]}")
    return _connect(self, address)


socket.getaddrinfo = _offline_getaddrinfo  # type: ignore[assignment]
socket.socket.connect = _loopback_connect  # type: ignore[method-assign]


class Context:
    """The Lambda context's fields the handler reads (as the runtime interface client fills them)."""

    def __init__(self, timeout_seconds: float) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.invoked_function_arn = (
            f"arn:aws:lambda:{os.environ['AWS_REGION']}:000000000000:function:{self.function_name}"
        )
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main(results: str, events: list[str]) -> None:
    module_name, _, function_name = os.environ["AWS_LAMBDA_FUNCTION_HANDLER"].rpartition(".")
    module = __import__(module_name, fromlist=[function_name])
    handler = getattr(module, function_name)
    timeout = float(os.environ["AWS_LAMBDA_FUNCTION_TIMEOUT"])
    with open(results, "w") as out:
        for path in events:
            response = handler(json.loads(Path(path).read_text()), Context(timeout))
            record = {"event": Path(path).name, "response": response, "module": module.__file__}
            out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])

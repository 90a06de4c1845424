"""SageMaker's runtime in front of a real container: the emulator's ``--sagemaker-model-url`` mode.

``InvokeEndpoint`` bodies go to ``POST {url}/invocations`` unchanged. A 2xx answer is relayed as
is; any other status becomes SageMaker's ``ModelError`` (424, the container's status and message
inside), and 60 s without an answer is SageMaker's invocation timeout, as the real runtime does.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from tryon_dev.aws_model_requests import EmulatedError

# SageMaker real-time inference waits this long for a container's answer.
CONTAINER_TIMEOUT_SECONDS = 60.0
TIMEOUT_MESSAGE = "Your invocation timed out while waiting for a response from container primary."


def container_error(original_status: int, message: str) -> EmulatedError:
    kind = "client" if 400 <= original_status < 500 else "server"
    return EmulatedError(
        424,
        "ModelError",
        f'Received {kind} error ({original_status}) from primary with message "{message}".',
        {"OriginalStatusCode": original_status, "OriginalMessage": message, "LogStreamArn": "arn:aws:logs:emulated"},
    )


def forward_invocation(model_url: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(  # noqa: S310 - the model server URL the developer names
        f"{model_url.rstrip('/')}/invocations",
        data=raw,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=CONTAINER_TIMEOUT_SECONDS) as response:  # noqa: S310
            return 200, {"Content-Type": response.headers.get("Content-Type", "application/json")}, response.read()
    except urllib.error.HTTPError as error:
        raise container_error(error.code, error.read().decode("utf-8", "replace")[:2000]) from None
    except TimeoutError:
        raise container_error(0, TIMEOUT_MESSAGE) from None
    except urllib.error.URLError as error:
        raise container_error(0, str(error.reason)) from None

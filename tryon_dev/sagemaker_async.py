"""SageMaker asynchronous inference, emulated: ``InvokeEndpointAsync`` over S3.

The call names an S3 input object; the emulator answers 202 at once with the output and failure
locations, reads the input, runs the same try-on as a real-time invocation (its own model, or the
model server it forwards to) in the background, and writes the container's answer to the output
object, or the error to the failure object, as SageMaker does. S3 is any S3 API the given client
reaches (moto's server in tests).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

from tryon_dev.aws_model_requests import EmulatedError

# (target, headers, raw body, body fault) -> (status, headers, body), raising EmulatedError like a
# real-time call.
Invocation = Callable[[str, dict[str, str], bytes, Any], tuple[int, dict[str, str], bytes]]


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise EmulatedError(400, "ValidationError", f"InputLocation must be an s3:// URI, got {uri!r}.")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


class AsyncInvocations:
    def __init__(self, s3_client: Any, output_s3_uri: str, invoke: Invocation, stopping: threading.Event) -> None:
        self.s3_client = s3_client
        self.output_bucket, self.output_prefix = split_s3_uri(output_s3_uri)
        self.invoke = invoke
        self.stopping = stopping
        self.workers: list[threading.Thread] = []

    def start(
        self,
        target: str,
        headers: dict[str, str],
        delay: float,
        failure: EmulatedError | None,
        fault: Any = None,
    ) -> tuple[int, dict[str, str], bytes]:
        if self.s3_client is None:
            raise EmulatedError(400, "ValidationError", f"Endpoint {target} is not an asynchronous endpoint.")
        bucket, key = split_s3_uri(headers.get("x-amzn-sagemaker-inputlocation", ""))
        inference_id = uuid.uuid4().hex
        output_key = f"{self.output_prefix}{inference_id}.out"
        failure_key = f"{self.output_prefix}failures/{inference_id}-error.out"
        content_type = headers.get("x-amzn-sagemaker-content-type", "application/octet-stream")
        worker = threading.Thread(
            target=self._run,
            args=(target, bucket, key, content_type, output_key, failure_key, delay, failure, fault),
            name=f"async-{inference_id[:8]}",
            daemon=True,
        )
        self.workers.append(worker)
        worker.start()
        out_headers = {
            "Content-Type": "application/json",
            "X-Amzn-SageMaker-OutputLocation": f"s3://{self.output_bucket}/{output_key}",
            "X-Amzn-SageMaker-FailureLocation": f"s3://{self.output_bucket}/{failure_key}",
        }
        return 202, out_headers, json.dumps({"InferenceId": inference_id}).encode()

    def _run(
        self,
        target: str,
        bucket: str,
        key: str,
        content_type: str,
        output_key: str,
        failure_key: str,
        delay: float,
        failure: EmulatedError | None,
        fault: Any,
    ) -> None:
        if delay > 0 and self.stopping.wait(delay):
            return
        try:
            if failure is not None:
                raise failure
            raw = self.s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
            _, headers, body = self.invoke(target, {"content-type": content_type}, raw, fault)
            self.s3_client.put_object(
                Bucket=self.output_bucket, Key=output_key, Body=body, ContentType=headers.get("Content-Type", "")
            )
        except EmulatedError as error:
            self.s3_client.put_object(Bucket=self.output_bucket, Key=failure_key, Body=error.message.encode())

    def join(self, timeout: float = 5) -> None:
        for worker in self.workers:
            worker.join(timeout)

"""A loopback emulator of the two AWS model APIs the production backends call.

It speaks the wire protocols botocore speaks (rest-json): bedrock-runtime ``InvokeModel``
(``POST /model/{modelId}/invoke``) for the Stability AI Image Services and ``Converse``
(``POST /model/{modelId}/converse``), and sagemaker-runtime ``InvokeEndpoint``
(``POST /endpoints/{name}/invocations``) for our own try-on contract. Request bodies are checked
as strictly as the real services document them (required fields, types, ranges, image size
rules), answers carry images made by the embedded backend's image operations (``emulated_models``), and errors use
the real wire format (``x-amzn-ErrorType`` header, JSON ``message``) so the real boto3 clients
raise the same ``ClientError`` codes they raise against AWS.

With ``sagemaker_model_url`` the emulator passes ``InvokeEndpoint`` bodies to a real container
instead (our ``model_server/``, or any server of the contract): ``POST {url}/invocations``, its
2xx answer relayed as is and any other status turned into SageMaker's ``ModelError``, as the
real runtime does; 60 s without an answer is SageMaker's invocation timeout.

Tests inject faults per model id or endpoint name (``inject``) and per-call delays
(``set_delay``); the emulator records every call with its timing (``calls``, ``max_in_flight``).
An order between calls (``answer_after``) replaces delays that race the code under test.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import random
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from PIL import Image

from tryon_dev import emulated_models
from tryon_dev.aws_model_errors import (
    BEDROCK_ERRORS,
    BODY_FAULTS,
    SAGEMAKER_ERRORS,
    check_signature,
    container_error,
    error_response,
)
from tryon_dev.aws_model_requests import (
    MAX_SEED,
    SAGEMAKER_MAX_PAYLOAD,
    STABILITY_FIELDS,
    EmulatedError,
    invalid_request,
    validate_converse,
    validate_stability,
    validate_tryon_contract,
)
from tryon_dev.container_forwarding import forward_invocation
from tryon_dev.loopback_service import LoopbackService
from tryon_dev.sagemaker_async import AsyncInvocations

ACCOUNT = "000000000000"


@dataclass
class Fault:
    kind: str
    times: int | None = 1  # None: every call from now on
    delay: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class CallRecord:
    target: str
    operation: str
    started: float
    ended: float
    status: int
    fault: str = ""


@dataclass
class _State:
    faults: dict[str, deque[Fault]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    calls: list[CallRecord] = field(default_factory=list)
    bodies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    # Set when a reset or stop ends this state: a delayed call still waiting then gives up
    # without doing image work for a test that has moved on.
    ended: threading.Event = field(default_factory=threading.Event)
    # answer_after: per target, the (other target, "started" | "ended", bound) its calls wait for,
    # and one event per target and moment, set by the first call to reach it.
    orders: dict[str, list[tuple[str, str, float]]] = field(default_factory=dict)
    moments: defaultdict[tuple[str, str], threading.Event] = field(default_factory=lambda: defaultdict(threading.Event))

    def end(self) -> None:
        """Wake every waiting call (delays and orders): this state is over."""
        self.ended.set()
        for moment in list(self.moments.values()):
            moment.set()


def stability_image(service: str, params: dict[str, Any], seed: int) -> Image.Image:
    image: Image.Image = params["image"]
    if service == "remove-background":
        return emulated_models.remove_background(image)
    if service == "inpaint":
        return emulated_models.inpaint(image, params["mask"], params["prompt"], seed)
    return emulated_models.search_and_replace(image, params["search_prompt"], params["prompt"], seed)


def tryon_image(params: dict[str, Any]) -> Image.Image:
    """What a try-on container would return: the person re-dressed, on white or in a scene."""
    return emulated_models.try_on(
        params["person"], params["description"], params["mode"], params["seed"], params["garment"]
    )


class AwsModelEmulator(LoopbackService):
    """Start with ``start()`` (or as a context manager); point boto3 at ``url``."""

    def __init__(
        self,
        *,
        endpoint_names: tuple[str, ...] = ("tryon-vton",),
        default_delay: float = 0.0,
        sagemaker_model_url: str | None = None,
        s3_client: Any | None = None,
        async_output_s3_uri: str = "s3://tryon-async/out/",
    ) -> None:
        """``s3_client`` (and ``async_output_s3_uri``): the endpoints also answer InvokeEndpointAsync."""
        super().__init__()
        self.endpoint_names = set(endpoint_names)
        self.default_delay = default_delay
        self.sagemaker_model_url = sagemaker_model_url.rstrip("/") if sagemaker_model_url else None
        self._state = _State()
        self._call_state = threading.local()  # the state a handler thread's call records into
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.async_invocations = AsyncInvocations(s3_client, async_output_s3_uri, self._realtime_answer, self._stopping)

    # --- control API used by tests, benchmarks and the local server -------------------------
    def inject(self, target: str, kind: str, *, times: int | None = 1, delay: float = 0.0, detail: str = "") -> None:
        """Queue a fault for the next call(s) to ``target`` (a model id or an endpoint name)."""
        if kind not in BEDROCK_ERRORS and kind not in SAGEMAKER_ERRORS and kind not in BODY_FAULTS:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._state.faults.setdefault(target, deque()).append(Fault(kind, times, delay, detail))

    def set_delay(self, target: str, seconds: float) -> None:
        with self._lock:
            self._state.delays[target] = seconds

    def answer_after(self, target: str, other: str, moment: str = "started", *, within: float = 30.0) -> None:
        """Calls to ``target`` answer only once a call to ``other`` has ``moment`` ("started" or
        "ended"): a test fixes the order it checks instead of racing delays against the code.
        A call still waiting after ``within`` seconds (the code never made the other call, or
        made it only afterwards) fails with a 503, so the test fails instead of hanging."""
        if moment not in ("started", "ended"):
            raise ValueError(f"unknown moment {moment!r}")
        with self._lock:
            self._state.orders.setdefault(target, []).append((other, moment, within))

    def reset(self) -> None:
        with self._lock:
            self._state.end()
            self._state = _State()

    @property
    def calls(self) -> list[CallRecord]:
        with self._lock:
            return list(self._state.calls)

    @property
    def request_bodies(self) -> list[tuple[str, dict[str, Any]]]:
        """(target, parsed JSON body) of every call, for checking what the backends sent."""
        with self._lock:
            return list(self._state.bodies)

    @property
    def max_in_flight(self) -> int:
        with self._lock:
            return self._state.max_in_flight

    thread_name = "aws-emulator"

    def request_handler(self) -> type[BaseHTTPRequestHandler]:
        return _EmulatorHandler

    def before_stop(self) -> None:
        self._stopping.set()
        with self._lock:
            self._state.end()

    # --- internals -------------------------------------------------------------------------
    def _next_fault(self, target: str) -> Fault | None:
        with self._lock:
            queue = self._state.faults.get(target)
            while queue:
                fault = queue[0]
                if fault.times is None:
                    return fault
                if fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        queue.popleft()
                    return fault
                queue.popleft()
            return None

    def _enter(self) -> tuple[_State, float]:
        """Calls are recorded in the state current when they began: a call still in flight
        across a ``reset`` (a test's abandoned slow call) never shows up in the next test."""
        with self._lock:
            state = self._state
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        return state, time.monotonic()

    def _leave(self, state: _State, target: str, operation: str, started: float, status: int, fault: str) -> None:
        with self._lock:
            state.in_flight -= 1
            state.calls.append(CallRecord(target, operation, started, time.monotonic(), status, fault))
            state.moments[(target, "ended")].set()

    def _wait_for_order(self, state: _State, target: str) -> None:
        with self._lock:
            state.moments[(target, "started")].set()
            orders = list(state.orders.get(target, ()))
            moments = [(other, moment, within, state.moments[(other, moment)]) for other, moment, within in orders]
        for other, moment, within, reached in moments:
            if not reached.wait(within) or state.ended.is_set():
                raise EmulatedError(503, "ServiceUnavailableException", f"No call to {other} {moment} in time.")

    def _wait(self, state: _State, seconds: float) -> None:
        if seconds > 0 and state.ended.wait(seconds):
            raise EmulatedError(503, "ServiceUnavailableException", "The emulator was reset during this call.")

    def handle(
        self, operation: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        state, started = self._enter()
        self._call_state.state = state
        status, fault_kind = 500, ""
        try:
            fault = self._next_fault(target)
            fault_kind = fault.kind if fault else ""
            with self._lock:
                delay = self._state.delays.get(target, self.default_delay)
            if operation == "invoke_endpoint_async":  # the delay is the background run's
                status, out_headers, body = self._answer_async(target, headers, delay, fault)
                return status, out_headers, body
            self._wait_for_order(state, target)
            self._wait(state, delay + (fault.delay if fault else 0.0))
            status, out_headers, body = self._answer(operation, target, headers, raw, fault)
            return status, out_headers, body
        except EmulatedError as error:
            status = error.status
            return error_response(error)
        finally:
            self._leave(state, target, operation, started, status, fault_kind)

    def _answer_async(
        self, target: str, headers: dict[str, str], delay: float, fault: Fault | None
    ) -> tuple[int, dict[str, str], bytes]:
        """InvokeEndpointAsync: a container's failure (a model error fault) lands in the failure file."""
        check_signature(headers, "sagemaker")
        if target not in self.endpoint_names:
            raise EmulatedError(400, "ValidationError", f"Endpoint {target} of account {ACCOUNT} not found.")
        failure = None
        if fault and fault.kind in SAGEMAKER_ERRORS:
            status, code, message = SAGEMAKER_ERRORS[fault.kind]
            if code != "ModelError":
                raise EmulatedError(status, code, fault.detail or message)
            failure = EmulatedError(status, code, fault.detail or message)
        return self.async_invocations.start(target, headers, delay + (fault.delay if fault else 0.0), failure, fault)

    def _realtime_answer(
        self, target: str, headers: dict[str, str], raw: bytes, fault: Fault | None
    ) -> tuple[int, dict[str, str], bytes]:
        """The container's work of an asynchronous call, on its background thread."""
        with self._lock:
            self._call_state.state = self._state
        return self._invoke_endpoint(target, headers, raw, fault)

    def _answer(
        self, operation: str, target: str, headers: dict[str, str], raw: bytes, fault: Fault | None
    ) -> tuple[int, dict[str, str], bytes]:
        check_signature(headers, "sagemaker" if operation == "invoke_endpoint" else "bedrock")
        errors = SAGEMAKER_ERRORS if operation == "invoke_endpoint" else BEDROCK_ERRORS
        if fault and fault.kind in errors:
            status, code, message = errors[fault.kind]
            extra = {}
            if code == "ModelError":
                extra = {"OriginalStatusCode": 500, "OriginalMessage": message, "LogStreamArn": "arn:aws:logs:emulated"}
            raise EmulatedError(status, code, fault.detail or message, extra)
        if operation == "invoke_endpoint":
            return self._invoke_endpoint(target, headers, raw, fault)
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise EmulatedError(400, "ValidationException", "The content type must be application/json.")
        try:
            body = json.loads(raw)
        except ValueError:
            raise invalid_request("the body is not valid JSON") from None
        with self._lock:
            self._call_state.state.bodies.append((target, body if isinstance(body, dict) else {}))
        if operation == "converse":
            return self._converse(target, body, fault)
        return self._invoke_model(target, body, fault)

    def _invoke_model(self, target: str, body: Any, fault: Fault | None) -> tuple[int, dict[str, str], bytes]:
        service = next((name for name in STABILITY_FIELDS if f"stable-image-{name}" in target), None)
        if service is None:
            raise EmulatedError(400, "ValidationException", "The provided model identifier is invalid.")
        params = validate_stability(service, body)
        seed = params.get("seed") or random.randint(1, MAX_SEED)
        answer: dict[str, Any] = {"seeds": [seed], "finish_reasons": [None], "images": []}
        if fault and fault.kind == "filtered":
            answer = {"finish_reasons": [fault.detail or "Filter reason: output image"]}
        elif fault and fault.kind == "inference_error":
            answer = {"seeds": [seed], "finish_reasons": ["Inference error"], "images": [None]}
        elif fault and fault.kind == "bad_image":
            answer["images"] = [base64.b64encode(b"not an image at all").decode()]
        elif not (fault and fault.kind == "no_image"):
            image = stability_image(service, params, seed)
            answer["images"] = [base64.b64encode(emulated_models.encode(image, params["output_format"])).decode()]
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    def _converse(self, target: str, body: Any, fault: Fault | None) -> tuple[int, dict[str, str], bytes]:
        if "nova" not in target and "claude" not in target:
            raise EmulatedError(400, "ValidationException", "The provided model identifier is invalid.")
        images = validate_converse(body)
        if fault and fault.kind == "filtered":
            text, stop = "The generated text has been blocked by our content filters.", "content_filtered"
        else:
            text = " ".join(emulated_models.describe_garment(image) for image in images) or "No image was given."
            stop = "end_turn"
        tokens_in = sum(math.ceil(image.width * image.height / 750) for image in images) + 50
        tokens_out = max(1, len(text) // 4)
        answer = {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": stop,
            "usage": {"inputTokens": tokens_in, "outputTokens": tokens_out, "totalTokens": tokens_in + tokens_out},
            "metrics": {"latencyMs": 1},
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    def _invoke_endpoint(
        self, target: str, headers: dict[str, str], raw: bytes, fault: Fault | None
    ) -> tuple[int, dict[str, str], bytes]:
        if target not in self.endpoint_names:
            raise EmulatedError(400, "ValidationError", f"Endpoint {target} of account {ACCOUNT} not found.")
        if len(raw) > SAGEMAKER_MAX_PAYLOAD:
            raise EmulatedError(413, "ValidationError", "Request payload is too large.")
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return container_error(415, "content type must be application/json")
        if self.sagemaker_model_url:
            return self._forward_to_container(raw)
        try:
            body = json.loads(raw)
            with self._lock:
                self._call_state.state.bodies.append((target, body if isinstance(body, dict) else {}))
            params = validate_tryon_contract(body)
        except ValueError as error:
            return container_error(400, str(error))
        if fault and fault.kind == "filtered":
            answer: dict[str, Any] = {"finish_reason": "content_filtered"}
        elif fault and fault.kind == "no_image":
            answer = {"finish_reason": "success", "mime_type": "image/png"}
        else:
            image = tryon_image(params)
            fmt = params["output_format"]
            answer = {
                "finish_reason": "success",
                "image_base64": base64.b64encode(emulated_models.encode(image, fmt)).decode(),
                "mime_type": f"image/{fmt}",
            }
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    def _forward_to_container(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        with contextlib.suppress(ValueError), self._lock:
            body = json.loads(raw)
            self._call_state.state.bodies.append(("container", body if isinstance(body, dict) else {}))
        assert self.sagemaker_model_url is not None
        return forward_invocation(self.sagemaker_model_url, raw)


class _EmulatorHandler(BaseHTTPRequestHandler):
    emulator: AwsModelEmulator
    protocol_version = "HTTP/1.1"
    server_version = "aws-model-emulator"
    sys_version = ""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        route = self._route(self.path.split("?")[0])
        if route is None:
            status, out_headers, body = error_response(EmulatedError(404, "UnknownOperationException", "Not found"))
        else:
            status, out_headers, body = self.emulator.handle(route[0], route[1], headers, raw)
        self.send_response(status)
        for name, value in out_headers.items():
            self.send_header(name, value)
        self.send_header("x-amzn-RequestId", f"emulated-{time.monotonic_ns()}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)  # fails when the client gave up on this call (its read timeout)

    @staticmethod
    def _route(path: str) -> tuple[str, str] | None:
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if len(parts) == 3 and parts[0] == "model" and parts[2] in ("invoke", "converse"):
            return ("invoke_model" if parts[2] == "invoke" else "converse"), parts[1]
        if len(parts) == 3 and parts[0] == "endpoints" and parts[2] == "invocations":
            return "invoke_endpoint", parts[1]
        if len(parts) == 3 and parts[0] == "endpoints" and parts[2] == "async-invocations":
            return "invoke_endpoint_async", parts[1]
        return None

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

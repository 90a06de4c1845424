"""A loopback emulator of the two AWS model APIs the production backends call.

It speaks the wire protocols botocore speaks (rest-json): bedrock-runtime ``InvokeModel``
(``POST /model/{modelId}/invoke``) for the Stability AI Image Services and ``Converse``
(``POST /model/{modelId}/converse``), and sagemaker-runtime ``InvokeEndpoint``
(``POST /endpoints/{name}/invocations``) for our own try-on contract. Request bodies are checked
as strictly as the real services document them (required fields, types, ranges, image size
rules), answers carry images made by the embedded backend's image operations (``emulated_models``), and errors use
the real wire format (``x-amzn-ErrorType`` header, JSON ``message``) so the real boto3 clients
raise the same ``ClientError`` codes they raise against AWS.

Tests inject faults per model id or endpoint name (``inject``) and per-call delays
(``set_delay``); the emulator records every call with its timing (``calls``, ``max_in_flight``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import json
import math
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from PIL import Image, UnidentifiedImageError

from tryon_dev import emulated_models

MAX_PIXELS = 9_437_184
MIN_SIDE = 64
MIN_ASPECT, MAX_ASPECT = 1 / 2.5, 2.5
MAX_PROMPT = 10_000
MAX_SEED = 4_294_967_294
OUTPUT_FORMATS = ("jpeg", "png", "webp")
STYLE_PRESETS = (
    "3d-model", "analog-film", "anime", "cinematic", "comic-book", "digital-art", "enhance", "fantasy-art",
    "isometric", "line-art", "low-poly", "modeling-compound", "neon-punk", "origami", "photographic",
    "pixel-art", "tile-texture",
)  # fmt: skip
CONVERSE_IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
CONVERSE_MAX_IMAGE_BYTES = int(3.75 * 1024 * 1024)
CONVERSE_MAX_IMAGE_SIDE = 8000
SAGEMAKER_MAX_PAYLOAD = 6 * 1024 * 1024
ACCOUNT = "000000000000"

# Per Stability service: the allowed request keys and the required ones.
STABILITY_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "search-replace": (
        frozenset({"image", "prompt", "search_prompt", "negative_prompt", "seed", "output_format", "style_preset",
                   "grow_mask"}),
        frozenset({"image", "prompt", "search_prompt"}),
    ),
    "inpaint": (
        frozenset({"image", "prompt", "mask", "negative_prompt", "seed", "output_format", "style_preset",
                   "grow_mask"}),
        frozenset({"image", "prompt"}),
    ),
    "remove-background": (frozenset({"image", "output_format"}), frozenset({"image"})),
}  # fmt: skip

# Fault kind -> (status, error code, message) per protocol. Body-level faults are handled apart.
BEDROCK_ERRORS: dict[str, tuple[int, str, str]] = {
    "throttling": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "quota": (400, "ServiceQuotaExceededException", "Your request exceeds the service quota for your account."),
    "model_timeout": (408, "ModelTimeoutException", "Model has timed out in processing the request."),
    "service_unavailable": (503, "ServiceUnavailableException", "The service is temporarily unavailable."),
    "internal": (500, "InternalServerException", "An internal server error occurred."),
    "access_denied": (403, "AccessDeniedException", "You don't have access to the model with the specified id."),
    "not_found": (404, "ResourceNotFoundException", "The requested resource could not be found."),
    "validation": (400, "ValidationException", "The provided model identifier is invalid."),
    # A moderation refusal Bedrock returns as an error rather than a finish reason (wording of
    # Stability AI's API; Amazon's models say "...blocked by our content filters.").
    "moderation": (
        400,
        "ValidationException",
        "Your request was flagged by our content moderation system, as a result your request was denied.",
    ),
    "model_error": (424, "ModelErrorException", "The model encountered an error processing the request."),
    "model_not_ready": (429, "ModelNotReadyException", "Model is not ready to serve inference requests."),
}
SAGEMAKER_ERRORS: dict[str, tuple[int, str, str]] = {
    # ThrottlingException is an AWS common error (HTTP 400), not in the service model.
    "throttling": (400, "ThrottlingException", "Rate exceeded"),
    "service_unavailable": (503, "ServiceUnavailable", "The service is unavailable. Try your call again."),
    "internal": (500, "InternalFailure", "An internal failure occurred. Try your request again."),
    "validation": (400, "ValidationError", "Endpoint not found."),
    "model_error": (424, "ModelError", 'Received server error (500) from primary with message "boom".'),
    "model_timeout": (
        424,
        "ModelError",
        'Received server error (0) from primary with message "Your invocation timed out while waiting for a '
        'response from container primary."',
    ),
    "model_not_ready": (429, "ModelNotReadyException", "Model is not ready."),
    "dependency": (530, "InternalDependencyException", "An internal dependency failed."),
    "access_denied": (403, "AccessDeniedException", "User is not authorized to perform sagemaker:InvokeEndpoint."),
}
BODY_FAULTS = ("filtered", "inference_error", "no_image", "slow", "bad_image")


class EmulatedError(Exception):
    def __init__(self, status: int, code: str, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra or {}


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


def _validation(message: str) -> EmulatedError:
    return EmulatedError(400, "ValidationException", f"Malformed input request: {message}, please reformat your input")


def _decode_image(value: Any, name: str, error: type[Exception] | None = None) -> Image.Image:
    if not isinstance(value, str) or not value:
        raise _validation(f"#/{name}: expected type: String")
    try:
        data = base64.b64decode(value, validate=True)
        image = Image.open(io.BytesIO(data))
        image.load()
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError):
        raise _validation(f"#/{name}: is not a valid base64 encoded image") from None
    if image.format not in ("JPEG", "PNG", "WEBP"):
        raise _validation(f"#/{name}: unsupported image format {image.format}; use jpeg, png or webp")
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        raise _validation(f"#/{name}: every side of the image must be at least {MIN_SIDE} pixels")
    if width * height > MAX_PIXELS:
        raise _validation(f"#/{name}: the total pixel count cannot exceed {MAX_PIXELS} pixels")
    if not MIN_ASPECT <= width / height <= MAX_ASPECT:
        raise _validation(f"#/{name}: image aspect ratio must be between 1:2.5 and 2.5:1")
    return image


def _string(body: dict[str, Any], name: str, maximum: int = MAX_PROMPT) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise _validation(f"#/{name}: expected type: String, found: {type(value).__name__}")
    if len(value) > maximum:
        raise _validation(f"#/{name}: expected maxLength: {maximum}, actual: {len(value)}")
    return value


def _integer(body: dict[str, Any], name: str, low: int, high: int, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _validation(f"#/{name}: expected type: Integer")
    if not low <= value <= high:
        raise _validation(f"#/{name}: {value} is not in the range {low} to {high}")
    return value


def validate_stability(service: str, body: Any) -> dict[str, Any]:
    """Check an Image Services request as Bedrock does; returns the normalised parameters."""
    if not isinstance(body, dict):
        raise _validation("#: expected type: JSONObject")
    allowed, required = STABILITY_FIELDS[service]
    for key in body:
        if key not in allowed:
            raise _validation(f"#: extraneous key [{key}] is not permitted")
    for key in sorted(required):
        if key not in body:
            raise _validation(f"#: required key [{key}] not found")
    params: dict[str, Any] = {"image": _decode_image(body["image"], "image")}
    for name in ("prompt", "search_prompt", "negative_prompt"):
        if name in allowed:
            params[name] = _string(body, name)
    output_format = body.get("output_format", "png")
    if output_format not in OUTPUT_FORMATS:
        raise _validation(f"#/output_format: {output_format!r} is not a valid enum value")
    params["output_format"] = output_format
    if "seed" in allowed:
        params["seed"] = _integer(body, "seed", 0, MAX_SEED, 0)
    if "grow_mask" in allowed:
        params["grow_mask"] = _integer(body, "grow_mask", 0, 20, 5)
    if "style_preset" in body and body["style_preset"] not in STYLE_PRESETS:
        raise _validation(f"#/style_preset: {body['style_preset']!r} is not a valid enum value")
    if service == "inpaint":
        params["mask"] = _decode_image(body["mask"], "mask") if "mask" in body else None
        image = params["image"]
        if params["mask"] is None and not (image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info):
            raise _validation("#: provide a mask or an image with an alpha channel")
    return params


def validate_converse(body: Any) -> list[Image.Image]:
    """Check a Converse request; returns the images of the user's messages."""
    if not isinstance(body, dict):
        raise _validation("the request body must be a JSON object")
    allowed = {"messages", "system", "inferenceConfig", "additionalModelRequestFields"}
    for key in body:
        if key not in allowed:
            raise EmulatedError(400, "ValidationException", f"Unsupported field in the request: {key}")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise EmulatedError(400, "ValidationException", "A conversation must start with a user message.")
    for block in body.get("system", []):
        if not isinstance(block, dict) or not isinstance(block.get("text"), str) or not block["text"]:
            raise EmulatedError(400, "ValidationException", "System content blocks must be non-empty text.")
    config = body.get("inferenceConfig", {})
    if not isinstance(config, dict) or set(config) - {"maxTokens", "temperature", "topP", "stopSequences"}:
        raise EmulatedError(400, "ValidationException", "The inference configuration is not valid.")
    max_tokens = config.get("maxTokens", 1)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise EmulatedError(400, "ValidationException", "maxTokens must be a positive integer.")
    for name in ("temperature", "topP"):
        value = config.get(name, 0.5)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise EmulatedError(400, "ValidationException", f"{name} must be between 0 and 1.")
    images: list[Image.Image] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise EmulatedError(400, "ValidationException", "Each message needs a role: user or assistant.")
        if index == 0 and message["role"] != "user":
            raise EmulatedError(400, "ValidationException", "A conversation must start with a user message.")
        content = message.get("content")
        if not isinstance(content, list) or not content:
            raise EmulatedError(400, "ValidationException", "Message content must be a non-empty list.")
        for block in content:
            if not isinstance(block, dict) or len(block) != 1:
                raise EmulatedError(400, "ValidationException", "Each content block must have exactly one member.")
            if "text" in block:
                if not isinstance(block["text"], str) or not block["text"].strip():
                    raise EmulatedError(400, "ValidationException", "Text content blocks must be non-empty.")
            elif "image" in block:
                images.append(_converse_image(block["image"]))
            else:
                raise EmulatedError(400, "ValidationException", f"Unsupported content block: {next(iter(block))}")
    if len(images) > 20:
        raise EmulatedError(400, "ValidationException", "Too many images: at most 20.")
    return images


def _converse_image(block: Any) -> Image.Image:
    if not isinstance(block, dict) or block.get("format") not in CONVERSE_IMAGE_FORMATS:
        raise EmulatedError(400, "ValidationException", "The image format must be one of png, jpeg, gif, webp.")
    source = block.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("bytes"), str):
        raise EmulatedError(400, "ValidationException", "The image source must contain bytes.")
    try:
        data = base64.b64decode(source["bytes"], validate=True)
        image = Image.open(io.BytesIO(data))
        image.load()
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError):
        raise EmulatedError(400, "ValidationException", "Could not process image: invalid image bytes.") from None
    if len(data) > CONVERSE_MAX_IMAGE_BYTES or max(image.size) > CONVERSE_MAX_IMAGE_SIDE:
        raise EmulatedError(400, "ValidationException", "Image exceeds max size: 3.75 MB and 8000 px per side.")
    if (image.format or "").lower() != block["format"]:
        raise EmulatedError(400, "ValidationException", "The image bytes do not match the declared format.")
    return image


def validate_tryon_contract(body: Any) -> dict[str, Any]:
    """Our SageMaker container contract (README 'Hosting a try-on model on SageMaker')."""
    allowed = {
        "person_image_base64", "garment_image_base64", "garment_description", "mode", "seed", "output_format",
    }  # fmt: skip
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    extra = set(body) - allowed
    if extra:
        raise ValueError(f"unknown field {sorted(extra)[0]}")
    for name in ("person_image_base64", "garment_description", "mode", "seed"):
        if name not in body:
            raise ValueError(f"{name} is required")
    description = body["garment_description"]
    if not isinstance(description, str) or not 1 <= len(description) <= 4000:
        raise ValueError("garment_description must be a string of 1 to 4000 characters")
    if body["mode"] not in ("studio", "environment"):
        raise ValueError("mode must be studio or environment")
    seed = body["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 2**32 - 1:
        raise ValueError("seed must be an integer from 0 to 4294967295")
    output_format = body.get("output_format", "png")
    if output_format not in ("png", "jpeg"):
        raise ValueError("output_format must be png or jpeg")
    garment = body.get("garment_image_base64")
    try:
        person = _decode_image(body["person_image_base64"], "person_image_base64")
        garment_image = None if garment is None else _decode_image(garment, "garment_image_base64")
    except EmulatedError as error:
        raise ValueError(error.message) from None
    return {
        "person": person,
        "garment": garment_image,
        "description": description,
        "mode": body["mode"],
        "seed": seed,
        "output_format": output_format,
    }


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


class AwsModelEmulator:
    """Start with ``start()`` (or as a context manager); point boto3 at ``url``."""

    def __init__(self, *, endpoint_names: tuple[str, ...] = ("tryon-vton",), default_delay: float = 0.0) -> None:
        self.endpoint_names = set(endpoint_names)
        self.default_delay = default_delay
        self._state = _State()
        self._call_state = threading.local()  # the state a handler thread's call records into
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

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

    def reset(self) -> None:
        with self._lock:
            self._state.ended.set()
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

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> AwsModelEmulator:
        handler = type("BoundHandler", (_EmulatorHandler,), {"emulator": self})
        server = ThreadingHTTPServer((host, port), handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="aws-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            self._state.ended.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> AwsModelEmulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

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
            self._wait(state, delay + (fault.delay if fault else 0.0))
            status, out_headers, body = self._answer(operation, target, headers, raw, fault)
            return status, out_headers, body
        except EmulatedError as error:
            status = error.status
            return _error_response(error)
        finally:
            self._leave(state, target, operation, started, status, fault_kind)

    def _answer(
        self, operation: str, target: str, headers: dict[str, str], raw: bytes, fault: Fault | None
    ) -> tuple[int, dict[str, str], bytes]:
        signing_name = "sagemaker" if operation == "invoke_endpoint" else "bedrock"
        authorization = headers.get("authorization", "")
        if not authorization.startswith("AWS4-HMAC-SHA256 ") or f"/{signing_name}/aws4_request" not in authorization:
            raise EmulatedError(403, "IncompleteSignatureException", "Request must be signed with SigV4.")
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
            raise _validation("the body is not valid JSON") from None
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
            return _model_error(415, "content type must be application/json")
        try:
            body = json.loads(raw)
            with self._lock:
                self._call_state.state.bodies.append((target, body if isinstance(body, dict) else {}))
            params = validate_tryon_contract(body)
        except ValueError as error:
            return _model_error(400, str(error))
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


def _model_error(original_status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    """A container's non-2xx answer, as SageMaker relays it: a ModelError (424)."""
    raise EmulatedError(
        424,
        "ModelError",
        f'Received client error ({original_status}) from primary with message "{message}".',
        {"OriginalStatusCode": original_status, "OriginalMessage": message, "LogStreamArn": "arn:aws:logs:emulated"},
    )


def _error_response(error: EmulatedError) -> tuple[int, dict[str, str], bytes]:
    # SageMaker's error shapes spell the member "Message"; Bedrock's spell it "message".
    key = "Message" if error.code in SAGEMAKER_CODES else "message"
    body = {key: error.message, **error.extra}
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": f"{error.code}:http://internal.amazon.com/"}
    return error.status, headers, json.dumps(body).encode()


SAGEMAKER_CODES = frozenset({"ValidationError", "ModelError", "InternalFailure", "ServiceUnavailable",
                             "InternalDependencyException"})  # fmt: skip


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
            status, out_headers, body = _error_response(EmulatedError(404, "UnknownOperationException", "Not found"))
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
        return None

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

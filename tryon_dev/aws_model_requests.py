"""The request rules of the AWS model APIs the emulator speaks, as the services document them.

Stability AI Image Services on bedrock-runtime (fields, types, ranges, image size rules), Converse
with images, and our SageMaker try-on contract. A broken request raises ``EmulatedError`` with
the status and error code the real service answers.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from PIL import Image, UnidentifiedImageError

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


class EmulatedError(Exception):
    def __init__(self, status: int, code: str, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra or {}


def invalid_request(message: str) -> EmulatedError:
    return EmulatedError(400, "ValidationException", f"Malformed input request: {message}, please reformat your input")


def _decode_image(value: Any, name: str, error: type[Exception] | None = None) -> Image.Image:
    if not isinstance(value, str) or not value:
        raise invalid_request(f"#/{name}: expected type: String")
    try:
        data = base64.b64decode(value, validate=True)
        image = Image.open(io.BytesIO(data))
        image.load()
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError):
        raise invalid_request(f"#/{name}: is not a valid base64 encoded image") from None
    if image.format not in ("JPEG", "PNG", "WEBP"):
        raise invalid_request(f"#/{name}: unsupported image format {image.format}; use jpeg, png or webp")
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        raise invalid_request(f"#/{name}: every side of the image must be at least {MIN_SIDE} pixels")
    if width * height > MAX_PIXELS:
        raise invalid_request(f"#/{name}: the total pixel count cannot exceed {MAX_PIXELS} pixels")
    if not MIN_ASPECT <= width / height <= MAX_ASPECT:
        raise invalid_request(f"#/{name}: image aspect ratio must be between 1:2.5 and 2.5:1")
    return image


def _string(body: dict[str, Any], name: str, maximum: int = MAX_PROMPT) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise invalid_request(f"#/{name}: expected type: String, found: {type(value).__name__}")
    if len(value) > maximum:
        raise invalid_request(f"#/{name}: expected maxLength: {maximum}, actual: {len(value)}")
    return value


def _integer(body: dict[str, Any], name: str, low: int, high: int, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_request(f"#/{name}: expected type: Integer")
    if not low <= value <= high:
        raise invalid_request(f"#/{name}: {value} is not in the range {low} to {high}")
    return value


def validate_stability(service: str, body: Any) -> dict[str, Any]:
    """Check an Image Services request as Bedrock does; returns the normalised parameters."""
    if not isinstance(body, dict):
        raise invalid_request("#: expected type: JSONObject")
    allowed, required = STABILITY_FIELDS[service]
    for key in body:
        if key not in allowed:
            raise invalid_request(f"#: extraneous key [{key}] is not permitted")
    for key in sorted(required):
        if key not in body:
            raise invalid_request(f"#: required key [{key}] not found")
    params: dict[str, Any] = {"image": _decode_image(body["image"], "image")}
    for name in ("prompt", "search_prompt", "negative_prompt"):
        if name in allowed:
            params[name] = _string(body, name)
    output_format = body.get("output_format", "png")
    if output_format not in OUTPUT_FORMATS:
        raise invalid_request(f"#/output_format: {output_format!r} is not a valid enum value")
    params["output_format"] = output_format
    if "seed" in allowed:
        params["seed"] = _integer(body, "seed", 0, MAX_SEED, 0)
    if "grow_mask" in allowed:
        params["grow_mask"] = _integer(body, "grow_mask", 0, 20, 5)
    if "style_preset" in body and body["style_preset"] not in STYLE_PRESETS:
        raise invalid_request(f"#/style_preset: {body['style_preset']!r} is not a valid enum value")
    if service == "inpaint":
        params["mask"] = _decode_image(body["mask"], "mask") if "mask" in body else None
        image = params["image"]
        if params["mask"] is None and not (image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info):
            raise invalid_request("#: provide a mask or an image with an alpha channel")
    return params


def validate_converse(body: Any) -> list[Image.Image]:
    """Check a Converse request; returns the images of the user's messages."""
    if not isinstance(body, dict):
        raise invalid_request("the request body must be a JSON object")
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


CONTRACT_SCHEMA_PATH = Path(__file__).resolve().parents[1] / "contracts" / "sagemaker-tryon.v1.schema.json"


@cache
def _tryon_contract_validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(CONTRACT_SCHEMA_PATH.read_text()))


def validate_tryon_contract(body: Any) -> dict[str, Any]:
    """Our SageMaker container contract, checked against its one definition, the JSON Schema in
    ``contracts/`` (the model server validates against the same file)."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    violation = best_match(_tryon_contract_validator().iter_errors(body))
    if violation is not None:
        where = ".".join(str(part) for part in violation.absolute_path)
        raise ValueError(f"{where}: {violation.message}" if where else violation.message)
    description, seed = body["garment_description"], body["seed"]
    output_format = body.get("output_format", "png")
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

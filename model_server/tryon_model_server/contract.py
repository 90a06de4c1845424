"""The v1 contract: validate a request body against the shared JSON Schema, decode its images.

The schema is the single definition of the contract (``contracts/sagemaker-tryon.v1.schema.json``
at the repository root, copied beside this package in the container image).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from PIL import Image, UnidentifiedImageError

CONTRACT_VERSION = "1"
SCHEMA_NAME = "sagemaker-tryon.v1.schema.json"
# Repository: <root>/model_server/tryon_model_server/contract.py; image: /opt/program/... likewise.
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "contracts" / SCHEMA_NAME


class BadRequest(ValueError):
    """The payload breaks the contract: a 400 with this message."""


@dataclass(frozen=True)
class TryOnRequest:
    person: Image.Image
    garment: Image.Image | None
    garment_description: str
    mode: str
    seed: int
    output_format: str
    num_inference_steps: int | None
    garment_category: str = "auto"


@cache
def request_validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "const" and where == "contract_version":
        return f'contract_version must be "{CONTRACT_VERSION}": this server speaks sagemaker-tryon v{CONTRACT_VERSION}'
    if error.validator == "additionalProperties":
        return f"unknown field: {error.message}"
    return f"{where}: {error.message}" if where else error.message


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise BadRequest("the body must be a JSON object")
    error = best_match(request_validator().iter_errors(payload))
    if error is not None:
        raise BadRequest(_describe(error))
    return payload


def flatten_on_white(image: Image.Image) -> Image.Image:
    """RGB as the model sees photos: transparent pixels become the white of a product shot.

    The Lambda sends garment cut-outs as RGBA PNGs; a plain ``convert("RGB")`` drops the alpha
    and leaves the colour stored under it, black for most cut-outs."""
    if "A" not in image.getbands() and "transparency" not in image.info:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def decode_image(
    field: str, data_b64: str, max_pixels: int, min_side: int = 16, max_aspect: float | None = None
) -> Image.Image:
    """The photo as RGB, or a 400 saying why not. ``min_side`` and ``max_aspect`` are the serving
    family's own input limits: refused here, not raised from inside the pipeline as a 500."""
    try:
        data = base64.b64decode(data_b64, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{field} is not valid base64") from None
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > max_pixels:
                raise BadRequest(f"{field} is too large: at most {max_pixels} pixels")
            probe.load()
            image = flatten_on_white(probe)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise BadRequest(f"{field} is not a readable image (JPEG or PNG expected)") from None
    if min(image.size) < min_side:
        raise BadRequest(f"{field} is too small: at least {min_side} px on each side, got {image.width}x{image.height}")
    if max_aspect is not None and max(image.size) > max_aspect * min(image.size):
        raise BadRequest(
            f"{field} is too elongated: at most {max_aspect:g}:1 between its sides, got {image.width}x{image.height}"
        )
    return image


def parse_request(
    body: bytes, max_input_pixels: int, min_side: int = 16, max_aspect: float | None = None
) -> TryOnRequest:
    payload = parse_body(body)
    garment_b64 = payload.get("garment_image_base64")
    limits = (max_input_pixels, min_side, max_aspect)
    return TryOnRequest(
        person=decode_image("person_image_base64", payload["person_image_base64"], *limits),
        garment=decode_image("garment_image_base64", garment_b64, *limits) if garment_b64 else None,
        garment_description=payload["garment_description"].strip(),
        mode=payload["mode"],
        seed=payload["seed"],
        output_format=payload.get("output_format", "png"),
        num_inference_steps=payload.get("num_inference_steps"),
        garment_category=payload.get("garment_category", "auto"),
    )


def encode_image(image: Image.Image, output_format: str) -> tuple[str, str]:
    """The answer's ``image_base64`` and ``mime_type``."""
    buffer = io.BytesIO()
    if output_format == "jpeg":
        image.convert("RGB").save(buffer, "JPEG", quality=95)
        mime_type = "image/jpeg"
    else:
        image.save(buffer, "PNG")
        mime_type = "image/png"
    return base64.b64encode(buffer.getvalue()).decode("ascii"), mime_type

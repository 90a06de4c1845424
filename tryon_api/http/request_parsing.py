"""Turn a raw request body into a ``TryOnRequest`` or a ``BadRequest`` with a precise message.

The two messages for missing fields are part of the public contract, word for word.
Checks run in field order so a body with several problems always gets the same answer.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tryon_api.jobs.interface import MAX_SAMPLES, MAX_SEED
from tryon_api.tryon.errors import BadRequest
from tryon_api.tryon.interface import GARMENT_CATEGORIES, MODES, OUTPUT_FORMATS, Mode, TryOnRequest

_DATA_URL = re.compile(r"^data:([a-z0-9.+/-]*)?(;[a-z0-9=._+-]+)*;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
_BASE64_CHARS = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")

MAX_DESCRIPTION_CHARS = 1000
MAX_URL_CHARS = 2048


def parse_generate_request(body: str | bytes | None) -> TryOnRequest:
    return _parse_tryon_fields(_load_json_object(body))


@dataclass(frozen=True)
class JobFields:
    """POST /jobs' own fields; ``seed`` None: the request's own seed (as the synchronous call uses)."""

    num_samples: int
    seed: int | None
    webhook_url: str | None


def parse_job_request(body: str | bytes | None) -> tuple[TryOnRequest, JobFields]:
    """The synchronous call's fields with its messages, then num_samples, seed and webhook_url."""
    payload = _load_json_object(body)
    request = _parse_tryon_fields(payload)
    num_samples = _optional_integer(payload.get("num_samples"), "num_samples", 1, MAX_SAMPLES)
    seed = _optional_integer(payload.get("seed"), "seed", 0, MAX_SEED)
    return request, JobFields(
        num_samples=1 if num_samples is None else num_samples,
        seed=seed,
        webhook_url=_parse_url(payload.get("webhook_url"), "webhook_url"),
    )


def _optional_integer(value: Any, name: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    # JSON numbers only: true/false, "2" and 2.5 are refused (2.0 is the integer 2).
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"{name} must be an integer from {low} to {high}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):  # NaN, Infinity, 2.5
        raise BadRequest(f"{name} must be an integer from {low} to {high}")
    if not low <= value <= high:
        raise BadRequest(f"{name} must be an integer from {low} to {high}")
    return int(value)


def _parse_tryon_fields(payload: dict[str, Any]) -> TryOnRequest:
    selfie_text = _required_string(payload, "selfie_base64")
    description = _required_string(payload, "clothing_description").strip()
    if not description:
        raise BadRequest("clothing_description is required")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise BadRequest(f"clothing_description must be at most {MAX_DESCRIPTION_CHARS} characters")
    if not _is_unicode_text(description):
        raise BadRequest("clothing_description contains invalid characters")
    mode = _parse_mode(payload.get("mode"))
    url = _parse_url(payload.get("clothing_image_url"), "clothing_image_url")
    category = _parse_choice(payload.get("garment_category"), "garment_category", GARMENT_CATEGORIES)
    output_format = _parse_choice(payload.get("output_format"), "output_format", tuple(OUTPUT_FORMATS))
    return TryOnRequest(
        selfie_bytes=decode_base64_image(selfie_text, "selfie_base64"),
        clothing_description=description,
        mode=mode,
        clothing_image_url=url,
        garment_category=category,
        output_format=output_format,
    )


def _parse_choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    """An optional choice (absent or null: the first, the default), matched exactly."""
    if value is None:
        return allowed[0]
    for choice in allowed:
        if value == choice:
            return choice
    raise BadRequest(f"{name} must be one of " + ", ".join(f'"{choice}"' for choice in allowed))


def raw_body(body: str | None, is_base64_encoded: bool | None) -> str | bytes | None:
    """The body as sent: base64 undone but not decoded as UTF-8 (a bad byte is a 400, not a 500)."""
    if not is_base64_encoded or not body:
        return body
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("request body is not valid JSON") from None


def _load_json_object(body: str | bytes | None) -> dict[str, Any]:
    if body is None or (isinstance(body, (str, bytes)) and not body.strip()):
        raise BadRequest("request body must be a JSON object")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise BadRequest("request body must be a JSON object")
    return payload


def _required_string(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if value is None:
        raise BadRequest(f"{name} is required")
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    if not value.strip():
        raise BadRequest(f"{name} is required")
    return value


def _is_unicode_text(text: str) -> bool:
    """False for lone surrogates: JSON allows "\\ud800", but no later stage can encode it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _parse_mode(value: Any) -> Mode:
    if value is None or value == "":
        raise BadRequest("mode is required")
    for mode in MODES:
        if value == mode:
            return mode
    raise BadRequest('mode must be "studio" or "environment"')


def _parse_url(value: Any, name: str) -> str | None:
    """An optional absolute http(s) URL (the garment's or the webhook's): the same rules for both."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    url = value.strip()
    if len(url) > MAX_URL_CHARS:
        raise BadRequest(f"{name} must be at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise BadRequest(f"{name} must be an absolute http or https URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"{name} must be an absolute http or https URL")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url) or not _is_unicode_text(url):
        raise BadRequest(f"{name} must be an absolute http or https URL")
    return url


def decode_base64_image(text: str, field_name: str) -> bytes:
    """Decode standard or URL-safe base64, with or without a data: prefix and line breaks."""
    match = _DATA_URL.match(text.lstrip())
    if match:
        media_type = (match.group(1) or "").lower()
        if media_type and not media_type.startswith("image/"):
            raise BadRequest(f"{field_name} must be an image")
        text = text.lstrip()[match.end() :]
    try:
        # Fast path: canonical base64 (what nearly every client sends) is checked and decoded in
        # one C pass; the regular expressions below cost several times the decoding on 6 MB.
        data = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        pass  # whitespace, the URL-safe alphabet or missing padding: the general path below
    else:
        if not data:
            raise BadRequest(f"{field_name} is required")
        return data
    compact = _WHITESPACE.sub("", text)
    if not compact or not _BASE64_CHARS.match(compact):
        raise BadRequest(f"{field_name} is not valid base64")
    compact = compact.rstrip("=")
    if len(compact) % 4 == 1:
        raise BadRequest(f"{field_name} is not valid base64")
    compact += "=" * (-len(compact) % 4)
    try:
        data = base64.b64decode(compact.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{field_name} is not valid base64") from None
    if not data:
        raise BadRequest(f"{field_name} is required")
    return data

"""The request body limit, counted the way Lambda counts it: as the body travels in the event.

A function URL puts a JSON or text body in the event as it was sent, and any other body
base64-encoded (4/3 of its size); Lambda refuses an event over its payload limit before the
function runs (``settings.LAMBDA_INVOCATION_PAYLOAD_BYTES``). Counting the body as the event
carries it keeps every body we accept inside an event Lambda accepts, with the most room for
the JSON requests of the API. The local server enforces the same limit (tryon_dev/server.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tryon_api.tryon.errors import PayloadTooLarge


def event_body_bytes(event: Mapping[str, Any]) -> int:
    """The body's size in the event: its UTF-8 text, base64 included when the body is binary."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        return len(body)
    # JSON and base64 bodies are ASCII: one byte a character, counted without copying the body.
    return len(body) if body.isascii() else len(body.encode("utf-8"))


def binary_body_limit(max_body_bytes: int) -> int:
    """The largest body without a JSON or text content type: its base64 must fit the limit."""
    return max_body_bytes // 4 * 3


def body_too_large(max_body_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"request body is too large: at most {max_body_bytes} bytes with a JSON or text content type,"
        f" {binary_body_limit(max_body_bytes)} bytes otherwise"
    )

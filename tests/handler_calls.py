"""One function-URL request through the Lambda handler, as the tests that call it directly send it."""

from __future__ import annotations

import base64
import json
from typing import Any

from tryon_api.entrypoints.function_url import handle_event
from tryon_dev.events import function_url_event
from tryon_dev.lambda_context import new_context


def call_handler(
    method: str, path: str, body: Any = None, *, key: str | None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Status, headers and the JSON answer (``{}`` for an empty body); ``body`` as bytes is sent as is."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if key is not None:
        all_headers["X-Api-Key"] = key
    response = handle_event(function_url_event(method, path, all_headers, raw), new_context(30))
    text = response["body"]
    if response.get("isBase64Encoded"):
        text = base64.b64decode(text).decode()
    return response["statusCode"], response["headers"], json.loads(text) if text else {}

"""GET /usage and POST /client_tokens: the HTTP side of keys (tryon_api/keys/).

Imported on these routes' first request only. Both need an API key: a browser token reaches
neither (the key check answers it 401 before this runs).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from aws_lambda_powertools.event_handler import Response

from tryon_api.http.request_parsing import raw_body
from tryon_api.http.responses import json_response
from tryon_api.http.thread_safe_resolver import ThreadSafeFunctionUrlResolver
from tryon_api.keys.interface import Caller, seconds_until_next_month
from tryon_api.keys.service import (
    DEFAULT_TOKEN_IMAGES,
    DEFAULT_TOKEN_TTL_SECONDS,
    MAX_TOKEN_IMAGES,
    MAX_TOKEN_TTL,
    MIN_TOKEN_IMAGES,
    MIN_TOKEN_TTL,
    KeyService,
    valid_origin,
)
from tryon_api.tryon.errors import BadRequest, Unauthorized

MAX_TOKEN_REQUEST_BYTES = 4096


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _keys_and_caller(app: ThreadSafeFunctionUrlResolver) -> tuple[KeyService, Caller]:
    keys = app.context["services"].keys
    caller = app.context.get("caller")
    if keys is None or caller is None or caller.is_token:
        raise Unauthorized()
    return keys, caller


def usage(app: ThreadSafeFunctionUrlResolver) -> Response:
    keys, caller = _keys_and_caller(app)
    month = keys.usage(caller)
    now = time.time()
    return json_response(
        200,
        {
            "key_id": caller.key_id,
            "name": caller.name or None,
            "month": month.month,
            "images": month.images,
            "requests": month.requests,
            "limits": {"per_minute": caller.per_minute, "per_month": caller.per_month},
            "resets_at": _iso(now + seconds_until_next_month(now)),
        },
    )


def _integer(payload: dict[str, Any], name: str, low: int, high: int, default: int) -> int:
    value = payload.get(name, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not (math.isfinite(value) and value.is_integer()))
        or not low <= value <= high
    ):
        raise BadRequest(f"{name} must be an integer from {low} to {high}")
    return int(value)


def create_client_token(app: ThreadSafeFunctionUrlResolver) -> Response:
    keys, caller = _keys_and_caller(app)
    body = raw_body(app.current_event.body, app.current_event.is_base64_encoded)
    if body is not None and len(body) > MAX_TOKEN_REQUEST_BYTES:
        raise BadRequest("request body must be a JSON object")
    try:
        payload = json.loads(body or "")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("request body must be a JSON object") from None
    if not isinstance(payload, dict):
        raise BadRequest("request body must be a JSON object")
    origin = payload.get("origin")
    if not valid_origin(origin):
        raise BadRequest("origin must be a web page's origin, such as https://shop.example")
    ttl = _integer(payload, "ttl_seconds", MIN_TOKEN_TTL, MAX_TOKEN_TTL, DEFAULT_TOKEN_TTL_SECONDS)
    images = _integer(payload, "max_images", MIN_TOKEN_IMAGES, MAX_TOKEN_IMAGES, DEFAULT_TOKEN_IMAGES)
    token, expires_at = keys.mint_token(caller, str(origin), ttl, images)
    return json_response(201, {"token": token, "expires_at": _iso(expires_at)}, {"Cache-Control": "no-store"})

"""The one place an answer's status, headers and JSON body are written, for results and errors alike.

Errors raised inside the resolver come back as Powertools ``Response`` objects; errors refused
before routing (API key, body size) and the dev server's own refusals are function-URL response
dicts. Both are made from the same parts here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from tryon_api.tryon.errors import TryOnError


def error_body(error: TryOnError) -> dict[str, str]:
    return {"error": error.message}


def _json(body: Mapping[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


def json_response(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=_json(body), headers=dict(headers or {})
    )


def error_response(error: TryOnError) -> Response:
    return json_response(error.status, error_body(error), error.headers())


def error_event_response(error: TryOnError, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The same answer as ``error_response``, as the dict a function URL returns."""
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **error.headers(), **(headers or {})},
        "body": _json(error_body(error)),
        "isBase64Encoded": False,
    }

"""The OpenAPI 3.1 document of the API, generated from the route table and the typed models.

Powertools builds the paths, responses and security from a documentation resolver registered
from ``routes.ROUTES`` with the responses below; it is built on the first request for the
document, so no other request pays for pydantic and Powertools' OpenAPI models. The request body
is added from ``GenerateImageRequest`` here because the route parses its own body (for the
contract's exact messages) instead of using Powertools' validation, which would also document a
422 shape the API never sends. ``python -m tryon_api.http.openapi PATH`` writes the committed copy.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer, SecurityScheme
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader
from pydantic import BaseModel

from tryon_api.http import routes
from tryon_api.http.body_limit import binary_body_limit
from tryon_api.http.request_schema import (
    ClientToken,
    ClientTokenRequest,
    ErrorResponse,
    GenerateImageRequest,
    GenerateImageResponse,
    JobAccepted,
    JobDocument,
    SubmitJobRequest,
    UsageReport,
)
from tryon_api.keys.interface import TOKEN_OPERATIONS
from tryon_api.per_container import PerContainer
from tryon_api.settings import MAX_EVENT_BODY_BYTES

TITLE = "Virtual try-on API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Dress the person in a selfie in the described clothing. Every error is a JSON object with one "
    "`error` string. Authentication comes first: a request without a valid key gets 401 whatever its "
    "body. Every response carries `X-Request-Id`, the id under which the request is logged."
)
API_KEY_SCHEME = "apiKey"
CLIENT_TOKEN_SCHEME = "clientToken"  # noqa: S105 - a security scheme's name
SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    API_KEY_SCHEME: APIKey.model_validate(
        {
            "name": "X-API-Key",
            "in": APIKeyIn.header,
            "description": "The API key (the header name is case-insensitive). Keep it on your servers.",
        }
    ),
    CLIENT_TOKEN_SCHEME: HTTPBearer.model_validate(
        {
            "scheme": "bearer",
            "description": "A browser token from POST /client_tokens, for web pages: valid only with the exact "
            "Origin it was minted for, on POST /generate_image, POST /jobs and the jobs it created, until it "
            "expires or has made its max_images.",
        }
    ),
}
COMPONENT_SCHEMAS = "#/components/schemas/"

_REQUEST_ID: OpenAPIResponseHeader = {
    "description": "The request id, also in every log line of the request.",
    "schema": {"type": "string"},
}
_RETRY_AFTER: OpenAPIResponseHeader = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "integer", "minimum": 0},
}


# IETF draft-ietf-httpapi-ratelimit-headers: on every answer to a key with limits.
_RATELIMIT_POLICY: OpenAPIResponseHeader = {
    "description": 'A limited key\'s policies: `"minute";q=<requests>;w=60` (generating requests per UTC '
    'minute) and `"month";q=<images>;w=<seconds in the month>` (images per UTC month). Absent for an '
    "unlimited key.",
    "schema": {"type": "string"},
}
_RATELIMIT: OpenAPIResponseHeader = {
    "description": 'What is left: `"minute";r=<remaining>;t=<seconds to the next minute>`, '
    '`"month";r=<images remaining>;t=<seconds to the next month>`. Absent for an unlimited key.',
    "schema": {"type": "string"},
}


def _error(description: str, *, retry_after: bool = False) -> OpenAPIResponse:
    headers = {"X-Request-Id": _REQUEST_ID}
    if retry_after:
        headers["Retry-After"] = _RETRY_AFTER
    return {"description": description, "headers": headers, "content": {"application/json": {"model": ErrorResponse}}}


_COMMON_ERRORS: dict[int, OpenAPIResponse] = {
    404: _error("Unknown path: any path this document does not list."),
    405: _error("Wrong method for this path (the `Allow` header lists the right one)."),
    500: _error("Anything unexpected: a generic message; the request id is in the logs and the header."),
}

GENERATE_IMAGE_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "The generated image.",
        "headers": {"X-Request-Id": _REQUEST_ID},
        "content": {"application/json": {"model": GenerateImageResponse}},
    },
    400: _error(
        "The body is not a JSON object; a required field is missing, empty or of the wrong type; bad base64; "
        "not a decodable image; image too small or too large; unsupported mode, garment_category or "
        "output_format (the message names the allowed values); a clothing_image_url that is "
        "malformed or not allowed (`clothing_image_url is not allowed: <why>`: the scheme, user-info, host, port, or a "
        "private or loopback address). The messages `selfie_base64 is required` and "
        "`clothing_description is required` are fixed."
    ),
    401: _error("X-API-Key is missing or not valid (checked before anything else)."),
    413: _error(
        f"The request body is over the size limit: {MAX_EVENT_BODY_BYTES:,} bytes with a JSON or text content type, "
        f"{binary_body_limit(MAX_EVENT_BODY_BYTES):,} otherwise (such a body travels base64-encoded in Lambda's "
        "event). The limit leaves room in Lambda's 6 MB event for the envelope and headers; "
        "a much larger request is refused by AWS itself, without this shape or an X-Request-Id."
    ),
    422: _error(
        "No person can be found in the selfie: `selfie_base64 shows no person` (checked before any model is "
        "called); the garment URL was fetched but is not a usable image; or content moderation (the description, "
        "the garment photo, the generated image) or the model's content filter refused the request."
    ),
    429: _error(
        "`rate limit exceeded for this api key` (the key's per-minute limit; Retry-After: until the minute "
        "turns), `monthly image quota exhausted for this api key` (Retry-After: until the UTC month turns), "
        "or the model's throttling.",
        retry_after=True,
    ),
    502: _error("The image model failed."),
    503: _error(
        "A dependency (the secret store, the key store, the person check, content moderation, the model "
        "endpoint) is unavailable; authentication and moderation fail closed, and so do a limited key's limits "
        "(`usage limits are unavailable, retry later`).",
        retry_after=True,
    ),
    504: _error("The image model did not answer in time."),
    **_COMMON_ERRORS,
}

_LOCATION: OpenAPIResponseHeader = {
    "description": "The job's URL path, /jobs/{job_id}.",
    "schema": {"type": "string"},
}
_JOB_NOT_FOUND = _error("An unknown id, or a job another API key submitted: `job not found`.")

SUBMIT_JOB_RESPONSES: dict[int, OpenAPIResponse] = {
    202: {
        "description": "Queued. Poll the `Location`, or wait for the webhook.",
        "headers": {"X-Request-Id": _REQUEST_ID, "Location": _LOCATION},
        "content": {"application/json": {"model": JobAccepted}},
    },
    400: _error(
        "The same refusals, with the same messages, as POST /generate_image (checked before anything is "
        "queued); num_samples not 1 to 4; seed not 0 to 2147483647; a webhook_url that is malformed or not "
        "allowed; an Idempotency-Key that is not 1 to 255 printable ASCII characters."
    ),
    401: GENERATE_IMAGE_RESPONSES[401],
    409: _error("A submit with this Idempotency-Key is still being answered.", retry_after=True),
    413: GENERATE_IMAGE_RESPONSES[413],
    422: _error(
        "No person can be found in the selfie (`selfie_base64 shows no person`, checked at submit time); the "
        "Idempotency-Key was already used with a different body; or the garment URL could not be reached."
    ),
    429: _error(
        "The key's per-minute limit or monthly image quota (the same messages as POST /generate_image; a job "
        "that would cross the quota is refused whole, before it is queued), or this key already has the most "
        "jobs queued or running that a key may have.",
        retry_after=True,
    ),
    503: _error(
        "A dependency (the secret store, the key store, the person check, the job store) is unavailable.",
        retry_after=True,
    ),
    **_COMMON_ERRORS,
}

GET_JOB_RESPONSES: dict[int, OpenAPIResponse] = {
    400: _error('The images query parameter is not "url" or "base64".'),
    200: {
        "description": "The job: its images (each with its seed) once succeeded, its error once failed.",
        "headers": {"X-Request-Id": _REQUEST_ID},
        "content": {"application/json": {"model": JobDocument}},
    },
    401: GENERATE_IMAGE_RESPONSES[401],
    404: _JOB_NOT_FOUND,
    405: _COMMON_ERRORS[405],
    500: _COMMON_ERRORS[500],
}

DELETE_JOB_RESPONSES: dict[int, OpenAPIResponse] = {
    204: {"description": "Erased: the job, its inputs and its results.", "headers": {"X-Request-Id": _REQUEST_ID}},
    401: GENERATE_IMAGE_RESPONSES[401],
    404: _JOB_NOT_FOUND,
    405: _COMMON_ERRORS[405],
    500: _COMMON_ERRORS[500],
}

_JOB_ID_PARAMETER = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "description": "The id POST /jobs answered.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{22}$"},
}
_IMAGES_PARAMETER = {
    "name": "images",
    "in": "query",
    "required": False,
    "description": "How a succeeded job's images come: 'url' (default), short-lived URLs to each image at full "
    "quality; 'base64', inline, all fitted into one answer under 6 MB.",
    "schema": {"type": "string", "enum": ["url", "base64"], "default": "url"},
}
_IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retried submit (same key, same body, same API key) answer the same job, for "
    "the results' lifetime (24 h by default). The same key with another body: 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}

_KEY_ONLY = _error(
    "X-API-Key is missing or not valid; a browser token is refused here too (this route takes an API key)."
)

GET_USAGE_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "The calling key's usage this UTC month and its limits.",
        "headers": {"X-Request-Id": _REQUEST_ID},
        "content": {"application/json": {"model": UsageReport}},
    },
    401: _KEY_ONLY,
    503: _error("The key store is unavailable.", retry_after=True),
    **_COMMON_ERRORS,
}

CREATE_CLIENT_TOKEN_RESPONSES: dict[int, OpenAPIResponse] = {
    201: {
        "description": "A browser token for one origin; call this from your own server and hand the token to the page.",
        "headers": {"X-Request-Id": _REQUEST_ID},
        "content": {"application/json": {"model": ClientToken}},
    },
    400: _error(
        "The body is not a JSON object; origin is not a page origin (scheme, lower-case host, optional port); "
        "ttl_seconds not 60 to 3600; max_images not 1 to 20."
    ),
    401: _KEY_ONLY,
    503: _error("The signing secret is unavailable.", retry_after=True),
    **_COMMON_ERRORS,
}

OPENAPI_DOCUMENT_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "This document (public: no API key).",
        "headers": {"X-Request-Id": _REQUEST_ID},
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    **_COMMON_ERRORS,
}

PLAYGROUND_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "The try-on playground page (public: no API key; it holds no data).",
        "headers": {"X-Request-Id": _REQUEST_ID},
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
    **_COMMON_ERRORS,
}

# Powertools always adds these for its own validation feature, which the API does not use.
_UNUSED_COMPONENTS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def _request_body(model: type[BaseModel], path: str, what: str) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = model.model_json_schema(ref_template=COMPONENT_SCHEMAS + "{model}")
    nested = schema.pop("$defs", {})
    schema["description"] = f"The JSON body of POST {path}; other fields are ignored."
    properties = schema["properties"]
    # What the pydantic model cannot say: the encodings, in JSON Schema 2020-12 terms.
    if "selfie_base64" in properties:
        properties["selfie_base64"].update(contentEncoding="base64", contentMediaType="image/*")
    for name in ("clothing_image_url", "webhook_url"):
        for option in properties.get(name, {}).get("anyOf", ()):
            if option.get("type") == "string":
                option["format"] = "uri"
    body = {
        "required": True,
        "description": what,
        "content": {"application/json": {"schema": {"$ref": COMPONENT_SCHEMAS + model.__name__}}},
    }
    return body, {model.__name__: schema, **nested}


def _openapi_path(path: str) -> str:
    """``/jobs/<job_id>`` (Powertools' route) as OpenAPI writes it, ``/jobs/{job_id}``."""
    return path.replace("<", "{").replace(">", "}")


def _sort_responses(operation: dict[str, Any]) -> None:
    operation["responses"] = dict(sorted(operation["responses"].items(), key=lambda item: int(item[0])))


RESPONSES: dict[str, dict[int, OpenAPIResponse]] = {
    routes.GENERATE_IMAGE.operation_id: GENERATE_IMAGE_RESPONSES,
    routes.SUBMIT_JOB.operation_id: SUBMIT_JOB_RESPONSES,
    routes.GET_JOB.operation_id: GET_JOB_RESPONSES,
    routes.DELETE_JOB.operation_id: DELETE_JOB_RESPONSES,
    routes.GET_USAGE.operation_id: GET_USAGE_RESPONSES,
    routes.CREATE_CLIENT_TOKEN.operation_id: CREATE_CLIENT_TOKEN_RESPONSES,
    routes.PLAYGROUND.operation_id: PLAYGROUND_RESPONSES,
    routes.OPENAPI_DOCUMENT.operation_id: OPENAPI_DOCUMENT_RESPONSES,
}


def _security(route: routes.Route) -> list[dict[str, list[str]]] | None:
    if route.public:
        return None
    if route.operation_id in TOKEN_OPERATIONS:
        return [{API_KEY_SCHEME: []}, {CLIENT_TOKEN_SCHEME: []}]  # either one
    return [{API_KEY_SCHEME: []}]


def _documentation_resolver() -> LambdaFunctionUrlResolver:
    """The routes as Powertools documents them; it never answers a request."""
    app = LambdaFunctionUrlResolver()

    def undocumented_body() -> Response[Any]:
        raise NotImplementedError  # pragma: no cover - documentation only

    for route in routes.ROUTES:
        app.route(
            route.path,
            route.method,
            summary=route.summary,
            description=route.description,
            operation_id=route.operation_id,
            responses=RESPONSES[route.operation_id],
            security=_security(route),
        )(undocumented_body)
    return app


def _build() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        _documentation_resolver().get_openapi_json_schema(
            title=TITLE,
            version=VERSION,
            description=DESCRIPTION,
            security_schemes=SECURITY_SCHEMES,
        )
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _UNUSED_COMPONENTS:
        schemas.pop(name, None)
    paths = document["paths"]
    for route, model, what in (
        (routes.GENERATE_IMAGE, GenerateImageRequest, "The try-on request (JSON)."),
        (routes.SUBMIT_JOB, SubmitJobRequest, "The try-on job (JSON)."),
        (routes.CREATE_CLIENT_TOKEN, ClientTokenRequest, "The token's origin, lifetime and images (JSON)."),
    ):
        body, request_schemas = _request_body(model, route.path, what)
        schemas.update(request_schemas)
        paths[route.path][route.method.lower()]["requestBody"] = body
    paths[routes.SUBMIT_JOB.path]["post"]["parameters"] = [_IDEMPOTENCY_KEY_PARAMETER]
    for route in (routes.GET_JOB, routes.DELETE_JOB):
        paths[_openapi_path(route.path)][route.method.lower()]["parameters"] = [_JOB_ID_PARAMETER]
    paths[_openapi_path(routes.GET_JOB.path)]["get"]["parameters"].append(_IMAGES_PARAMETER)
    # 204 No Content has no body (Powertools would document one).
    paths[_openapi_path(routes.DELETE_JOB.path)]["delete"]["responses"]["204"].pop("content", None)
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    for methods in document["paths"].values():
        for operation in methods.values():
            _sort_responses(operation)
            if operation.get("security"):  # every answer to a limited key carries them
                for response in operation["responses"].values():
                    response.setdefault("headers", {}).update(
                        {"RateLimit-Policy": _RATELIMIT_POLICY, "RateLimit": _RATELIMIT}
                    )
    return document


_document: PerContainer[dict[str, Any]] = PerContainer(_build)


def openapi_document() -> dict[str, Any]:
    """The document as a fresh dict (built once per container)."""
    return copy.deepcopy(_document.get())


def openapi_json() -> str:
    """The document as the committed file holds it."""
    return json.dumps(_document.get(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tryon_api.http.openapi PATH", file=sys.stderr)
        return 2
    Path(args[0]).write_text(openapi_json(), encoding="utf-8")
    print(f"wrote {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The route table: every path, method and rule of the API, written once.

The resolver registers its handlers from it, the 404/405 answers and the ``Allow`` header read
it, the key check reads which routes are public, and the OpenAPI document is built from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A path parameter as Powertools' resolver writes it: ``/jobs/<job_id>`` (one path segment).
_PARAMETER = re.compile(r"<(\w+)>")


# Request headers the routes read, as function URLs deliver them (lower-case).
API_KEY_HEADER = "x-api-key"
IDEMPOTENCY_HEADER = "idempotency-key"
# Browser tokens (POST /client_tokens): "Authorization: Bearer <token>", valid only from its Origin.
AUTHORIZATION_HEADER = "authorization"
ORIGIN_HEADER = "origin"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    operation_id: str
    summary: str
    description: str | None = None
    # Answered without an API key: the playground page and the API document hold no data.
    public: bool = False
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        segments = _PARAMETER.split(self.path)
        regex = "".join(re.escape(part) if i % 2 == 0 else "[^/]+" for i, part in enumerate(segments))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))

    def matches(self, path: str) -> bool:
        return self.pattern.match(path) is not None


GENERATE_IMAGE = Route(
    "POST",
    "/generate_image",
    "generateImage",
    "Generate a try-on image",
    "Dress the person in the selfie in the described clothing (10 to 30 s on the production model).",
)
PLAYGROUND = Route("GET", "/", "getPlayground", "The try-on playground page", public=True)
OPENAPI_DOCUMENT = Route("GET", "/openapi.json", "getOpenApiDocument", "This API's OpenAPI document", public=True)

SUBMIT_JOB = Route(
    "POST",
    "/jobs",
    "submitJob",
    "Submit a try-on job",
    "Queue a try-on of 1 to 4 samples (seed, seed+1, ...); poll GET /jobs/{job_id} or get a signed webhook.",
)
GET_JOB = Route(
    "GET", "/jobs/<job_id>", "getJob", "A job's status and, once it has succeeded, its images (each with its seed)"
)
DELETE_JOB = Route("DELETE", "/jobs/<job_id>", "deleteJob", "Erase a job, its inputs and its results")

GET_USAGE = Route(
    "GET",
    "/usage",
    "getUsage",
    "The calling key's usage this month",
    "Images and generating requests this UTC month, and the key's limits (an API key only, not a browser token).",
)
CREATE_CLIENT_TOKEN = Route(
    "POST",
    "/client_tokens",
    "createClientToken",
    "Mint a short-lived browser token",
    "For a web page on one origin: Authorization: Bearer <token> on POST /generate_image, POST /jobs and the jobs it"
    " created, until it expires or has made max_images (an API key only; call it from your own server).",
)

ROUTES: tuple[Route, ...] = (
    GENERATE_IMAGE,
    SUBMIT_JOB,
    GET_JOB,
    DELETE_JOB,
    GET_USAGE,
    CREATE_CLIENT_TOKEN,
    PLAYGROUND,
    OPENAPI_DOCUMENT,
)


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods a path answers; empty for an unknown path (404), else a wrong method is a 405."""
    return tuple(route.method for route in ROUTES if route.matches(path))


def operation_for(method: str, path: str) -> str | None:
    """The operation id a request reaches, None when it reaches none (404 or 405)."""
    return next((route.operation_id for route in ROUTES if route.method == method and route.matches(path)), None)


def is_public(method: str, path: str) -> bool:
    return any(route.public and route.method == method and route.matches(path) for route in ROUTES)

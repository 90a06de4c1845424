"""The route table: every path, method and rule of the API, written once.

The resolver registers its handlers from it, the 404/405 answers and the ``Allow`` header read
it, the key check reads which routes are public, and the OpenAPI document is built from it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    operation_id: str
    summary: str
    description: str | None = None
    # Answered without an API key: the playground page and the API document hold no data.
    public: bool = False


GENERATE_IMAGE = Route(
    "POST",
    "/generate_image",
    "generateImage",
    "Generate a try-on image",
    "Dress the person in the selfie in the described clothing (10 to 30 s on the production model).",
)
PLAYGROUND = Route("GET", "/", "getPlayground", "The try-on playground page", public=True)
OPENAPI_DOCUMENT = Route("GET", "/openapi.json", "getOpenApiDocument", "This API's OpenAPI document", public=True)

ROUTES: tuple[Route, ...] = (GENERATE_IMAGE, PLAYGROUND, OPENAPI_DOCUMENT)


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods a path answers; empty for an unknown path (404), else a wrong method is a 405."""
    return tuple(route.method for route in ROUTES if route.path == path)


def is_public(method: str, path: str) -> bool:
    return any(route.public and route.method == method and route.path == path for route in ROUTES)

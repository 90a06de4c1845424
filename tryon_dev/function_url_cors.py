"""The function URL's CORS, played by the local server from the same rules as the deployment.

Deployed, CORS lives in one place: ``FunctionUrlConfig.Cors`` of ``TryOnFunction`` in
template.yaml. Lambda answers preflights (``OPTIONS`` with ``Access-Control-Request-Method``)
itself, without calling the function, and adds the CORS headers to the function's answers; the
function sets none (tryon_api/http/app.py), so a browser never sees a header twice. The local
server does the same with the rules read here from template.yaml (parameters at their
defaults, or as given), so a page behaves against ``make run`` as against the function URL.

The server calls ``function_url_cors`` once per request: it gets either the preflight's whole
answer (the function is not called) or the headers to add to the function's answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tryon_dev.stack_config import TEMPLATE, read_template


@dataclass(frozen=True)
class CorsRules:
    """A function URL's ``Cors`` block (AWS::Lambda::Url Cors; names lower-cased where HTTP is
    case-insensitive)."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    def origin_allowed(self, origin: str) -> bool:
        return "*" in self.allow_origins or origin in self.allow_origins

    def method_allowed(self, method: str) -> bool:
        return "*" in self.allow_methods or method.upper() in self.allow_methods

    def headers_allowed(self, requested: str) -> bool:
        names = {name.strip().lower() for name in requested.split(",") if name.strip()}
        return "*" in self.allow_headers or names <= set(self.allow_headers)

    def allow_origin_value(self, origin: str) -> str:
        # "*" may not be combined with credentials: then the origin itself is named.
        return "*" if "*" in self.allow_origins and not self.allow_credentials else origin


@dataclass(frozen=True)
class CorsAnswer:
    """What the URL does with one request: answer a preflight itself, or add headers."""

    preflight: tuple[int, dict[str, str]] | None  # (status, headers) of the URL's own answer
    headers: dict[str, str]  # added to the function's answer


def _strings(value: Any, parameters: Mapping[str, Any]) -> tuple[str, ...]:
    """A list of strings, or a ``!Ref`` to a (comma-delimited) list parameter."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        value = parameters[value["Ref"]]
        if isinstance(value, str):
            value = value.split(",")
    return tuple(str(item).strip() for item in value or ())


def cors_rules_from_template(template_path: Path = TEMPLATE, overrides: Mapping[str, str] | None = None) -> CorsRules:
    """The ``Cors`` of the function URL in ``template_path``, with parameter ``overrides``."""
    template = read_template(template_path)
    parameters: dict[str, Any] = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
    parameters.update(overrides or {})
    cors = template["Resources"]["TryOnFunction"]["Properties"]["FunctionUrlConfig"].get("Cors") or {}
    max_age = cors.get("MaxAge")
    return CorsRules(
        allow_origins=_strings(cors.get("AllowOrigins"), parameters),
        allow_methods=tuple(m.upper() for m in _strings(cors.get("AllowMethods"), parameters)),
        allow_headers=tuple(h.lower() for h in _strings(cors.get("AllowHeaders"), parameters)),
        expose_headers=tuple(h.lower() for h in _strings(cors.get("ExposeHeaders"), parameters)),
        max_age=int(max_age) if max_age is not None else None,
        allow_credentials=bool(cors.get("AllowCredentials", False)),
    )


@cache
def template_cors_rules() -> CorsRules:
    """The deployed rules (parameters at their defaults), read once."""
    return cors_rules_from_template()


def function_url_cors(rules: CorsRules, method: str, headers: Mapping[str, str]) -> CorsAnswer:
    """What the function URL does for one request's CORS. ``headers``: the request's headers."""
    lowered = {name.lower(): value for name, value in headers.items()}
    origin = lowered.get("origin")
    requested_method = lowered.get("access-control-request-method")
    if method.upper() == "OPTIONS" and origin is not None and requested_method is not None:
        allowed = (
            rules.origin_allowed(origin)
            and rules.method_allowed(requested_method)
            and rules.headers_allowed(lowered.get("access-control-request-headers", ""))
        )
        if not allowed:  # no Access-Control-Allow-* headers: the browser refuses the call
            return CorsAnswer(preflight=(200, {}), headers={})
        answer = {
            "Access-Control-Allow-Origin": rules.allow_origin_value(origin),
            "Access-Control-Allow-Methods": ", ".join(rules.allow_methods),
            "Access-Control-Allow-Headers": ", ".join(rules.allow_headers),
        }
        if rules.max_age is not None:
            answer["Access-Control-Max-Age"] = str(rules.max_age)
        if rules.allow_credentials:
            answer["Access-Control-Allow-Credentials"] = "true"
        if answer["Access-Control-Allow-Origin"] != "*":
            answer["Vary"] = "Origin"
        return CorsAnswer(preflight=(200, answer), headers={})
    if origin is None or not rules.origin_allowed(origin):
        return CorsAnswer(preflight=None, headers={})
    added = {"Access-Control-Allow-Origin": rules.allow_origin_value(origin)}
    if rules.expose_headers:
        added["Access-Control-Expose-Headers"] = ", ".join(rules.expose_headers)
    if rules.allow_credentials:
        added["Access-Control-Allow-Credentials"] = "true"
    if added["Access-Control-Allow-Origin"] != "*":
        added["Vary"] = "Origin"
    return CorsAnswer(preflight=None, headers=added)

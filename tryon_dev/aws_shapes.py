"""Answers of our loopback AWS emulators checked against botocore's own service models.

An emulator builds a JSON answer by hand; ``check_output`` holds it against the operation's
output shape in the installed botocore (required members, enum values, types, nested
structures and lists), so an answer a real client would misread fails here instead of passing
a test. Only the JSON protocols' body members are checked (what the emulators answer).
"""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StructureShape

_SESSION = botocore.session.get_session()
_SCALARS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "double": (int, float),
    "float": (int, float),
    "timestamp": (int, float, str),
    "blob": (str,),
}


class ShapeMismatch(ValueError):
    """An emulator's answer that botocore's model does not describe."""


def _check(value: Any, shape: Shape, path: str) -> None:
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise ShapeMismatch(f"{path}: expected an object ({shape.name}), got {type(value).__name__}")
        body_members = {n: m for n, m in shape.members.items() if m.serialization.get("location") is None}
        unknown = set(value) - set(body_members)
        if unknown:
            raise ShapeMismatch(f"{path}: members {sorted(unknown)} are not in {shape.name}")
        missing = [n for n in shape.required_members if n in body_members and n not in value]
        if missing:
            raise ShapeMismatch(f"{path}: required members {missing} of {shape.name} are missing")
        for name, item in value.items():
            _check(item, body_members[name], f"{path}.{name}")
    elif isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise ShapeMismatch(f"{path}: expected a list ({shape.name})")
        for index, item in enumerate(value):
            _check(item, shape.member, f"{path}[{index}]")
    elif isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise ShapeMismatch(f"{path}: expected a map ({shape.name})")
        for key, item in value.items():
            _check(key, shape.key, f"{path} key")
            _check(item, shape.value, f"{path}[{key!r}]")
    else:
        expected = _SCALARS.get(shape.type_name, (object,))
        if (isinstance(value, bool) and bool not in expected) or not isinstance(value, expected):
            raise ShapeMismatch(f"{path}: expected {shape.type_name} ({shape.name}), got {value!r}")
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            raise ShapeMismatch(f"{path}: {value!r} is not one of {shape.name}'s values {list(enum)}")


def check_output(service: str, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` unchanged when it fits the operation's output shape; ``ShapeMismatch`` otherwise."""
    model = _SESSION.get_service_model(service).operation_model(operation)
    if model.output_shape is None:
        if body:
            raise ShapeMismatch(f"{service}.{operation} has no output, got {sorted(body)}")
        return body
    _check(body, model.output_shape, f"{service}.{operation}")
    return body


def http_route(service: str, operation: str) -> tuple[str, str, int]:
    """The operation's method, request URI template and success status, from the model."""
    http = _SESSION.get_service_model(service).operation_model(operation).http
    return str(http["method"]), str(http["requestUri"]), int(http.get("responseCode", 200))

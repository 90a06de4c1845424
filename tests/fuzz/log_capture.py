"""Capture the JSON lines Powertools Logger writes, and the checks every line and body must pass."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{200,}")
INTERNAL_MARKERS = ("Traceback", 'File "', "/work/", "site-packages", "tryon_api/", "tryon_dev/", '.py"', ".py:")


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Point the service's log handler (which children share) at a buffer for the block."""
    from tryon_api.http.app import logger

    handler = logger.registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]


def log_records(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def assert_nothing_leaks(text: str, secrets: tuple[str, ...] = ()) -> None:
    """No traceback or internal path, no secret value, no image data, no garment query string."""
    for marker in INTERNAL_MARKERS:
        assert marker not in text, f"internal detail {marker!r} leaked"
    for secret in secrets:
        assert secret not in text, "a secret value leaked"
    match = BASE64_RUN.search(text)
    assert match is None, f"a {len(match.group(0)) if match else 0}-char base64 run leaked"

"""Scrub what must never reach the logs, whoever logs it: image data and URL query strings.

A filter on the Powertools handler sees every record of the service's loggers (children
propagate to it), so a future log line that carries a garment URL or a stray payload is
cleaned before it is written. Keys and secrets are never logged in the first place.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# Base64 (either alphabet) longer than any id or hash we log: image data.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{120,}={0,2}")
# A URL's query string and fragment can carry signatures and tokens (pre-signed URLs).
_URL_QUERY = re.compile(r"(?i)\b((?:https?|s3)://[^\s?#\"'<>]*)[?#][^\s\"'<>]*")
# Attributes every LogRecord has; anything else came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def redact(text: str) -> str:
    text = _URL_QUERY.sub(r"\1?[redacted]", text)
    return _BASE64_RUN.sub(lambda m: f"[redacted {len(m.group(0))} chars]", text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_clean(v) for v in value)
    return value


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _clean(record.msg)
        if record.args:
            record.args = _clean(record.args)
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRIBUTES:
                setattr(record, name, _clean(value))
        return True


def install_log_redaction(handler: logging.Handler) -> None:
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())

"""API-key authentication: keys from Secrets Manager (or local settings), compared in constant time.

The secret holds one key as a plain string or ``{"api_keys": ["k1", "k2"]}`` so that a key can
be rotated with two live at once. An unknown key triggers at most one forced refresh of the
secret per refresh interval: a new key works within a minute, a flood of bad keys cannot hammer
the secret store. Any failure to read the keys fails closed (503), never open.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from tryon_api.tryon.errors import DependencyUnavailable, Unauthorized

logger = Logger(child=True)

MAX_KEY_LENGTH = 512
# RFC 9110 "OWS": the only characters around a header value that are not part of it.
HTTP_OPTIONAL_WHITESPACE = " \t"
# Repeated headers are joined with commas (function URLs, RFC 9110 section 5.3): never one key.
MULTIPLE_VALUES_SEPARATOR = ","
KeyLoader = Callable[[bool], Sequence[str]]


def parse_api_key_secret(value: Any) -> tuple[str, ...]:
    """Accept a plain key, or JSON ``{"api_keys": [...]}`` (``{"api_key": "..."}`` too)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise DependencyUnavailable("authentication is unavailable, retry later")
    text = value.strip()
    keys: list[Any]
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        raw = document.get("api_keys", document.get("api_key")) if isinstance(document, dict) else None
        keys = raw if isinstance(raw, list) else [raw]
    else:
        keys = [text]
    valid = tuple(k.strip() for k in keys if isinstance(k, str) and k.strip())
    if not valid:
        logger.error("the api key secret holds no usable key")
        raise DependencyUnavailable("authentication is unavailable, retry later")
    return valid


def secrets_manager_key_loader(provider: SecretsProvider, secret_id: str, max_age: int) -> KeyLoader:
    def load(force: bool) -> Sequence[str]:
        try:
            value = provider.get(secret_id, max_age=max_age, force_fetch=force)
        except GetParameterError as exc:
            # The message names the secret; log the kind and AWS error code only.
            cause = exc.__cause__ or exc.__context__
            code = getattr(cause, "response", {}).get("Error", {}).get("Code", "") if cause else ""
            logger.error("api key secret could not be read", extra={"cause": type(cause).__name__, "code": code})
            raise DependencyUnavailable("authentication is unavailable, retry later") from None
        return parse_api_key_secret(value)

    return load


def static_key_loader(keys: Sequence[str]) -> KeyLoader:
    frozen = tuple(keys)

    def load(force: bool) -> Sequence[str]:
        if not frozen:
            logger.error("no api key is configured")
            raise DependencyUnavailable("authentication is unavailable, retry later")
        return frozen

    return load


def _matches(presented: bytes, keys: Sequence[str]) -> bool:
    found = False
    for key in keys:  # every key is compared: the time does not tell which one matched
        found |= hmac.compare_digest(presented, key.encode("utf-8"))
    return found


class ApiKeyVerifier:
    def __init__(
        self,
        load_keys: KeyLoader,
        refresh_interval_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load_keys = load_keys
        self._refresh_interval = refresh_interval_seconds
        self._clock = clock
        self._last_forced: float | None = None
        self._lock = threading.Lock()

    def verify(self, presented: str | None) -> None:
        """Return if the key is valid; raise ``Unauthorized`` or ``DependencyUnavailable``.

        Only HTTP's optional whitespace (space, tab) is trimmed; anything else is part of the
        value and must match exactly. A header sent several times arrives joined by commas (as a
        function URL joins repeated headers), and is never a key: 401.
        """
        if not presented or len(presented) > MAX_KEY_LENGTH:
            raise Unauthorized()
        trimmed = presented.strip(HTTP_OPTIONAL_WHITESPACE)
        if not trimmed or MULTIPLE_VALUES_SEPARATOR in trimmed:
            raise Unauthorized()
        candidate = trimmed.encode("utf-8", "replace")
        keys = self._load_keys(False)
        with self._lock:
            if self._last_forced is None:  # the first load was a fetch: count it as one
                self._last_forced = self._clock()
        if _matches(candidate, keys):
            return
        if self._may_force_refresh() and _matches(candidate, self._load_keys(True)):
            return
        raise Unauthorized()

    def accepts(self, presented: str) -> bool:
        """``verify`` as a yes or no (a store failure still raises ``DependencyUnavailable``)."""
        try:
            self.verify(presented)
        except Unauthorized:
            return False
        return True

    def _may_force_refresh(self) -> bool:
        with self._lock:
            now = self._clock()
            if self._last_forced is not None and now - self._last_forced < self._refresh_interval:
                return False
            self._last_forced = now
            return True

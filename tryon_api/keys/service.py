"""Who is calling, and may they: the credential check, the per-minute limit, the monthly image
quota, browser tokens and the RateLimit headers, over one ``KeyStore``.

Kept free of HTTP: the front hands in the request's method, route, credential headers and Origin
and maps the errors raised here to statuses (tryon_api/tryon/errors.py).

When the store cannot be reached, a limited key (or any token) is refused with 503: its limits
cannot be checked, and unlimited use is what a limit exists to prevent. An unlimited key is
served and the lost count is logged, since there was nothing to enforce.
"""

from __future__ import annotations

import calendar
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from tryon_api.keys.credentials import (
    HTTP_OPTIONAL_WHITESPACE,
    MAX_KEY_LENGTH,
    ORIGIN,
    TokenClaims,
    legacy_key_id,
    new_key_id,
    new_secret,
    read_token,
    secret_digest,
    secret_matches,
    sign_token,
    split_managed_key,
)
from tryon_api.keys.interface import (
    GENERATING_OPERATIONS,
    RATE_WINDOW_SECONDS,
    TOKEN_OPERATIONS,
    Caller,
    CounterStoreUnavailable,
    KeyRecord,
    KeyStore,
    MonthUsage,
    QuotaRefused,
    minute_window,
    month_of,
    seconds_until_next_minute,
    seconds_until_next_month,
)
from tryon_api.tryon.errors import DependencyUnavailable, ImageQuotaExhausted, KeyRateLimitExceeded, Unauthorized

logger = Logger(child=True)

LIMITS_UNAVAILABLE = "usage limits are unavailable, retry later"
AUTH_UNAVAILABLE = "authentication is unavailable, retry later"
# Records cached per container: a revoked key stops everywhere within this (and at once for
# anything that counts images, through the month counter's mark).
MAX_CACHED_RECORDS = 10_000
MIN_TOKEN_TTL, MAX_TOKEN_TTL = 60, 3600
MIN_TOKEN_IMAGES, MAX_TOKEN_IMAGES = 1, 20
DEFAULT_TOKEN_TTL_SECONDS, DEFAULT_TOKEN_IMAGES = 600, 4
MAX_NAME_LENGTH = 100

LegacyCheck = Callable[[str], bool]
TokenSecret = Callable[[], bytes]


@dataclass(frozen=True)
class NewKey:
    record: KeyRecord
    key: str  # shown once


def create_key(store: KeyStore, name: str, per_minute: int | None, per_month: int | None) -> NewKey:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"a key's name is 1 to {MAX_NAME_LENGTH} characters")
    for label, value in (("per-minute", per_minute), ("per-month", per_month)):
        if value is not None and value < 1:
            raise ValueError(f"--{label} must be a positive number")
    key_id, secret = new_key_id(), new_secret()
    record = KeyRecord(key_id, name, secret_digest(secret), per_minute, per_month, "active", time.time())
    store.create(record)
    return NewKey(record, f"{key_id}.{secret}")


class KeyService:
    def __init__(
        self,
        store: KeyStore,
        legacy_check: LegacyCheck,
        token_secret: TokenSecret,
        *,
        record_max_age_seconds: float = 30.0,
        clock: Callable[[], float] = time.time,
        on_images: Callable[[str, int], None] | None = None,
    ) -> None:
        self.store = store
        self._legacy_check = legacy_check
        self._token_secret = token_secret
        self._max_age = record_max_age_seconds
        self._clock = clock
        self._on_images = on_images
        self._records: OrderedDict[str, tuple[float, KeyRecord | None]] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ credentials
    def authenticate(
        self, operation: str, api_key: str | None, authorization: str | None, origin: str | None
    ) -> Caller:
        """The verified caller, or ``Unauthorized`` (one answer for every bad credential)."""
        if authorization is not None and (api_key is None or _is_bearer(authorization)):
            if api_key is not None:  # a key and a token: which one is meant is anyone's guess
                raise Unauthorized()
            return self._token_caller(operation, authorization, origin)
        # (An Authorization of another scheme beside an API key, as some proxies add, is not ours.)
        if api_key is None:
            raise Unauthorized()
        presented = api_key.strip(HTTP_OPTIONAL_WHITESPACE)
        parts = split_managed_key(presented) if len(presented) <= MAX_KEY_LENGTH else None
        if parts is None:
            # A plain key (the secret's list or TRYON_API_KEYS): unlimited, as before named keys.
            if not self._legacy_check(api_key):
                raise Unauthorized()
            return Caller(key_id=legacy_key_id(presented), owner_seed=presented)
        record = self._record(parts[0])
        if record is None or not record.active or not secret_matches(parts[1], record.secret_sha256):
            raise Unauthorized()
        return Caller(
            key_id=record.id,
            owner_seed=presented,
            per_minute=record.per_minute,
            per_month=record.per_month,
            name=record.name,
        )

    def _record(self, key_id: str) -> KeyRecord | None:
        now = time.monotonic()
        with self._lock:
            cached = self._records.get(key_id)
            if cached is not None and now - cached[0] < self._max_age:
                return cached[1]
        try:
            record = self.store.get(key_id)
        except CounterStoreUnavailable as exc:
            logger.error("key records could not be read", extra={"cause": str(exc)})
            raise DependencyUnavailable(AUTH_UNAVAILABLE) from None
        with self._lock:
            self._records[key_id] = (now, record)
            self._records.move_to_end(key_id)
            while len(self._records) > MAX_CACHED_RECORDS:
                self._records.popitem(last=False)
        return record

    def _token_caller(self, operation: str, authorization: str, origin: str | None) -> Caller:
        scheme, _, token = authorization.strip(HTTP_OPTIONAL_WHITESPACE).partition(" ")
        if scheme.lower() != "bearer" or operation not in TOKEN_OPERATIONS:
            raise Unauthorized()
        try:
            secret = self._token_secret()
        except Exception as exc:  # noqa: BLE001 - whatever the secret store said: no token can be checked
            _log_secret_failure(exc)
            raise DependencyUnavailable(AUTH_UNAVAILABLE) from None
        claims = read_token(token.strip(HTTP_OPTIONAL_WHITESPACE), secret)
        if claims is None or claims.expires_at <= self._clock() or origin is None or origin != claims.origin:
            raise Unauthorized()
        return Caller(
            key_id=claims.key_id,
            owner_seed=f"token:{claims.token_id}",
            per_minute=claims.per_minute,
            per_month=claims.per_month,
            token_id=claims.token_id,
            token_max_images=claims.max_images,
            token_expires_at=claims.expires_at,
        )

    # ------------------------------------------------------------------ limits
    def admit(self, caller: Caller, operation: str) -> None:
        """Count a generating request against the per-minute limit (before its body is read)."""
        if operation not in GENERATING_OPERATIONS or caller.per_minute is None:
            return
        now = self._clock()
        try:
            used = self.store.count_request(caller.key_id, minute_window(now), caller.per_minute)
        except CounterStoreUnavailable as exc:
            logger.error("usage counters could not be updated", extra={"key_id": caller.key_id, "cause": str(exc)})
            raise DependencyUnavailable(LIMITS_UNAVAILABLE) from None
        if used is None:
            caller.minute_used = caller.per_minute
            raise KeyRateLimitExceeded(retry_after=seconds_until_next_minute(now))
        caller.minute_used = used

    def reserve_images(self, caller: Caller, images: int) -> Callable[[], None]:
        """Count ``images`` against the month's quota (and the token's); returns the refund, to
        call if they are never made. Raises 429 over the quota, 401 for a spent or revoked token."""
        now = self._clock()
        month = month_of(now)
        token = None
        if caller.token_id is not None and caller.token_max_images is not None:
            token = (caller.token_id, caller.token_max_images, int(caller.token_expires_at or now))
        must_count = caller.limited or token is not None
        try:
            caller.month_images = self.store.reserve_images(caller.key_id, month, images, caller.per_month, token)
        except QuotaRefused as refused:
            if refused.reason == "quota":
                raise ImageQuotaExhausted(retry_after=seconds_until_next_month(now)) from None
            raise Unauthorized() from None
        except CounterStoreUnavailable as exc:
            logger.error("usage counters could not be updated", extra={"key_id": caller.key_id, "cause": str(exc)})
            if must_count:
                raise DependencyUnavailable(LIMITS_UNAVAILABLE) from None
            return lambda: None  # an unlimited key: served, its count lost (logged)
        if self._on_images is not None:
            self._on_images(caller.key_id, images)

        def refund() -> None:
            try:
                self.store.release_images(caller.key_id, month, images, caller.token_id)
            except Exception as exc:  # noqa: BLE001 - a refund is best effort; the count stays high
                logger.warning(
                    "images not given back", extra={"key_id": caller.key_id, "error_type": type(exc).__name__}
                )
            else:
                if caller.month_images is not None:
                    caller.month_images -= images

        return refund

    def usage(self, caller: Caller) -> MonthUsage:
        try:
            return self.store.month_usage(caller.key_id, month_of(self._clock()))
        except CounterStoreUnavailable:
            raise DependencyUnavailable(LIMITS_UNAVAILABLE) from None

    def rate_limit_headers(self, caller: Caller) -> dict[str, str]:
        """IETF RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers) for a limited
        key: a "minute" policy of generating requests, a "month" policy of images."""
        if not caller.limited:
            return {}
        now = self._clock()
        policies, states = [], []
        try:
            if caller.per_minute is not None:
                used = caller.minute_used
                if used is None:
                    used = self.store.minute_count(caller.key_id, minute_window(now))
                policies.append(f'"minute";q={caller.per_minute};w={RATE_WINDOW_SECONDS}')
                states.append(f'"minute";r={max(0, caller.per_minute - used)};t={seconds_until_next_minute(now)}')
            if caller.per_month is not None:
                images = caller.month_images
                if images is None:
                    images = self.store.month_usage(caller.key_id, month_of(now)).images
                until = seconds_until_next_month(now)
                policies.append(f'"month";q={caller.per_month};w={_month_window(now)}')
                states.append(f'"month";r={max(0, caller.per_month - images)};t={until}')
        except CounterStoreUnavailable:
            return {}
        return {"RateLimit-Policy": ", ".join(policies), "RateLimit": ", ".join(states)}

    # ------------------------------------------------------------------ browser tokens
    def mint_token(self, caller: Caller, origin: str, ttl_seconds: int, max_images: int) -> tuple[str, int]:
        if caller.is_token:
            raise Unauthorized()
        claims = TokenClaims(
            token_id=secrets.token_urlsafe(16),
            key_id=caller.key_id,
            origin=origin,
            expires_at=int(self._clock()) + ttl_seconds,
            max_images=max_images,
            per_minute=caller.per_minute,
            per_month=caller.per_month,
        )
        try:
            secret = self._token_secret()
        except Exception as exc:  # noqa: BLE001 - whatever the secret store said: no token can be signed
            _log_secret_failure(exc)
            raise DependencyUnavailable(AUTH_UNAVAILABLE) from None
        return sign_token(claims, secret), claims.expires_at


def _is_bearer(authorization: str) -> bool:
    return authorization.strip(HTTP_OPTIONAL_WHITESPACE)[:7].lower() == "bearer "


def _log_secret_failure(exc: BaseException) -> None:
    # The kind and AWS error code only: a message may name the secret.
    cause = exc.__cause__ or exc
    code = getattr(cause, "response", {}).get("Error", {}).get("Code", "")
    logger.error("the token signing secret could not be read", extra={"cause": type(cause).__name__, "code": code})


def _month_window(now: float) -> int:
    """Seconds in the current UTC month: the month policy's window."""
    start = time.gmtime(now)
    first = calendar.timegm((start.tm_year, start.tm_mon, 1, 0, 0, 0))
    return int(now) - first + seconds_until_next_month(now)


def valid_origin(origin: object) -> bool:
    return isinstance(origin, str) and ORIGIN.match(origin) is not None

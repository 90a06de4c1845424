"""What crosses the keys package's boundary: a key's record, who is calling, and the store
interface its adapters implement (DynamoDB on AWS, SQLite locally).

A key's secret never reaches a store: records hold its SHA-256 (the secret is 256 random bits,
so a plain digest cannot be searched). Counters are the store's own atomic operations, so a
limit holds across every container and thread at once.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass
from typing import Literal, Protocol

KeyState = Literal["active", "revoked"]
# What a browser token may do: the routes it covers (the jobs it created are checked by owner).
TOKEN_OPERATIONS: frozenset[str] = frozenset({"generateImage", "submitJob", "getJob", "deleteJob"})
# The routes whose requests count against the per-minute limit.
GENERATING_OPERATIONS: frozenset[str] = frozenset({"generateImage", "submitJob"})
RATE_WINDOW_SECONDS = 60


class CounterStoreUnavailable(Exception):
    """The store that holds counters or records could not be reached (or answered an error)."""


@dataclass(frozen=True)
class KeyRecord:
    id: str  # public: safe to log and show
    name: str
    secret_sha256: str  # hex digest of the secret part of the key
    per_minute: int | None  # generating requests per UTC minute; None: unlimited
    per_month: int | None  # images per UTC calendar month; None: unlimited
    state: KeyState
    created_at: float

    @property
    def active(self) -> bool:
        return self.state == "active"


@dataclass(frozen=True)
class MonthUsage:
    month: str  # YYYY-MM (UTC)
    images: int
    requests: int


@dataclass
class Caller:
    """Who a request comes from, once its credential is verified."""

    key_id: str
    owner_seed: str  # what job_owner() digests: the key itself, or "token:<jti>"
    per_minute: int | None = None
    per_month: int | None = None
    name: str = ""
    # Browser tokens only.
    token_id: str | None = None
    token_max_images: int | None = None
    token_expires_at: int | None = None
    # What the request learned about its counters (for the RateLimit headers).
    minute_used: int | None = None
    month_images: int | None = None

    @property
    def is_token(self) -> bool:
        return self.token_id is not None

    @property
    def limited(self) -> bool:
        return self.per_minute is not None or self.per_month is not None


class QuotaRefused(Exception):
    """A reservation refused: the month's quota (``"quota"``), the token's images (``"token"``)
    or a key revoked since the caller was verified (``"revoked"``)."""

    def __init__(self, reason: Literal["quota", "token", "revoked"]) -> None:
        super().__init__(reason)
        self.reason = reason


class KeyStore(Protocol):
    def create(self, record: KeyRecord) -> None: ...

    def get(self, key_id: str) -> KeyRecord | None: ...

    def list_keys(self) -> list[KeyRecord]: ...

    def revoke(self, key_id: str, now: float) -> bool:
        """Mark the key revoked (and its counters, so tokens stop at once); False if unknown."""
        ...

    def count_request(self, key_id: str, window_start: int, limit: int | None) -> int | None:
        """Add one request to the key's minute window; None (and nothing added) if at the limit."""
        ...

    def minute_count(self, key_id: str, window_start: int) -> int: ...

    def reserve_images(
        self,
        key_id: str,
        month: str,
        images: int,
        limit: int | None,
        token: tuple[str, int, int] | None = None,
    ) -> int:
        """Count ``images`` (and one request) in the key's month, all or nothing; with ``token``
        ``(token_id, max_images, expires_at)`` also within the token's own images. Returns the
        month's images after the reservation; raises ``QuotaRefused``."""
        ...

    def release_images(self, key_id: str, month: str, images: int, token_id: str | None = None) -> None:
        """Give back a reservation whose images were never made."""
        ...

    def month_usage(self, key_id: str, month: str) -> MonthUsage: ...


def month_of(now: float) -> str:
    return time.strftime("%Y-%m", time.gmtime(now))


def next_month_of(now: float) -> str:
    return month_of(seconds_until_next_month(now) + now)


def seconds_until_next_month(now: float) -> int:
    t = time.gmtime(now)
    year, month = (t.tm_year + 1, 1) if t.tm_mon == 12 else (t.tm_year, t.tm_mon + 1)
    return max(1, calendar.timegm((year, month, 1, 0, 0, 0)) - int(now))


def minute_window(now: float) -> int:
    return int(now) // RATE_WINDOW_SECONDS * RATE_WINDOW_SECONDS


def seconds_until_next_minute(now: float) -> int:
    return max(1, minute_window(now) + RATE_WINDOW_SECONDS - int(now))

"""What the jobs code asks of a result-link adapter: a URL for one stored result that works until
a given time and is refused (403) after it, or once altered, or once its object is deleted."""

from __future__ import annotations

from typing import Protocol


class ResultLinks(Protocol):
    def link(self, key: str, expires_at: int) -> str:
        """An absolute http(s) URL that answers the blob ``key``'s bytes until ``expires_at``
        (epoch seconds)."""
        ...


def link_expiry(now: float, ttl_seconds: int, job_expires_at: int) -> int:
    """When a link handed out ``now`` stops working: after its lifetime, never after its job."""
    return min(int(now) + ttl_seconds, int(job_expires_at))

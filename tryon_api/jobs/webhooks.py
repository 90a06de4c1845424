"""Webhooks: the signature on every delivery, its reference check, and the guarded delivery.

Signature: ``X-TryOn-Timestamp: <unix seconds>`` and ``X-TryOn-Signature: v1=<hex HMAC-SHA256(secret,
"<timestamp>.<body>")>``. A receiver recomputes it over the raw body and refuses a timestamp more
than ``REPLAY_WINDOW_SECONDS`` old, so a captured delivery cannot be replayed later
(``verify_signature`` is the check docs/API.md shows).

The URL passes the garment URLs' SSRF guard (``tryon.garment_url`` through the fetcher's own
``check_target``): resolved once, every address checked, and the connection pinned to the checked
address, at submit time and again at each delivery (DNS may answer differently later).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import BadRequest, TryOnError
from tryon_api.tryon.garment_url import UrlNotAllowed

if TYPE_CHECKING:
    from tryon_api.tryon.garment_url import FetchTarget

TIMESTAMP_HEADER: Final = "X-TryOn-Timestamp"
SIGNATURE_HEADER: Final = "X-TryOn-Signature"
SIGNATURE_VERSION: Final = "v1"
REPLAY_WINDOW_SECONDS: Final = 300
# Delays before each retry of a failed delivery (SQS DelaySeconds): about 8 minutes in all.
RETRY_DELAYS_SECONDS: Final = (10, 30, 60, 120, 240)
DELIVERY_TIMEOUT_SECONDS: Final = 10.0
MAX_WEBHOOK_URL_CHARS: Final = 2048

WEBHOOK_NOT_ALLOWED: Final = "webhook_url is not allowed"
WEBHOOK_UNREACHABLE: Final = "webhook_url could not be resolved"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify_signature(
    secret: str, body: bytes, timestamp_header: str | None, signature_header: str | None, now: float | None = None
) -> bool:
    """The receiver's check: a fresh timestamp (within the replay window) and a matching HMAC."""
    if not timestamp_header or not signature_header or not timestamp_header.isdigit():
        return False
    timestamp = int(timestamp_header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > REPLAY_WINDOW_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signature_header.strip())


class WebhookGuard:
    """The garment URLs' SSRF guard, applied to webhook URLs (with webhook messages)."""

    def __init__(self, *, allow_private: bool, allowed_ports: Iterable[int]) -> None:
        from tryon_api.tryon.garment_fetch import GarmentImageFetcher  # requests: only with webhooks

        self.fetcher = GarmentImageFetcher(
            allow_private=allow_private,
            timeout_seconds=DELIVERY_TIMEOUT_SECONDS,
            max_bytes=1,
            allowed_ports=allowed_ports,
        )

    def check_garment(self, url: str, deadline: Deadline) -> FetchTarget:
        """A garment URL checked at submit time (the synchronous call's messages), fetched later."""
        return self.fetcher.check_target(url, deadline)

    def check(self, url: str, deadline: Deadline) -> FetchTarget:
        """The checked target (pinned addresses), or a 400 that names webhook_url."""
        if len(url) > MAX_WEBHOOK_URL_CHARS:
            raise BadRequest(f"webhook_url must be at most {MAX_WEBHOOK_URL_CHARS} characters")
        try:
            return self.fetcher.check_target(url, deadline)
        except UrlNotAllowed as refused:  # the same reason, naming this field
            raise UrlNotAllowed(refused.reason, "webhook_url") from None
        except BadRequest:
            raise BadRequest(WEBHOOK_NOT_ALLOWED) from None
        except TryOnError:  # the host did not resolve in time, or at all
            raise BadRequest(WEBHOOK_UNREACHABLE) from None


@dataclass(frozen=True)
class DeliveryResult:
    delivered: bool
    status: int | None = None  # the receiver's HTTP status, None when it was not reached
    reason: str = ""


class WebhookSender:
    """POST a signed body to a webhook URL through the guard, pinned to the checked address."""

    def __init__(
        self, guard: WebhookGuard, secret: str | Callable[[], str], timeout_seconds: float = DELIVERY_TIMEOUT_SECONDS
    ) -> None:
        """``secret``: the key, or a function that reads it when a delivery is signed. On AWS only the
        worker's role may read the webhook secret, so the API's container must never fetch it."""
        self.guard = guard
        self.read_secret: Callable[[], str] = secret if callable(secret) else (lambda: secret)
        self.timeout_seconds = timeout_seconds

    def deliver(self, url: str, body: bytes, now: float | None = None) -> DeliveryResult:
        import requests

        from tryon_api.tryon.garment_fetch import PinnedAddressAdapter, SocketWatchdog

        deadline = Deadline.after(self.timeout_seconds)
        try:
            target = self.guard.check(url, deadline)
        except BadRequest as refused:
            return DeliveryResult(False, None, refused.message)
        headers = {**signed_headers(self.read_secret(), body, now), "User-Agent": "tryon-webhook"}
        with SocketWatchdog(self.timeout_seconds) as watchdog, requests.Session() as session:
            session.trust_env = False
            adapter = PinnedAddressAdapter(target, watchdog)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            try:
                response = session.post(
                    target.url, data=body, headers=headers, timeout=self.timeout_seconds, allow_redirects=False
                )
                response.close()
            except (requests.RequestException, OSError) as error:
                return DeliveryResult(False, None, type(error).__name__)
            finally:
                adapter.close()
        return DeliveryResult(200 <= response.status_code < 300, response.status_code, f"status {response.status_code}")

"""Webhooks as the Standard Webhooks specification (standardwebhooks.com) has them: signed, retried
on a schedule spanning more than a day, guarded against pointing inside.

Every delivery carries ``webhook-id`` (one per event, the same on every retry of it, so a receiver
drops duplicates), ``webhook-timestamp`` (this attempt's Unix seconds) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` under the ``whsec_`` secret's key). The
signing is the ``standardwebhooks`` package's own (the one receivers verify with), not ours.
The body is ``{"type": "job.succeeded" | "job.failed", "timestamp": ..., "data": <the job>}``.

Retries: ``RETRY_SCHEDULE_SECONDS`` after each failed attempt (Standard Webhooks' suggested
schedule, about 27.5 hours in all). No Lambda waits: a retry is a queue message whose wait is
chained through SQS delays of at most 14 minutes (``QueueMessage.due_at``).

The URL passes the garment URLs' SSRF guard (``tryon.garment_url`` through the fetcher's own
``check_target``): resolved once, every address checked, and the connection pinned to the checked
address, at submit time and again at each delivery (DNS may answer differently later).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import BadRequest, TryOnError
from tryon_api.tryon.garment_url import UrlNotAllowed

if TYPE_CHECKING:
    from tryon_api.tryon.garment_url import FetchTarget

ID_HEADER: Final = "webhook-id"
TIMESTAMP_HEADER: Final = "webhook-timestamp"
SIGNATURE_HEADER: Final = "webhook-signature"
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the format prefix, not a secret
# The wait after each failed attempt before the next (attempt n+1 comes RETRY_SCHEDULE_SECONDS[n-1]
# after attempt n failed): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, as Standard Webhooks suggests.
RETRY_SCHEDULE_SECONDS: Final = (5, 300, 1800, 7200, 18000, 36000, 36000)
# From the first attempt to the last: how long a job with a webhook is kept at least.
RETRY_SPAN_SECONDS: Final = sum(RETRY_SCHEDULE_SECONDS)
# A longer wait is a chain of delayed messages of at most this: under SQS's 900-second DelaySeconds
# bound, and under the jobs-oldest-message-age alarm's 15 minutes, so a waiting retry never looks
# like a queue backing up.
MAX_HOP_SECONDS: Final = 840
DELIVERY_TIMEOUT_SECONDS: Final = 10.0
MAX_WEBHOOK_URL_CHARS: Final = 2048

WEBHOOK_NOT_ALLOWED: Final = "webhook_url is not allowed"
WEBHOOK_UNREACHABLE: Final = "webhook_url could not be resolved"


class WebhookSecretError(ValueError):
    """A webhook secret that is not ``whsec_`` followed by base64 of at least 16 bytes."""


def signing_secret(secret: str) -> str:
    """The secret as Standard Webhooks writes it (``whsec_<base64>``); a bare base64 value (the
    template's generated secret) gets the prefix. Anything else is refused."""
    value = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookSecretError("the webhook secret must be whsec_ followed by base64") from None
    if len(key) < 16:
        raise WebhookSecretError("the webhook secret must hold at least 16 bytes")
    return SECRET_PREFIX + value


def webhook_id(job_id: str) -> str:
    """One event per job (it ends once), so its id is the job's: the same on every retry."""
    return f"msg_{job_id}"


def signed_headers(secret: str, message_id: str, body: bytes, now: float | None = None) -> dict[str, str]:
    from standardwebhooks import Webhook

    moment = datetime.fromtimestamp(int(time.time() if now is None else now), UTC)
    return {
        "Content-Type": "application/json",
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(int(moment.timestamp())),
        SIGNATURE_HEADER: Webhook(signing_secret(secret)).sign(message_id, moment, body),
    }


def next_attempt_due(attempt: int, failed_at: float) -> int | None:
    """When attempt ``attempt + 1`` is due after attempt ``attempt`` failed; None: give up."""
    if attempt > len(RETRY_SCHEDULE_SECONDS):
        return None
    return int(failed_at) + RETRY_SCHEDULE_SECONDS[attempt - 1]


def hop_delay(due_at: int, now: float) -> int:
    """The next SQS delay towards ``due_at``: at most MAX_HOP_SECONDS (14 minutes), 0 when it is due."""
    return max(0, min(MAX_HOP_SECONDS, int(due_at - now + 0.999)))


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

    def deliver(self, url: str, message_id: str, body: bytes, now: float | None = None) -> DeliveryResult:
        import requests

        from tryon_api.tryon.garment_fetch import PinnedAddressAdapter, SocketWatchdog

        deadline = Deadline.after(self.timeout_seconds)
        try:
            target = self.guard.check(url, deadline)
        except BadRequest as refused:
            return DeliveryResult(False, None, refused.message)
        headers = {**signed_headers(self.read_secret(), message_id, body, now), "User-Agent": "tryon-webhook"}
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

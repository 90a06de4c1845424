"""Webhook verification: the ``standardwebhooks`` package's verifier (Standard Webhooks spec)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

__all__ = ["WebhookVerificationError", "verify_webhook"]


def verify_webhook(payload: bytes | str, headers: Mapping[str, str], secret: str) -> dict[str, Any]:
    """The delivery's event (``{"type": "job.succeeded" | "job.failed", "data": {...}}``) when its
    ``webhook-signature`` is genuine and its ``webhook-timestamp`` within 5 minutes; else raises
    ``WebhookVerificationError``. ``payload``: the raw request body, before any JSON parsing;
    ``secret``: the deployment's ``whsec_...`` secret."""
    event: dict[str, Any] = Webhook(secret).verify(payload, dict(headers))
    return event

"""The two credentials and their wire formats: managed API keys and signed browser tokens.

A managed key reads ``<id>.<secret>``: the id (``key_`` and 16 hex digits) is public and finds
the record; the secret (256 random bits) is checked against the record's SHA-256 in constant
time. A browser token is ``tt1.<payload>.<signature>``: base64url JSON naming its key, origin,
expiry, image allowance and id, signed with HMAC-SHA256; checking one needs the signing secret
only. The format is ours alone (we both mint and read it), so a JWT library's algorithm choice
would only add a way to get it wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass

# As tryon_api/http/auth.py reads X-API-Key: RFC 9110 optional whitespace trimmed, 512 at most.
HTTP_OPTIONAL_WHITESPACE = " \t"
MAX_KEY_LENGTH = 512
KEY_ID = re.compile(r"^key_[0-9a-f]{16}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")
TOKEN_PREFIX = "tt1."  # noqa: S105 - the format's version tag, not a secret
MAX_TOKEN_LENGTH = 2048
# A page's origin as browsers send it: scheme, lower-case host, optional port; nothing else.
ORIGIN = re.compile(r"^https?://[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$")


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_managed_key(presented: str) -> tuple[str, str] | None:
    """``(id, secret)`` for a value shaped like a managed key, else None."""
    key_id, dot, secret = presented.partition(".")
    if not dot or not KEY_ID.match(key_id) or not _SECRET.match(secret):
        return None
    return key_id, secret


def secret_matches(secret: str, digest: str) -> bool:
    return hmac.compare_digest(secret_digest(secret).encode(), digest.encode())


def legacy_key_id(api_key: str) -> str:
    """A public id for a plain key from the secret or ``TRYON_API_KEYS``: a digest, never the key."""
    return "legacy-" + hmac.new(b"tryon-legacy-key-id", api_key.encode(), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class TokenClaims:
    token_id: str
    key_id: str
    origin: str
    expires_at: int
    max_images: int
    per_minute: int | None
    per_month: int | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, signed: str) -> str:
    return _b64(hmac.new(secret, signed.encode("ascii"), hashlib.sha256).digest())


def sign_token(claims: TokenClaims, secret: bytes) -> str:
    payload = {
        "j": claims.token_id,
        "k": claims.key_id,
        "o": claims.origin,
        "e": claims.expires_at,
        "m": claims.max_images,
        "r": claims.per_minute,
        "q": claims.per_month,
    }
    signed = TOKEN_PREFIX + _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{signed}.{_signature(secret, signed)}"


def read_token(token: str, secret: bytes) -> TokenClaims | None:
    """The claims of a token this API signed, else None (expiry is the caller's check)."""
    if len(token) > MAX_TOKEN_LENGTH or not token.startswith(TOKEN_PREFIX):
        return None
    signed, dot, signature = token.rpartition(".")
    if not dot or not signed.startswith(TOKEN_PREFIX):
        return None
    try:
        expected = _signature(secret, signed)
    except UnicodeEncodeError:
        return None
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return None
    try:
        payload = json.loads(_unb64(signed[len(TOKEN_PREFIX) :]))
        claims = TokenClaims(
            token_id=str(payload["j"]),
            key_id=str(payload["k"]),
            origin=str(payload["o"]),
            expires_at=int(payload["e"]),
            max_images=int(payload["m"]),
            per_minute=None if payload["r"] is None else int(payload["r"]),
            per_month=None if payload["q"] is None else int(payload["q"]),
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    return claims

"""Result links for local runs: ``<base>/results/<job>/<n>.<ext>?expires=<epoch>&signature=<mac>``,
answered by the local server (``tryon_dev.result_files``) from the data folder.

The signature is an HMAC-SHA256 of the key and the expiry under a key kept in the data folder
(generated once), compared in constant time; a link past its expiry, altered in any part, or
whose file is gone (its job deleted or expired) is refused with 403, as S3 refuses a presigned GET.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, quote

from tryon_api.jobs.interface import RESULTS_PREFIX

SIGNING_KEY_FILE = "results-signing-key"
DEFAULT_LOCAL_BASE_URL = "http://127.0.0.1:3000"
_server_url: list[str] = []  # the address the local server listens on, once it does


def register_local_server_url(url: str) -> None:
    """The local server's own address (set when it starts listening): where its links point."""
    _server_url[:] = [url]


def local_server_url() -> str:
    return _server_url[0] if _server_url else DEFAULT_LOCAL_BASE_URL


def local_signing_key(data_dir: Path) -> bytes:
    """The data folder's link-signing key, generated once (so links survive a restart)."""
    path = data_dir / SIGNING_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return bytes.fromhex(path.read_text().strip())


class LinkRefused(Exception):
    """A link that is not one we signed, or no longer works (answered 403)."""


class LocalSignedLinks:
    def __init__(
        self,
        signing_key: bytes,
        base_url: str | Callable[[], str] = local_server_url,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = signing_key
        self._base_url: Callable[[], str] = base_url if callable(base_url) else (lambda: base_url)
        self._clock = clock

    def _mac(self, key: str, expires_at: int) -> str:
        digest = hmac.new(self._key, f"{key}\n{expires_at}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def link(self, key: str, expires_at: int) -> str:
        expires = int(expires_at)
        return f"{self._base_url().rstrip('/')}/{quote(key)}?expires={expires}&signature={self._mac(key, expires)}"

    def check(self, path: str, query: str) -> str:
        """The blob key a link's path and query name, or ``LinkRefused``."""
        key = path.lstrip("/")
        if not key.startswith(RESULTS_PREFIX) or ".." in key or "//" in key:
            raise LinkRefused("not a result link")
        try:
            fields = parse_qs(query, keep_blank_values=True, strict_parsing=True, max_num_fields=4)
        except ValueError:
            raise LinkRefused("malformed query") from None
        expires, signature = fields.get("expires", []), fields.get("signature", [])
        if set(fields) != {"expires", "signature"} or len(expires) != 1 or len(signature) != 1:
            raise LinkRefused("malformed query")
        if not expires[0].isascii() or not expires[0].isdigit() or len(expires[0]) > 12:
            raise LinkRefused("malformed expiry")
        expires_at = int(expires[0])
        if not hmac.compare_digest(self._mac(key, expires_at).encode(), signature[0].encode("utf-8", "replace")):
            raise LinkRefused("bad signature")
        if self._clock() >= expires_at:
            raise LinkRefused("expired")
        return key

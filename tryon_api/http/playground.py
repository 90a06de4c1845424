"""The try-on playground: one static HTML page served at ``GET /`` with a strict CSP.

The page carries its CSS and JavaScript inline so it deploys with the function and needs no
build step; the Content-Security-Policy allows exactly those inline blocks by their SHA-256
hashes, so nothing injected could run. Read and hashed once per container.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from tryon_api.per_container import PerContainer

PAGE_PATH = Path(__file__).parent / "static" / "playground.html"

_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


@dataclass(frozen=True)
class PlaygroundPage:
    html: str
    headers: dict[str, str]


def _source_hashes(pattern: re.Pattern[str], html: str) -> str:
    digests = (
        base64.b64encode(hashlib.sha256(block.encode("utf-8")).digest()).decode() for block in pattern.findall(html)
    )
    return " ".join(f"'sha256-{digest}'" for digest in digests)


def content_security_policy(html: str) -> str:
    """Only the page's own inline blocks run; images from itself, data: and blob: URLs.

    ``connect-src *``: the API URL is typed in by the user (a local server or a function URL).
    """
    directives = [
        "default-src 'none'",
        f"script-src {_source_hashes(_SCRIPT, html)}",
        f"style-src {_source_hashes(_STYLE, html)}",
        "img-src 'self' data: blob:",
        "connect-src *",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def _read_page() -> PlaygroundPage:
    html = PAGE_PATH.read_text(encoding="utf-8")
    return PlaygroundPage(
        html=html,
        headers={
            "Content-Security-Policy": content_security_policy(html),
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


_page: PerContainer[PlaygroundPage] = PerContainer(_read_page)
playground_page = _page.get

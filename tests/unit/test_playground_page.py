"""GET / answers the playground page with no key and a CSP that allows only its own inline code."""

from __future__ import annotations

import base64
import hashlib
import json
from html.parser import HTMLParser

import pytest

from tryon_api.http.playground import PAGE_PATH, playground_page
from tryon_dev.events import function_url_event
from tryon_dev.invoke import invoke

KEY = "unit-test-key"


@pytest.fixture(autouse=True)
def _local_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYON_API_KEYS", KEY)


class InlineBlocks(HTMLParser):
    """Collects inline <script>/<style> text and every external reference of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: dict[str, list[str]] = {"script": [], "style": []}
        self.references: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.blocks:
            self._open = tag
            self.blocks[tag].append("")
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.references.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self.blocks[self._open][-1] += data


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def get(path: str, headers: dict[str, str] | None = None, method: str = "GET") -> dict[str, object]:
    return invoke(function_url_event(method, path, headers or {}, b""))


def csp_directives(response: dict[str, object]) -> dict[str, str]:
    headers = response["headers"]
    assert isinstance(headers, dict)
    policy = headers["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in policy.split("; ")}


def test_page_is_served_without_an_api_key() -> None:
    response = get("/")

    assert response["statusCode"] == 200
    headers = response["headers"]
    assert isinstance(headers, dict)
    assert headers["Content-Type"].startswith("text/html")
    assert headers["X-Request-Id"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    body = response["body"]
    assert isinstance(body, str)
    assert "<title>Try-on playground</title>" in body


def test_csp_allows_exactly_the_page_inline_script_and_style() -> None:
    page = InlineBlocks()
    page.feed(PAGE_PATH.read_text(encoding="utf-8"))
    directives = csp_directives(get("/"))

    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == " ".join(sha256_source(block) for block in page.blocks["script"])
    assert directives["style-src"] == " ".join(sha256_source(block) for block in page.blocks["style"])
    assert directives["img-src"] == "'self' data: blob:"
    assert directives["connect-src"] == "*"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in json.dumps(directives)
    assert len(page.blocks["script"]) == 1
    assert len(page.blocks["style"]) == 1


def test_page_loads_nothing_from_elsewhere() -> None:
    page = InlineBlocks()
    page.feed(PAGE_PATH.read_text(encoding="utf-8"))

    assert all(ref.startswith(("data:", "#")) for ref in page.references), page.references


def test_other_methods_on_the_page_still_need_the_key() -> None:
    assert get("/", method="POST")["statusCode"] == 401
    refused = get("/", {"x-api-key": KEY}, method="POST")
    assert refused["statusCode"] == 405
    headers = refused["headers"]
    assert isinstance(headers, dict)
    assert headers["Allow"] == "GET"


def test_generate_image_still_needs_the_key() -> None:
    assert get("/generate_image", method="POST")["statusCode"] == 401


def test_page_is_read_once_per_container() -> None:
    assert playground_page() is playground_page()

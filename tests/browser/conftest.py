"""The playground page in Debian's Chromium, driven by Playwright, against the local server.

The server runs in a background thread on 127.0.0.1 (an ephemeral port) with the embedded
backend; the browser is launched from /usr/bin/chromium with a fresh profile and no network
side traffic. Run with `make test-browser` (which installs Chromium with apt if missing).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: make test-browser")

CHROMIUM = Path("/usr/bin/chromium")
API_KEY = "browser-test-key"
REPO = Path(__file__).resolve().parents[2]
OUTPUT_DIR = REPO / "test-output"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class LocalServer:
    url: str
    api_key: str


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    from tests.live_server import live_server

    with live_server(API_KEY) as running:
        yield LocalServer(url=running.url, api_key=API_KEY)


@pytest.fixture(autouse=True)
def _server_keys(local_server: LocalServer) -> None:
    """The root conftest resets services per test; keep them built from the test key."""
    os.environ["TRYON_API_KEYS"] = local_server.api_key


@dataclass
class BrowserPage:
    """A page in a fresh Chromium profile, with what went wrong in it collected."""

    page: sync_api.Page
    errors: list[str]

    def csp_violations(self) -> list[str]:
        return list(self.page.evaluate("window.__cspViolations"))


RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[sync_api.Playwright]:
    if not CHROMIUM.exists():
        if os.environ.get("PLAYGROUND_BROWSER_REQUIRED"):
            pytest.fail("/usr/bin/chromium is missing: run make browser-deps")
        pytest.skip("/usr/bin/chromium is missing: run make test-browser")
    OUTPUT_DIR.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        yield playwright


def open_page(
    playwright: sync_api.Playwright, profile: Path, viewport: dict[str, int], **options: object
) -> tuple[sync_api.BrowserContext, BrowserPage]:
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        headless=True,
        viewport=viewport,
        **options,
    )
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.pages[0] if context.pages else context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    return context, BrowserPage(page=page, errors=errors)


@pytest.fixture
def browser_page(playwright_driver: sync_api.Playwright) -> Iterator[BrowserPage]:
    """A desktop-sized page in a fresh profile (a new user-data-dir per test)."""
    profile = Path(tempfile.mkdtemp(prefix="tryon-chromium-"))
    context, page = open_page(playwright_driver, profile, {"width": 1280, "height": 860})
    try:
        yield page
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def phone_page(playwright_driver: sync_api.Playwright) -> Iterator[BrowserPage]:
    """A phone-sized touch page in a fresh profile."""
    profile = Path(tempfile.mkdtemp(prefix="tryon-chromium-"))
    context, page = open_page(
        playwright_driver, profile, {"width": 390, "height": 844}, has_touch=True, is_mobile=True, device_scale_factor=2
    )
    try:
        yield page
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)

"""The playground page in a real browser against the local server and the embedded backend."""

from __future__ import annotations

import base64
import io
import json
import os
import re
from pathlib import Path

import pytest
from PIL import Image

from tests.browser.conftest import OUTPUT_DIR, REPO, BrowserPage, LocalServer, sync_api
from tests.photos import GRACE_HOPPER, image_bytes
from tryon_api.http.body_limit import body_too_large
from tryon_api.http.wait_hint import wait_hint
from tryon_api.settings import Settings
from tryon_api.tryon.errors import NoPersonFound, Unauthorized
from tryon_api.tryon.garment_url import NOT_ALLOWED, PRIVATE_ADDRESS

expect = sync_api.expect
DOCS_SCREENSHOTS = REPO / "docs" / "screenshots"
DESCRIPTION = "Black leather jacket with white t-shirt underneath"
GENERATION_TIMEOUT_MS = 120_000


def screenshot(page: sync_api.Page, name: str, full_page: bool = True, docs_width: int = 1000) -> Path:
    """Saved under test-output/; with PLAYGROUND_UPDATE_SCREENSHOTS=1 also a small copy in docs/."""
    path = OUTPUT_DIR / f"{name}.png"
    if full_page:
        page.evaluate("window.scrollTo(0, 0)")  # the output column is sticky: capture it at the top
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 0
    if os.environ.get("PLAYGROUND_UPDATE_SCREENSHOTS"):
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        with Image.open(path) as shot:
            small = shot.convert("RGB")
            if small.width > docs_width:
                height = round(small.height * docs_width / small.width)
                small = small.resize((docs_width, height), Image.Resampling.LANCZOS)
            small.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
                DOCS_SCREENSHOTS / f"{name}.png", optimize=True
            )
    return path


def open_playground(browser_page: BrowserPage, server: LocalServer) -> sync_api.Page:
    page = browser_page.page
    page.goto(f"{server.url}/")
    expect(page.get_by_role("heading", name="Try-on playground")).to_be_visible()
    return page


def fill_form(page: sync_api.Page, key: str, mode: str = "studio", photo: Path = GRACE_HOPPER) -> None:
    page.get_by_label("API key").fill(key)
    page.locator("#selfie-file").set_input_files(str(photo))
    expect(page.get_by_role("status")).to_contain_text("Photo ready")
    page.get_by_label("Description").fill(DESCRIPTION)
    page.get_by_role("radio", name="Studio" if mode == "studio" else "Environment").check()


def wait_for_result(page: sync_api.Page) -> None:
    expect(page.get_by_role("status")).to_contain_text("Done in", timeout=GENERATION_TIMEOUT_MS)
    expect(page.locator("#result-img")).to_be_visible()


def natural_width(page: sync_api.Page, selector: str) -> int:
    return int(page.eval_on_selector(selector, "img => img.complete ? img.naturalWidth : 0"))


def assert_clean(browser_page: BrowserPage) -> None:
    assert browser_page.errors == []
    assert browser_page.csp_violations() == []


def test_empty_page_loads_cleanly_under_its_csp(browser_page: BrowserPage, local_server: LocalServer) -> None:
    page = open_playground(browser_page, local_server)

    expect(page.get_by_label("API URL")).to_have_value(local_server.url)
    expect(page.locator("#description-counter")).to_have_text("0 / 1000")
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#error")).to_be_hidden()
    # The inline style applied (hash allowed by the CSP): the primary button is painted blue.
    assert page.eval_on_selector("#generate", "b => getComputedStyle(b).backgroundColor") == "rgb(29, 78, 216)"
    screenshot(page, "empty")
    assert_clean(browser_page)


def test_studio_generation_shows_progress_then_the_result(browser_page: BrowserPage, local_server: LocalServer) -> None:
    page = open_playground(browser_page, local_server)
    # The waiting text is the answering server's own (its /openapi.json: the embedded preview's range).
    low, high = wait_hint("embedded")["seconds"]
    expect(page.locator("#form-note")).to_have_text(
        f"Generation usually takes {low} to {high} seconds (this server's preview)."
    )
    fill_form(page, local_server.api_key, "studio")
    held: list[sync_api.Route] = []
    page.route("**/generate_image", lambda route: held.append(route))

    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("status")).to_contain_text(f"Generating… this usually takes {low} to {high} seconds")
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()
    expect(page.locator("#generate")).to_be_disabled()
    expect(page.locator("#elapsed")).to_have_text(re.compile(r"^[1-9][0-9]* s$"), timeout=10_000)  # ticking
    screenshot(page, "generating")
    assert len(held) == 1
    request = held[0].request
    body = json.loads(request.post_data or "{}")
    assert request.headers["x-api-key"] == local_server.api_key
    assert body["mode"] == "studio"
    assert body["clothing_description"] == DESCRIPTION
    assert body["selfie_base64"].startswith("data:image/jpeg;base64,")
    assert "clothing_image_url" not in body
    held[0].continue_()

    wait_for_result(page)
    assert natural_width(page, "#result-img") > 0
    assert natural_width(page, "#original-img") > 0
    expect(page.locator("#progress")).to_be_hidden()
    expect(page.locator("#result-meta")).to_contain_text("Studio")
    download = page.get_by_role("link", name="Download result")
    assert (download.get_attribute("href") or "").startswith("blob:")
    assert download.get_attribute("download") == "tryon-studio-1.jpg"
    expect(page.locator("#history li")).to_have_count(1)
    screenshot(page, "result")
    assert_clean(browser_page)


def test_download_button_saves_the_generated_jpeg(browser_page: BrowserPage, local_server: LocalServer) -> None:
    page = open_playground(browser_page, local_server)
    fill_form(page, local_server.api_key, "studio")
    page.get_by_role("button", name="Generate").click()
    wait_for_result(page)

    with page.expect_download() as info:
        page.get_by_role("link", name="Download result").click()
    saved = Path(info.value.path())
    with Image.open(saved) as image:
        assert image.format == "JPEG"
        assert image.width == natural_width(page, "#result-img")


def test_environment_generation_joins_the_history_and_thumbnails_switch(
    browser_page: BrowserPage, local_server: LocalServer
) -> None:
    page = open_playground(browser_page, local_server)
    fill_form(page, local_server.api_key, "studio")
    page.get_by_role("button", name="Generate").click()
    wait_for_result(page)
    studio_src = page.locator("#result-img").get_attribute("src")

    page.get_by_role("radio", name="Environment").check()
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#result-meta")).to_contain_text("Environment", timeout=GENERATION_TIMEOUT_MS)
    assert natural_width(page, "#result-img") > 0
    assert page.locator("#result-img").get_attribute("src") != studio_src
    thumbnails = page.locator("#history button")
    expect(thumbnails).to_have_count(2)
    expect(thumbnails.nth(0)).to_have_attribute("aria-current", "true")

    page.get_by_role("button", name="Show result 1: studio").click()
    expect(page.locator("#result-meta")).to_contain_text("Studio")
    assert page.locator("#result-img").get_attribute("src") == studio_src
    expect(thumbnails.nth(1)).to_have_attribute("aria-current", "true")
    expect(page.locator("#result-heading")).to_be_focused()
    assert_clean(browser_page)


def test_bad_key_shows_the_api_message_with_a_hint(browser_page: BrowserPage, local_server: LocalServer) -> None:
    page = open_playground(browser_page, local_server)
    fill_form(page, "not-the-key")

    page.get_by_role("button", name="Generate").click()
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(page.locator("#error-message")).to_have_text(Unauthorized.default_message)
    expect(page.locator("#error-hint")).to_contain_text("API key was refused")
    expect(page.locator("#error-meta")).to_contain_text("HTTP 401")
    expect(page.locator("#error-meta")).to_contain_text("Request id:")
    expect(page.locator("#result")).to_be_hidden()
    screenshot(page, "error")
    assert browser_page.csp_violations() == []


def test_too_small_photo_shows_the_api_message(
    browser_page: BrowserPage, local_server: LocalServer, tmp_path: Path
) -> None:
    small = tmp_path / "small.png"
    with Image.open(GRACE_HOPPER) as photo:
        small.write_bytes(image_bytes(photo.resize((150, 176)), "PNG"))
    page = open_playground(browser_page, local_server)
    fill_form(page, local_server.api_key, photo=small)

    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#error-message")).to_contain_text("too small")
    expect(page.locator("#error-hint")).to_contain_text("at least 256 px")
    expect(page.locator("#error-meta")).to_contain_text("HTTP 400")


def test_private_garment_url_shows_the_not_allowed_hint(browser_page: BrowserPage, local_server: LocalServer) -> None:
    page = open_playground(browser_page, local_server)
    fill_form(page, local_server.api_key)
    page.get_by_label("Garment image URL").fill("http://127.0.0.1:9/jacket.jpg")

    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#error-message")).to_have_text(f"{NOT_ALLOWED}: {PRIVATE_ADDRESS}")
    expect(page.locator("#error-hint")).to_contain_text("public http(s) address")


def test_large_photo_is_shrunk_in_the_browser_before_upload(
    browser_page: BrowserPage, local_server: LocalServer, tmp_path: Path
) -> None:
    big = tmp_path / "big.jpg"
    with Image.open(GRACE_HOPPER) as photo:
        big.write_bytes(image_bytes(photo.resize((3400, 4000), Image.Resampling.BICUBIC), "JPEG", quality=97))
    assert big.stat().st_size > 1_000_000
    page = open_playground(browser_page, local_server)
    fill_form(page, local_server.api_key, photo=big)
    expect(page.get_by_role("status")).to_contain_text("shrunk from 3400 × 4000")

    with page.expect_request("**/generate_image") as sent:
        page.get_by_role("button", name="Generate").click()
    body = sent.value.post_data or ""
    selfie = json.loads(body)["selfie_base64"].split(",", 1)[1]
    with Image.open(io.BytesIO(base64.b64decode(selfie))) as uploaded:
        assert uploaded.format == "JPEG"
        assert max(uploaded.size) == 1536
        assert uploaded.size == (1306, 1536)
    assert len(body) < 6 * 1024 * 1024
    wait_for_result(page)
    assert natural_width(page, "#result-img") > 0


def test_cancel_aborts_the_request(browser_page: BrowserPage, local_server: LocalServer) -> None:
    page = open_playground(browser_page, local_server)
    fill_form(page, local_server.api_key)
    held: list[sync_api.Route] = []
    page.route("**/generate_image", lambda route: held.append(route))

    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()

    expect(page.get_by_role("status")).to_contain_text("Cancelled")
    expect(page.locator("#progress")).to_be_hidden()
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#result")).to_be_hidden()
    assert len(held) == 1


@pytest.mark.parametrize(
    ("status", "headers", "message", "hint", "meta"),
    [
        (429, {"Retry-After": "7"}, "too many requests, retry later", "Wait 7 seconds", "Retry-After: 7 s"),
        (413, {}, body_too_large(Settings().max_body_bytes).message, "API's size limit", "HTTP 413"),
        (422, {}, NoPersonFound.default_message, "face and upper body are clearly visible", "HTTP 422"),
        (502, {"X-Request-Id": "req-5xx-42"}, "the image model failed", "contact support", "Request id: req-5xx-42"),
        (503, {"Retry-After": "5"}, "authentication is unavailable, retry later", "server side", "HTTP 503"),
    ],
)
def test_api_errors_show_their_message_and_hint(
    browser_page: BrowserPage,
    local_server: LocalServer,
    status: int,
    headers: dict[str, str],
    message: str,
    hint: str,
    meta: str,
) -> None:
    page = open_playground(browser_page, local_server)
    fill_form(page, local_server.api_key)
    page.route(
        "**/generate_image",
        lambda route: route.fulfill(
            status=status, headers=headers, content_type="application/json", body=json.dumps({"error": message})
        ),
    )

    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#error-message")).to_have_text(message)
    expect(page.locator("#error-hint")).to_contain_text(hint)
    expect(page.locator("#error-meta")).to_contain_text(meta)
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()


def test_unreachable_api_is_reported(browser_page: BrowserPage, local_server: LocalServer) -> None:
    page = open_playground(browser_page, local_server)
    fill_form(page, local_server.api_key)
    page.route("**/generate_image", lambda route: route.abort("connectionrefused"))

    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#error-title")).to_have_text("Could not reach the API")
    expect(page.locator("#error-message")).to_contain_text(f"{local_server.url}/generate_image")


def test_missing_selfie_is_caught_before_sending(browser_page: BrowserPage, local_server: LocalServer) -> None:
    page = open_playground(browser_page, local_server)
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "generate_image" in request.url else None)

    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#error-message")).to_have_text("Choose a selfie first.")
    assert sent == []


def test_key_is_kept_in_local_storage_only(browser_page: BrowserPage, local_server: LocalServer) -> None:
    page = open_playground(browser_page, local_server)
    page.get_by_label("API key").fill("my-secret-key")
    page.reload()

    expect(page.get_by_label("API key")).to_have_value("my-secret-key")
    assert page.evaluate("localStorage.getItem('tryon.apiKey')") == "my-secret-key"
    assert page.context.cookies() == []
    assert "my-secret-key" not in page.url
    page.get_by_role("button", name="Forget key").click()
    assert page.evaluate("localStorage.getItem('tryon.apiKey')") is None
    expect(page.get_by_label("API key")).to_have_value("")


def test_description_counter_and_limit(browser_page: BrowserPage, local_server: LocalServer) -> None:
    page = open_playground(browser_page, local_server)
    field = page.get_by_label("Description")
    field.fill("Red hoodie")
    expect(page.locator("#description-counter")).to_have_text("10 / 1000")
    field.fill("x" * 1000)
    field.press("End")
    field.press("y")  # typing stops at maxlength
    assert field.input_value() == "x" * 1000
    expect(page.locator("#description-counter")).to_have_text("1000 / 1000")


def test_every_control_is_labelled_and_keyboard_reachable(browser_page: BrowserPage, local_server: LocalServer) -> None:
    page = open_playground(browser_page, local_server)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, textarea, button, progress')]
            .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                            && !el.textContent.trim())
            .map((el) => el.id || el.outerHTML)"""
    )
    assert unlabelled == []

    reached: list[str] = []
    for _ in range(20):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id || document.activeElement.name || ''")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        label_outline = page.evaluate(
            "document.activeElement.labels && document.activeElement.labels.length"
            " ? getComputedStyle(document.activeElement.labels[0]).outlineStyle : 'none'"
        )
        assert outline != "none" or label_outline != "none", f"no visible focus on {focused}"
        reached.append(focused)
        if focused == "generate":
            break
    page.locator("#selfie-file").focus()
    # The file input is visually hidden: its label (the visible button) shows the focus ring.
    assert page.eval_on_selector("label[for=selfie-file]", "l => getComputedStyle(l).outlineStyle") == "solid"
    assert reached == [
        "api-url",
        "api-key",
        "show-key",
        "forget-key",
        "selfie-file",
        "description",
        "garment-url",
        "mode",
        "generate",
    ]


def test_phone_layout_fits_and_offers_the_camera(phone_page: BrowserPage, local_server: LocalServer) -> None:
    page = open_playground(phone_page, local_server)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth")
    camera = page.locator("#selfie-camera")
    assert camera.get_attribute("capture") == "user"
    assert camera.get_attribute("accept") == "image/*"
    expect(page.locator("label[for=selfie-camera]")).to_be_visible()

    fill_form(page, local_server.api_key)
    page.get_by_role("button", name="Generate").click()
    wait_for_result(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth")
    # On a phone the result is below the form: the page scrolls it into view.
    assert page.eval_on_selector("#result", "r => r.getBoundingClientRect().top") < page.evaluate("innerHeight")
    screenshot(page, "phone", full_page=False, docs_width=390)  # a full-page capture drops the touch emulation
    assert_clean(phone_page)


def test_works_against_an_api_on_another_origin(browser_page: BrowserPage, local_server: LocalServer) -> None:
    """Like a page opened locally pointed at a deployed function URL: CORS preflight and headers."""
    page = open_playground(browser_page, local_server)
    other_origin = local_server.url.replace("127.0.0.1", "localhost")
    page.get_by_label("API URL").fill(other_origin + "/")
    fill_form(page, "not-the-key")
    preflights: list[str] = []
    page.on("request", lambda request: preflights.append(request.url) if request.method == "OPTIONS" else None)

    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#error-message")).to_have_text(Unauthorized.default_message)
    # X-Request-Id is readable cross-origin only because the API exposes it.
    expect(page.locator("#error-meta")).to_contain_text("Request id:")

    page.get_by_label("API key").fill(local_server.api_key)
    page.get_by_role("button", name="Generate").click()
    wait_for_result(page)
    assert natural_width(page, "#result-img") > 0
    assert page.evaluate("localStorage.getItem('tryon.apiUrl')") == other_origin + "/"
    assert browser_page.csp_violations() == []


def test_a_dropped_photo_is_used(browser_page: BrowserPage, local_server: LocalServer) -> None:
    page = open_playground(browser_page, local_server)
    photo = base64.b64encode(GRACE_HOPPER.read_bytes()).decode()
    transfer = page.evaluate_handle(
        """(data) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "me.jpg", { type: "image/jpeg" }));
            return transfer;
        }""",
        photo,
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})

    expect(page.get_by_role("status")).to_contain_text("Photo ready: 512 × 600 px")
    assert natural_width(page, "#selfie-thumb img") == 512


def test_history_keeps_the_last_six_results(browser_page: BrowserPage, local_server: LocalServer) -> None:
    page = open_playground(browser_page, local_server)
    fill_form(page, local_server.api_key)
    answer = json.dumps(
        {"image_base64": base64.b64encode(GRACE_HOPPER.read_bytes()).decode(), "mime_type": "image/jpeg"}
    )
    page.route(
        "**/generate_image", lambda route: route.fulfill(status=200, content_type="application/json", body=answer)
    )

    for run in range(1, 8):
        page.get_by_role("button", name="Generate").click()
        expect(page.locator("#download")).to_have_attribute("download", f"tryon-studio-{run}.jpg")
    thumbnails = page.locator("#history button")
    expect(thumbnails).to_have_count(6)
    names = [thumbnails.nth(i).get_attribute("aria-label") or "" for i in range(6)]
    assert [name.split(":")[0] for name in names] == [f"Show result {n}" for n in range(6, 0, -1)]
    assert all(natural_width(page, f"#history li:nth-child({i}) img") > 0 for i in range(1, 7))


CONTRAST_CHECK = """() => {
    const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    const parse = (c) => c.match(/[\\d.]+/g).map(Number);
    const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    const background = (el) => {
        for (let node = el; node; node = node.parentElement) {
            const rgba = parse(getComputedStyle(node).backgroundColor);
            if (rgba.length < 4 || rgba[3] > 0) { return rgba; }
        }
        return [255, 255, 255];
    };
    const failures = [];
    for (const el of document.querySelectorAll("body *")) {
        const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join("");
        if (!text || !el.getClientRects().length || el.closest(".visually-hidden")) { continue; }
        const fg = luminance(parse(getComputedStyle(el).color));
        const bg = luminance(background(el));
        const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
        if (ratio < 4.5) { failures.push(`${text.slice(0, 30)}: ${ratio.toFixed(2)}`); }
    }
    return failures;
}"""


def test_text_contrast_meets_wcag_aa(browser_page: BrowserPage, local_server: LocalServer) -> None:
    page = open_playground(browser_page, local_server)
    assert page.evaluate(CONTRAST_CHECK) == []
    fill_form(page, "not-the-key")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert page.evaluate(CONTRAST_CHECK) == []

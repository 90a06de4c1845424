"""The playground's jobs in a real browser: a job of 1-4 samples submitted from the page, run by
the local worker pool (the dev server's, over the same SQLite queue), shown side by side with the
seed of each, then deleted from the server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from tests.browser.conftest import BrowserPage, LocalServer, sync_api
from tests.browser.test_playground import GENERATION_TIMEOUT_MS, assert_clean, fill_form, open_playground, screenshot
from tryon_api.entrypoints.wiring import get_job_dependencies
from tryon_dev.job_workers import LocalJobWorkers

expect = sync_api.expect


@pytest.fixture
def job_workers(local_server: LocalServer) -> Iterator[LocalJobWorkers]:
    workers = LocalJobWorkers(get_job_dependencies(), 2)
    workers.start()
    yield workers
    workers.stop()


def test_a_job_shows_its_samples_side_by_side_with_their_seeds(
    browser_page: BrowserPage, local_server: LocalServer, job_workers: LocalJobWorkers
) -> None:
    page = open_playground(browser_page, local_server)
    fill_form(page, local_server.api_key)
    page.locator("#num-samples").select_option("3")
    page.locator("#seed").fill("77")
    with page.expect_request("**/jobs") as submitted:
        page.get_by_role("button", name="Submit as a job").click()
    body = submitted.value.post_data_json
    assert (body["num_samples"], body["seed"], body["mode"]) == (3, 77, "studio")

    expect(page.get_by_role("status")).to_contain_text("Job done", timeout=GENERATION_TIMEOUT_MS)
    figures = page.locator("#samples figure")
    expect(figures).to_have_count(3)
    assert page.locator("#samples figcaption").all_inner_texts() == ["Seed 77", "Seed 78", "Seed 79"]
    boxes = [figures.nth(i).bounding_box() for i in range(3)]
    assert all(box is not None for box in boxes)
    assert len({round(box["y"]) for box in boxes if box}) == 1  # one row: side by side
    xs = [box["x"] for box in boxes if box]
    assert xs == sorted(xs) and len(set(xs)) == 3
    widths = page.eval_on_selector_all("#samples img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
    assert len(widths) == 3 and all(width > 0 for width in widths)
    sources = page.eval_on_selector_all("#samples img", "imgs => imgs.map(i => i.src)")
    assert all(source.startswith("blob:") for source in sources)
    expect(page.locator("#samples img").first).to_have_attribute("alt", re.compile(r"seed 77"))
    expect(page.locator("#job-meta")).to_contain_text("3 samples")
    screenshot(page, "job-samples")

    job_id = re.search(r"Job (\S+)", page.locator("#job-meta").inner_text())
    assert job_id is not None
    page.get_by_role("button", name="Delete this job").click()
    expect(page.get_by_role("status")).to_contain_text("deleted from the server")
    expect(page.locator("#job-result")).to_be_hidden()
    gone = requests.get(
        f"{local_server.url}/jobs/{job_id.group(1)}", headers={"X-API-Key": local_server.api_key}, timeout=30
    )
    assert gone.status_code == 404
    assert_clean(browser_page)


def test_a_bad_seed_shows_the_apis_message(
    browser_page: BrowserPage, local_server: LocalServer, job_workers: LocalJobWorkers
) -> None:
    page = open_playground(browser_page, local_server)
    fill_form(page, local_server.api_key)
    page.locator("#seed").fill("-5")
    page.get_by_role("button", name="Submit as a job").click()
    expect(page.locator("#error-message")).to_have_text("seed must be an integer from 0 to 2147483647")
    expect(page.locator("#samples figure")).to_have_count(0)

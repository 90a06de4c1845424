"""`make run ALLOW_LOCAL_URLS=1` (docs/development.md, "Garments on your own machine"): a garment
photo served by `python -m http.server` on this machine is fetched and worn; without the flag the
same URL is refused with the reason a user can act on."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.live_server import live_server
from tests.photos import b64, garment_only_jpeg, selfie_jpeg
from tryon_api.tryon.garment_url import PRIVATE_ADDRESS

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
KEY = "local-urls-key"


def started(command: list[str], pattern: str, cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """Start ``command`` in its own session; the first match of ``pattern`` in its output (bounded)."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    assert process.stdout is not None
    for _ in range(200):
        line = process.stdout.readline()
        match = re.search(pattern, line)
        if match:
            return process, match.group(1)
        if not line and process.poll() is not None:
            break
    stop(process)
    raise AssertionError(f"{command[:3]} did not start")


def stop(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGTERM)  # make and the server it started: this test's own session
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture
def garment_url(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "garments"
    folder.mkdir()
    (folder / "jacket.jpg").write_bytes(garment_only_jpeg())
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRYON_")}
    server, port = started(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"],
        r"port (\d+)",
        folder,
        clean,
    )
    try:
        yield f"http://127.0.0.1:{port}/jacket.jpg"
    finally:
        stop(server)


def request_body(garment_url: str) -> dict[str, str]:
    return {
        "selfie_base64": b64(selfie_jpeg()),
        "clothing_description": "Navy jacket with brass buttons",
        "clothing_image_url": garment_url,
        "mode": "studio",
    }


def test_make_run_allow_local_urls_fetches_a_garment_served_on_this_machine(garment_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRYON_", "AWS_ENDPOINT_URL"))}
    env["TRYON_JOBS_DATA_DIR"] = str(tmp_path / "jobs")
    api, url = started(
        ["make", "--no-print-directory", "run", "ALLOW_LOCAL_URLS=1", "PORT=0", f"API_KEY={KEY}"],
        r"listening on (http://127\.0\.0\.1:\d+)",
        ROOT,
        env,
    )
    try:
        answer = requests.post(
            f"{url}/generate_image", json=request_body(garment_url), headers={"X-API-Key": KEY}, timeout=120
        )
    finally:
        stop(api)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["mime_type"] == "image/jpeg"


def test_without_the_flag_the_same_url_is_refused_and_says_why(garment_url: str) -> None:
    with live_server(KEY) as server:
        answer = requests.post(
            f"{server.url}/generate_image", json=request_body(garment_url), headers={"X-API-Key": KEY}, timeout=120
        )
    assert answer.status_code == 400
    assert answer.json() == {"error": f"clothing_image_url is not allowed: {PRIVATE_ADDRESS}"}
    assert "127.0.0.1" not in answer.text

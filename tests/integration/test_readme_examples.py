"""The README's shell examples, taken from README.md as written and run by bash against the real
thing: `python -m tryon_dev generate` in-process, and the curl example against a live local server
with a real photo over 1 MB (the size that broke the old example: one shell argument is capped at
128 KiB). Only the line that says "as printed by make run" is replaced, by this server's URL and key.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.live_server import live_server
from tests.photos import large_selfie_jpeg
from tryon_api.http import app as _app  # noqa: F401  # its logger, which json_logs reads

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SHELL_DOCS = [README, ROOT / "docs" / "API.md", ROOT / "docs" / "development.md"]
PLACEHOLDER = re.compile(r"^URL=http://127\.0\.0\.1:3000 KEY=\.\.\.\s+# as printed by make run$", re.MULTILINE)


def shell_blocks(path: Path) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", path.read_text(), flags=re.MULTILINE | re.DOTALL)


def readme_block(marker: str) -> str:
    (block,) = [b for b in shell_blocks(README) if marker in b]
    return block


def run_bash(script: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # `python -m tryon_dev` from another folder
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    """A folder with the user's `me.jpg` (a 1.1 MB portrait) and the checkout's `.venv`."""
    (tmp_path / "me.jpg").write_bytes(large_selfie_jpeg())
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    return tmp_path


def assert_a_jpeg(path: Path) -> None:
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        image.load()
        assert image.format == "JPEG" and min(image.size) >= 256


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_readme_curl_example_as_written_answers_200_for_a_photo_over_1_mb(
    photo_folder: Path, json_logs: io.StringIO
) -> None:
    block = readme_block("$URL/generate_image")
    assert len(PLACEHOLDER.findall(block)) == 1, "the example sets URL and KEY on one line"
    assert (photo_folder / "me.jpg").stat().st_size > 1024 * 1024
    with live_server() as server:
        script = PLACEHOLDER.sub(f"URL={server.url} KEY={server.api_key}", block)
        done = run_bash(script, photo_folder)
    assert done.returncode == 0, done.stderr[-2000:]
    answered = [json.loads(line) for line in json_logs.getvalue().splitlines() if '"answered"' in line]
    assert [(a["path"], a["status"]) for a in answered] == [("/generate_image", 200)]
    assert_a_jpeg(photo_folder / "out.jpg")


def test_the_readme_cli_example_as_written_writes_the_image(photo_folder: Path) -> None:
    block = readme_block("python -m tryon_dev generate")
    done = run_bash(block, photo_folder)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "wrote out.jpg" in done.stdout
    assert_a_jpeg(photo_folder / "out.jpg")


def test_the_cli_comes_first_and_no_example_puts_an_image_on_the_command_line() -> None:
    blocks = shell_blocks(README)
    cli = next(i for i, b in enumerate(blocks) if "tryon_dev generate" in b)
    curl = next(i for i, b in enumerate(blocks) if "/generate_image" in b and "curl" in b)
    assert cli < curl
    for path in SHELL_DOCS:
        text = path.read_text()
        for block in shell_blocks(path):
            assert "$(base64" not in block and "`base64" not in block, (path.name, block)
        # One base-URL convention: "$URL/route", URL without its trailing slash.
        assert "${URL}" not in text and not re.search(r"\$URL[a-z]", text), path.name

"""Fixtures: the tiny random model of each family, written once per session, and servers on 127.0.0.1.

Every test that takes ``tiny_model_dir`` (or ``served_tiny_model``) runs once per model family."""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# One torch thread per test process (servers started by the tests inherit it): a tiny model gains
# nothing from more, and OpenMP threads spinning on a shared 2-core machine, with pytest-xdist's
# workers beside them, made a one-second generation take minutes. Set before torch is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import uvicorn
from filelock import FileLock
from PIL import Image, ImageDraw

from tryon_model_server.app import ModelSlot, create_app
from tryon_model_server.families import FAMILY_NAMES
from tryon_model_server.settings import ServerSettings
from tryon_model_server.tiny_model import write_tiny_model

MODEL_SERVER = Path(__file__).resolve().parents[1]
# Small outputs and few steps keep a tiny-model request around a second on two CPU cores.
TEST_ENV = {"TRYON_OUTPUT_PIXELS": str(256 * 256), "TRYON_DEFAULT_STEPS": "2", "TRYON_DEVICE": "cpu"}


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(url: str, body: bytes | None = None, content_type: str = "application/json", timeout: float = 120) -> Answer:
    headers = {"Content-Type": content_type} if body is not None else {}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, json.loads(response.read()), dict(response.headers))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, json.loads(exc.read()), dict(exc.headers))


def wait_until_ready(base_url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if http(f"{base_url}/ping", timeout=2).status == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{base_url} did not become ready")


def photo(size: tuple[int, int], garment: bool = False) -> Image.Image:
    """A drawn stand-in: a figure on a backdrop, or a T-shirt shape on white."""
    image = Image.new("RGB", size, (255, 255, 255) if garment else (180, 200, 220))
    draw = ImageDraw.Draw(image)
    width, height = size
    if garment:
        draw.polygon(
            [
                (width * 0.2, height * 0.1),
                (width * 0.8, height * 0.1),
                (width * 0.7, height * 0.9),
                (width * 0.3, height * 0.9),
            ],
            fill=(200, 30, 40),
        )
    else:
        draw.ellipse((width * 0.4, height * 0.05, width * 0.6, height * 0.25), fill=(230, 190, 160))
        draw.rectangle((width * 0.3, height * 0.25, width * 0.7, height * 0.7), fill=(40, 60, 90))
    return image


def b64_image(image: Image.Image, fmt: str = "JPEG") -> str:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def tryon_body(**changes: Any) -> dict[str, Any]:
    body = {
        "contract_version": "1",
        "person_image_base64": b64_image(photo((300, 450))),
        "garment_image_base64": None,
        "garment_description": "red cotton t-shirt",
        "mode": "studio",
        "seed": 1234,
        "output_format": "png",
    }
    body.update(changes)
    return body


QWEN = "qwen-image-edit-2511"
KLEIN = "flux2-klein-4b"
_TINY_DIRS: dict[str, Path] = {}


def tiny_dir_of(family: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny model directory per family for the whole run: pytest-xdist's workers share the
    run's temporary folder, the first writes the model (into a scratch folder, renamed when
    complete) while the others wait."""
    if family not in _TINY_DIRS:
        base = tmp_path_factory.getbasetemp()
        run_dir = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
        directory = run_dir / f"tiny-{family}"
        with FileLock(str(run_dir / f"tiny-{family}.lock")):
            if not directory.exists():
                scratch = write_tiny_model(tmp_path_factory.mktemp(f"tiny-{family}-scratch"), family=family)
                scratch.rename(directory)
        _TINY_DIRS[family] = directory
    return _TINY_DIRS[family]


@pytest.fixture(scope="session", params=FAMILY_NAMES)
def family(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def tiny_model_dir(family: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_dir_of(family, tmp_path_factory)


@pytest.fixture(scope="session")
def tiny_qwen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """For what only Qwen-Image-Edit has: the few-step LoRA and its Lightning schedule."""
    return tiny_dir_of(QWEN, tmp_path_factory)


@pytest.fixture(scope="session")
def served_tiny_model(tiny_model_dir: Path) -> Iterator[str]:
    """The real ``serve`` command in its own process, serving the tiny model directory."""
    port = free_port()
    env = {**os.environ, **TEST_ENV}
    process = subprocess.Popen(
        [
            sys.executable,
            str(MODEL_SERVER / "serve"),
            "serve",
            "--model-dir",
            str(tiny_model_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base_url)
    except TimeoutError:
        process.kill()
        raise AssertionError(f"serve did not start: {process.communicate()[1][-3000:]}") from None
    yield base_url
    process.terminate()
    process.wait(timeout=10)


class InProcessServer:
    """uvicorn in a thread, for servers whose model a test supplies."""

    def __init__(self, slot: ModelSlot, settings: ServerSettings) -> None:
        self.port = free_port()
        config = uvicorn.Config(create_app(slot, settings), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> InProcessServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

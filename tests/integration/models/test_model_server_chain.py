"""The whole chain on one machine: the dev server with the SageMaker backend
(``--sagemaker-model-url``), the emulated sagemaker-runtime forwarding each invocation to the
real model server (``model_server/serve`` with a tiny random model built offline), and back: a 200
JPEG with the selfie's aspect ratio. Once per model family: Qwen-Image-Edit-2511 and FLUX.2 [klein] 4B,
one contract.

The model server runs in its own venv (``make model-install``: CPU torch, diffusers); the test is
skipped, saying so, where that venv is missing.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.integration.models.helpers import person_photo, request_body
from tests.live_server import dev_server_process
from tests.photos import b64, no_person_photos

ROOT = Path(__file__).resolve().parents[3]
MODEL_PYTHON = Path(os.environ.get("TRYON_MODEL_SERVER_PYTHON", ROOT / ".venv-model" / "bin" / "python"))
pytestmark = [
    pytest.mark.timeout(600),  # builds a tiny model and starts two servers: longer than the default
    pytest.mark.integration,
    pytest.mark.skipif(not MODEL_PYTHON.exists(), reason=f"no model server venv at {MODEL_PYTHON}: make model-install"),
]
API_KEY = "chain-key"
# The model server's families (model_server/tryon_model_server/families/__init__.py's FAMILY_NAMES).
FAMILIES = ("qwen-image-edit-2511", "flux2-klein-4b")
# The selfie's ratio at TRYON_OUTPUT_PIXELS (512 x 608), sides rounded to multiples of the tiny
# model's latent packing: 32 for Qwen's tiny 16x VAE, 8 for klein's tiny 4x VAE.
EXPECTED_SIZE = {"qwen-image-edit-2511": (512, 608), "flux2-klein-4b": (512, 600)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@dataclass(frozen=True)
class ModelServer:
    url: str
    log: Path  # its output: uvicorn's access log has one line per invocation

    def invocations(self) -> int:
        return self.log.read_text(errors="replace").count('"POST /invocations ')


@pytest.fixture(scope="module", params=FAMILIES)
def model_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServer]:
    family = str(request.param)
    model_dir = tmp_path_factory.mktemp(f"tiny-{family}")
    log = tmp_path_factory.mktemp("model-server-log") / "server.log"
    subprocess.run(
        [str(MODEL_PYTHON), "-m", "tryon_model_server.tiny_model", str(model_dir), "--family", family],
        cwd=ROOT / "model_server",
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = _free_port()
    # One torch thread: OpenMP threads spinning beside the other test workers slow a tiny model down.
    env = {
        **os.environ,
        "TRYON_MODEL_FAMILY": family,  # as the model stack sets it: the server checks the directory
        "TRYON_DEVICE": "cpu",
        "TRYON_DEFAULT_STEPS": "2",
        "TRYON_OUTPUT_PIXELS": str(512 * 608),
        "OMP_NUM_THREADS": "1",
    }
    process = subprocess.Popen(
        [
            *(str(MODEL_PYTHON), "model_server/serve", "serve", "--model-dir", str(model_dir)),
            *("--host", "127.0.0.1", "--port", str(port)),
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the model server did not start"
            time.sleep(0.2)
        yield ModelServer(url, log)
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def dev_server(model_server: ModelServer) -> Iterator[str]:
    options = ("--api-key", API_KEY, "--sagemaker-model-url", model_server.url)
    # The garment is served on 127.0.0.1.
    with dev_server_process(*options, env={"TRYON_ALLOW_PRIVATE_GARMENT_URLS": "1"}) as (url, banner):
        assert any("SageMaker invocations go to the model server" in line for line in banner)
        yield url


def generate(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{url}/generate_image",
        data=json.dumps(body).encode(),
        headers={"X-API-Key": API_KEY, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize(("mode", "with_garment"), [("studio", False), ("environment", True)])
def test_the_dev_server_answers_a_jpeg_made_by_the_model_server(
    request: pytest.FixtureRequest, dev_server: str, garment_url: str, mode: str, with_garment: bool
) -> None:
    status, payload = generate(dev_server, request_body(mode, garment_url if with_garment else None))
    assert status == 200, payload
    assert payload["mime_type"] == "image/jpeg"
    image = Image.open(io.BytesIO(base64.b64decode(payload["image_base64"])))
    selfie = Image.open(io.BytesIO(person_photo()))
    assert image.format == "JPEG"
    assert image.size == EXPECTED_SIZE[request.node.callspec.params["model_server"]]
    assert abs(image.width / image.height - selfie.width / selfie.height) < 0.02


def test_a_refusal_by_the_model_server_is_a_422(dev_server: str) -> None:
    status, payload = generate(dev_server, request_body("studio", clothing_description="nude"))
    assert status == 422, payload
    assert "error" in payload


@pytest.mark.parametrize("photo", sorted(no_person_photos()))
def test_a_selfie_without_a_person_is_a_422_and_the_model_server_is_never_called(
    dev_server: str, model_server: ModelServer, photo: str
) -> None:
    before = model_server.invocations()
    body = {**request_body("studio"), "selfie_base64": b64(no_person_photos()[photo])}
    status, payload = generate(dev_server, body)
    assert (status, payload) == (422, {"error": "selfie_base64 shows no person"})
    status, payload = generate(dev_server, request_body("studio"))  # a person: the model is called
    assert status == 200, payload
    deadline = time.monotonic() + 10  # uvicorn writes its access line just after the answer
    while model_server.invocations() < before + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert model_server.invocations() == before + 1  # only the person's request reached the model


@pytest.mark.parametrize(("category", "output_format"), [("bottoms", "png"), ("one-pieces", "webp")])
def test_the_model_server_takes_the_garment_category_and_the_answer_its_format(
    request: pytest.FixtureRequest, dev_server: str, category: str, output_format: str
) -> None:
    body = {**request_body("studio", garment_category=category), "output_format": output_format}
    status, payload = generate(dev_server, body)
    assert status == 200, payload
    assert payload["mime_type"] == f"image/{output_format}"
    image = Image.open(io.BytesIO(base64.b64decode(payload["image_base64"])))
    family = request.node.callspec.params["model_server"]
    assert image.format == output_format.upper() and image.size == EXPECTED_SIZE[family]

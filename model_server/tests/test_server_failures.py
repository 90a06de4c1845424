"""Loading and model failures, with a model the test supplies, over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading

from PIL import Image

from tests.conftest import InProcessServer, http, tryon_body
from tryon_model_server.app import ModelSlot
from tryon_model_server.contract import TryOnRequest
from tryon_model_server.settings import ServerSettings

SETTINGS = ServerSettings(model_dir=None)  # type: ignore[arg-type]


class OutOfMemoryModel:
    def generate(self, request: TryOnRequest) -> Image.Image:
        raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")


def test_a_model_exception_becomes_a_500_that_names_it() -> None:
    slot = ModelSlot(OutOfMemoryModel)
    with InProcessServer(slot, SETTINGS) as server:
        assert http(f"{server.url}/ping").status == 200
        answer = http(f"{server.url}/invocations", json.dumps(tryon_body()).encode())
    assert answer.status == 500
    assert answer.body == {"error": "the model failed: RuntimeError: CUDA out of memory. Tried to allocate 20.00 GiB"}


def test_ping_and_invocations_answer_503_while_the_model_loads() -> None:
    release = threading.Event()

    def slow_loader() -> OutOfMemoryModel:
        release.wait(30)
        return OutOfMemoryModel()

    slot = ModelSlot(slow_loader)
    with InProcessServer(slot, SETTINGS) as server:
        try:
            assert http(f"{server.url}/ping").status == 503
            answer = http(f"{server.url}/invocations", json.dumps(tryon_body()).encode())
            assert answer.status == 503
            assert answer.body == {"error": "the model is still loading"}
        finally:
            release.set()
        assert slot.ready.wait(10)
        assert http(f"{server.url}/ping").status == 200


def test_a_model_that_fails_to_load_makes_ping_fail_with_the_reason() -> None:
    def broken_loader() -> OutOfMemoryModel:
        raise FileNotFoundError("/opt/ml/model/model_index.json")

    slot = ModelSlot(broken_loader)
    with InProcessServer(slot, SETTINGS) as server:
        assert slot.ready.wait(10)
        ping = http(f"{server.url}/ping")
        answer = http(f"{server.url}/invocations", json.dumps(tryon_body()).encode())
    assert ping.status == 500
    assert ping.body == {"error": "the model failed to load: FileNotFoundError: /opt/ml/model/model_index.json"}
    assert answer.status == 503
    assert "failed to load" in answer.body["error"]


def test_bad_payloads_are_answered_even_while_the_model_loads() -> None:
    release = threading.Event()
    slot = ModelSlot(lambda: release.wait(30) and OutOfMemoryModel())
    with InProcessServer(slot, SETTINGS) as server:
        try:
            answer = http(f"{server.url}/invocations", json.dumps(tryon_body(mode="beach")).encode())
        finally:
            release.set()
    assert answer.status == 400
    assert answer.body["error"].startswith("mode:")

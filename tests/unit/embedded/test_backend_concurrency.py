"""The embedded backend renders at most ``concurrency`` images at once; the rest wait their turn."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image

from tryon_api.backends.embedded import backend as backend_module
from tryon_api.backends.embedded.backend import EmbeddedTryOnBackend
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import UpstreamTimeout
from tryon_api.tryon.interface import GenerationInput


def job() -> GenerationInput:
    return GenerationInput(Image.new("RGB", (64, 64), "grey"), "red shirt", "studio", seed=1)


class HeldRender:
    """Stands in for render_try_on: counts renders in flight and holds each until released."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.started = threading.Semaphore(0)
        self.release = threading.Event()

    def __call__(self, person: Image.Image, *args: Any, **kwargs: Any) -> SimpleNamespace:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.started.release()
        # Held until the test releases it; the bound (pytest-timeout's is the suite's) only ends a
        # test that failed, so it is far longer than any busy machine's pause.
        assert self.release.wait(timeout=120), "never released"
        with self.lock:
            self.in_flight -= 1
        description = SimpleNamespace(garment_class="top")
        return SimpleNamespace(image=person, scene="studio", description=description, garment_category="tops")


@pytest.fixture
def render(monkeypatch: pytest.MonkeyPatch) -> HeldRender:
    held = HeldRender()
    monkeypatch.setattr(backend_module, "render_try_on", held)
    return held


def test_renders_never_exceed_the_concurrency(render: HeldRender) -> None:
    backend = EmbeddedTryOnBackend(preload=False, concurrency=2)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(backend.generate(job(), Deadline.after(30)).mime_type))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    assert render.started.acquire(timeout=120) and render.started.acquire(timeout=120)
    assert not render.started.acquire(timeout=0.2)  # the third waits for a slot
    render.release.set()
    for thread in threads:
        thread.join(timeout=120)
    assert results == ["image/jpeg"] * 6
    assert render.most_in_flight == 2


def test_a_request_whose_deadline_passes_while_waiting_gets_504(render: HeldRender) -> None:
    backend = EmbeddedTryOnBackend(preload=False, concurrency=1)
    first = threading.Thread(target=backend.generate, args=(job(), Deadline.after(30)))
    first.start()
    assert render.started.acquire(timeout=120)
    with pytest.raises(UpstreamTimeout):
        backend.generate(job(), Deadline.after(0.1))
    render.release.set()
    first.join(timeout=120)
    assert render.most_in_flight == 1


def test_default_concurrency_is_one_per_cpu() -> None:
    assert EmbeddedTryOnBackend(preload=False).concurrency >= 1

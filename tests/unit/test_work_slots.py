"""One limiter for decoding and rendering, and one time budget for the garment's fetch and decode."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from PIL import Image

from tests.fakes import ScriptedBackend, freeze_deadlines, solid_jpeg
from tryon_api.backends.embedded.backend import EmbeddedTryOnBackend
from tryon_api.backends.factory import create_backend
from tryon_api.settings import Settings
from tryon_api.tryon import pipeline as pipeline_module
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import UpstreamTimeout
from tryon_api.tryon.interface import TryOnRequest
from tryon_api.tryon.pipeline import TryOnService
from tryon_api.tryon.work_slots import WorkSlots


def request(url: str | None = None) -> TryOnRequest:
    return TryOnRequest(solid_jpeg(), "red shirt", "studio", url)


def test_the_embedded_backend_renders_under_the_pipelines_slots() -> None:
    slots = WorkSlots(3)
    backend = EmbeddedTryOnBackend(preload=False, slots=slots)
    assert backend.slots is slots and backend.concurrency == 3


def test_the_factory_hands_the_slots_to_the_embedded_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    from tryon_api.backends.embedded import backend as embedded_module

    monkeypatch.setattr(embedded_module, "load_models", lambda: None)
    slots = WorkSlots(2)
    backend = create_backend(Settings(backend="embedded"), slots=slots)
    assert getattr(backend, "slots", None) is slots


def test_decoding_the_selfie_and_the_garment_holds_a_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    slots = WorkSlots(1)
    seen: list[int] = []
    real_load_image = pipeline_module.load_image
    real_load_garment = pipeline_module.load_garment_image

    def recording(real: Any) -> Any:
        def load(*args: Any, **kwargs: Any) -> Image.Image:
            seen.append(slots.in_use)
            return real(*args, **kwargs)

        return load

    monkeypatch.setattr(pipeline_module, "load_image", recording(real_load_image))
    monkeypatch.setattr(pipeline_module, "load_garment_image", recording(real_load_garment))
    service = TryOnService(ScriptedBackend(), lambda url, deadline: solid_jpeg(), 6_000_000, slots=slots)
    service.generate(request("http://garment.test/x.jpg"), Deadline.after(30))
    assert seen == [1, 1]
    assert slots.in_use == 0


def test_decoding_waits_for_a_free_slot_and_gives_up_at_the_deadline() -> None:
    slots = WorkSlots(1)
    service = TryOnService(ScriptedBackend(), lambda url, deadline: b"", 6_000_000, slots=slots)
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with slots.hold(Deadline.after(30)):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        with pytest.raises(UpstreamTimeout):
            service.generate(request(), Deadline.after(0.2))
    finally:
        release.set()
        holder.join(5)
    assert slots.most_in_use == 1


def test_the_garment_budget_covers_decoding_not_only_the_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = freeze_deadlines(monkeypatch)

    def slow_fetch(url: str, deadline: Deadline) -> bytes:
        clock.advance(deadline.remaining() + 0.05)  # the bytes arrive just after the budget ends
        return solid_jpeg((600, 600))

    service = TryOnService(ScriptedBackend(), slow_fetch, 6_000_000, garment_timeout_seconds=0.2)
    with pytest.raises(UpstreamTimeout) as timed_out:
        service.generate(request("http://garment.test/x.jpg"), Deadline.after(30))
    assert timed_out.value.message == "clothing_image_url did not answer in time"


def test_a_garment_inside_its_budget_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = freeze_deadlines(monkeypatch)

    def fetch(url: str, deadline: Deadline) -> bytes:
        clock.advance(deadline.remaining() - 0.05)  # the bytes arrive just before the budget ends
        return solid_jpeg((600, 600))

    backend = ScriptedBackend()
    TryOnService(backend, fetch, 6_000_000, garment_timeout_seconds=0.2).generate(
        request("http://garment.test/x.jpg"), Deadline.after(30)
    )
    assert len(backend.jobs) == 1 and backend.jobs[0].garment is not None


def test_the_garment_budget_is_the_fetch_timeout_within_the_request_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_deadlines(monkeypatch)
    budgets: list[float] = []

    def fetch(url: str, deadline: Deadline) -> bytes:
        budgets.append(deadline.remaining())
        return solid_jpeg((600, 600))

    TryOnService(ScriptedBackend(), fetch, 6_000_000, garment_timeout_seconds=5).generate(
        request("http://garment.test/x.jpg"), Deadline.after(30)
    )
    TryOnService(ScriptedBackend(), fetch, 6_000_000, garment_timeout_seconds=5).generate(
        request("http://garment.test/x.jpg"), Deadline.after(2)
    )
    assert budgets == [5, 2]

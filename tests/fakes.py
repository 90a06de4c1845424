"""Test doubles that stand in for a generation backend in handler-level unit tests."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageOps

from tryon_api.jobs.dependencies import JobDependencies
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import TryOnError
from tryon_api.tryon.interface import GeneratedImage, GenerationInput, ImageLimits


class ScriptedBackend:
    """Returns the mirrored person as PNG, or raises the error it was given; records jobs."""

    name = "scripted"
    input_limits = ImageLimits(max_side=1024, max_pixels=1024 * 1024)

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.jobs: list[GenerationInput] = []

    def generate(self, generation: GenerationInput, deadline: Deadline) -> GeneratedImage:
        self.jobs.append(generation)
        if self.error is not None:
            raise self.error
        buffer = io.BytesIO()
        ImageOps.mirror(generation.person).save(buffer, "PNG")
        return GeneratedImage(buffer.getvalue(), "image/png")


def raising(error: TryOnError | Exception) -> ScriptedBackend:
    return ScriptedBackend(error)


def solid_jpeg(size: tuple[int, int] = (400, 500), colour: tuple[int, int, int] = (120, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


def no_jobs() -> JobDependencies:
    """The jobs getter of services built for tests that never call the jobs routes."""
    raise AssertionError("these test services serve no jobs")


class ManualClock:
    """``time.monotonic`` for code under test that only moves when the test says so: budgets and
    deadlines are checked exactly, whatever else the machine is doing."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def freeze_deadlines(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """Every ``Deadline`` (tryon/deadline.py) reads the returned clock from now until the test ends."""
    from tryon_api.tryon import deadline as deadline_module

    clock = ManualClock()
    monkeypatch.setattr(deadline_module, "time", clock)
    return clock

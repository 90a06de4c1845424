"""The one interface every generation backend implements, and the factory that picks one.

Backends are imported only when chosen so that the Lambda never loads the embedded
backend's heavy dependencies, and a laptop never needs AWS credentials.
"""

from __future__ import annotations

from typing import Protocol

from handler.deadline import Deadline
from handler.models import GeneratedImage, GenerationInput, ImageLimits
from handler.settings import Settings


class TryOnBackend(Protocol):
    name: str
    input_limits: ImageLimits

    def generate(self, job: GenerationInput, deadline: Deadline) -> GeneratedImage:
        """Dress the person in ``job`` and return the encoded image.

        Raises ``handler.errors.TryOnError`` subclasses for every failure it understands.
        """
        ...


def create_backend(settings: Settings) -> TryOnBackend:
    if settings.backend == "embedded":
        from handler.backends.embedded import EmbeddedTryOnBackend

        return EmbeddedTryOnBackend()
    raise NotImplementedError(f"backend {settings.backend!r} is not available in this build")

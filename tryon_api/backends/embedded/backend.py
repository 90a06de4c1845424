"""The embedded backend: the whole preview pipeline on one CPU, behind the backend interface."""

from __future__ import annotations

import io
import time

from tryon_api.backends.embedded.person_analysis import load_models
from tryon_api.backends.embedded.pipeline import render_try_on
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.interface import GeneratedImage, GenerationInput, ImageLimits
from tryon_api.tryon.work_slots import WorkSlots


class EmbeddedTryOnBackend:
    """An offline preview: the person's photo re-dressed by image processing, no diffusion model."""

    name = "embedded"
    input_limits = ImageLimits(max_side=1024, max_pixels=1024 * 1024)

    def __init__(self, preload: bool = True, concurrency: int = 0, slots: WorkSlots | None = None) -> None:
        # The work is CPU-bound: more images at once than cores only multiplies the memory in
        # use (50 concurrent requests on the dev server held 2+ GB), so the rest wait their turn.
        # ``slots`` is the pipeline's limiter, shared with decoding (see tryon/work_slots.py).
        self.slots = slots or WorkSlots(concurrency)
        self.concurrency = self.slots.size
        if preload:
            load_models()

    def generate(self, generation: GenerationInput, deadline: Deadline) -> GeneratedImage:
        started = time.perf_counter()
        with self.slots.hold(deadline):
            result = render_try_on(
                generation.person,
                generation.clothing_description,
                mode=generation.mode,
                seed=generation.seed,
                garment=generation.garment,
                deadline=deadline,
                garment_category=generation.garment_category,
            )
        buffer = io.BytesIO()
        result.image.save(buffer, "JPEG", quality=93, subsampling=0)
        return GeneratedImage(
            buffer.getvalue(),
            "image/jpeg",
            details={
                "scene": result.scene,
                "garment_class": result.description.garment_class,
                "garment_category": result.garment_category,
                "seconds": round(time.perf_counter() - started, 3),
            },
        )

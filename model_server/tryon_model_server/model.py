"""The try-on model: the serving family's pipeline, loaded from the model directory, and its call.

The family (``families/``, picked by ``settings.family``) owns how its pipeline loads and is called;
the real weights in the container (``/opt/ml/model``, bf16 on the GPU) and the tiny random models
in tests (float32 on the CPU) go through the same loading path.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Protocol

from PIL import Image

from tryon_model_server.contract import TryOnRequest
from tryon_model_server.families import get_family
from tryon_model_server.families.interface import ModelFamily
from tryon_model_server.loading import load_dtype, resolve_device
from tryon_model_server.settings import ServerSettings

logger = logging.getLogger("tryon_model_server")


class TryOnModel(Protocol):
    def generate(self, request: TryOnRequest) -> Image.Image: ...


def output_size(person_size: tuple[int, int], pixels: int, multiple: int) -> tuple[int, int]:
    """(width, height) with the person photo's aspect ratio, about ``pixels`` in area, each side a
    multiple of what the latent packing needs."""
    width, height = person_size
    ratio = width / height
    out_width = max(multiple, round(math.sqrt(pixels * ratio) / multiple) * multiple)
    out_height = max(multiple, round(math.sqrt(pixels / ratio) / multiple) * multiple)
    return out_width, out_height


class DiffusersTryOnModel:
    def __init__(self, family: ModelFamily, pipe: Any, settings: ServerSettings, device: str) -> None:
        self.family = family
        self.pipe = pipe
        self.settings = settings
        self.device = device

    @classmethod
    def load(cls, settings: ServerSettings) -> DiffusersTryOnModel:
        started = time.monotonic()
        family = get_family(settings.family)
        device = resolve_device(settings.device)
        pipe = family.load_pipeline(settings, device)
        steps = f"{settings.default_steps} fixed" if settings.distilled else f"{settings.default_steps}"
        logger.info(
            "%s loaded from %s on %s (%s, lora=%s, quantization=%s, steps=%s) in %.1f s",
            family.name,
            settings.model_dir,
            device,
            load_dtype(device, settings.quantization),
            settings.lora_path,
            settings.quantization,
            steps if settings.distilled else f"{steps}, at most {settings.max_steps}",
            time.monotonic() - started,
        )
        return cls(family, pipe, settings, device)

    def generate(self, request: TryOnRequest) -> Image.Image:
        return self.family.generate(self.pipe, request, self.settings, self.device)

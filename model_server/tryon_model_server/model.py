"""Qwen-Image-Edit-2511 as a try-on model: load the pipeline from the model directory, edit.

``loading.load_pipeline`` is the one loading path: the real weights in the container
(``/opt/ml/model``, bf16 on the GPU) and the tiny random model in tests (float32 on the CPU)
go through it alike.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Protocol

from PIL import Image

from tryon_model_server.contract import TryOnRequest
from tryon_model_server.loading import load_dtype, load_pipeline, resolve_device
from tryon_model_server.prompts import tryon_prompt
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


class QwenEditTryOnModel:
    def __init__(self, pipe: Any, settings: ServerSettings, device: str) -> None:
        self.pipe = pipe
        self.settings = settings
        self.device = device

    @classmethod
    def load(cls, settings: ServerSettings) -> QwenEditTryOnModel:
        started = time.monotonic()
        device = resolve_device(settings.device)
        pipe = load_pipeline(settings, device)
        steps = f"{settings.default_steps} fixed" if settings.distilled else f"{settings.default_steps}"
        logger.info(
            "model loaded from %s on %s (%s, lora=%s, quantization=%s, steps=%s) in %.1f s",
            settings.model_dir,
            device,
            load_dtype(device, settings.quantization),
            settings.lora_path,
            settings.quantization,
            steps if settings.distilled else f"{steps}, at most {settings.max_steps}",
            time.monotonic() - started,
        )
        return cls(pipe, settings, device)

    def generate(self, request: TryOnRequest) -> Image.Image:
        import torch

        prompt = tryon_prompt(
            request.garment_description, request.mode, request.garment is not None, request.garment_category
        )
        images = [request.person] if request.garment is None else [request.person, request.garment]
        width, height = output_size(request.person.size, self.settings.output_pixels, self.pipe.vae_scale_factor * 2)
        generator = torch.Generator(device=self.device).manual_seed(request.seed)
        with torch.inference_mode():
            result = self.pipe(
                image=images,
                prompt=prompt.prompt,
                # Without true CFG (a few-step LoRA) a negative prompt would only cost an encoding.
                negative_prompt=prompt.negative_prompt if self.settings.true_cfg_scale > 1 else None,
                true_cfg_scale=self.settings.true_cfg_scale,
                num_inference_steps=self.settings.steps_for(request.num_inference_steps),
                height=height,
                width=width,
                generator=generator,
                output_type="pil",
            )
        return result.images[0]

"""Qwen-Image-Edit-2511 as a try-on model: load the pipeline from the model directory, edit.

``QwenImageEditPlusPipeline.from_pretrained(model_dir)`` is the one loading path: the real
weights in the container (``/opt/ml/model``, bf16 on the GPU) and the tiny random model in tests
(float32 on the CPU) go through it alike.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from tryon_model_server.contract import TryOnRequest
from tryon_model_server.processor import load_processor
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


def resolve_device(setting: str) -> str:
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("TRYON_DEVICE=cuda but no CUDA device is available")
    return setting


def _load_lora(pipe: Any, lora_path: Path) -> None:
    if not lora_path.exists():
        raise FileNotFoundError(f"TRYON_LORA_PATH {lora_path} does not exist")
    if lora_path.is_file():
        pipe.load_lora_weights(str(lora_path.parent), weight_name=lora_path.name, adapter_name="fewstep")
    else:
        pipe.load_lora_weights(str(lora_path), adapter_name="fewstep")
    # Merged into the weights: no LoRA cost per step, and the quantizer sees plain linear layers.
    pipe.fuse_lora(adapter_names=["fewstep"], lora_scale=1.0)
    pipe.unload_lora_weights()


def _quantize_fp8(transformer: Any) -> None:
    try:
        from torchao.quantization import Float8WeightOnlyConfig, quantize_
    except ImportError:
        raise RuntimeError("TRYON_QUANTIZATION=fp8 needs torchao (requirements.txt installs it)") from None
    quantize_(transformer, Float8WeightOnlyConfig())


class QwenEditTryOnModel:
    def __init__(self, pipe: Any, settings: ServerSettings, device: str) -> None:
        self.pipe = pipe
        self.settings = settings
        self.device = device

    @classmethod
    def load(cls, settings: ServerSettings) -> QwenEditTryOnModel:
        import torch
        from diffusers import QwenImageEditPlusPipeline

        started = time.monotonic()
        device = resolve_device(settings.device)
        dtype = torch.bfloat16 if device == "cuda" else torch.float32
        pipe = QwenImageEditPlusPipeline.from_pretrained(
            str(settings.model_dir), processor=load_processor(settings.model_dir), dtype=dtype
        )
        if settings.lora_path is not None:
            _load_lora(pipe, settings.lora_path)
        # The transformer goes to the GPU first and is quantized there, before the text encoder
        # joins it: peak memory is the larger of the two stages, not their sum.
        pipe.transformer.to(device)
        if settings.quantization == "fp8":
            _quantize_fp8(pipe.transformer)
        pipe.to(device)
        pipe.set_progress_bar_config(disable=True)
        logger.info(
            "model loaded from %s on %s (%s, lora=%s, quantization=%s) in %.1f s",
            settings.model_dir,
            device,
            dtype,
            settings.lora_path,
            settings.quantization,
            time.monotonic() - started,
        )
        return cls(pipe, settings, device)

    def generate(self, request: TryOnRequest) -> Image.Image:
        import torch

        prompt = tryon_prompt(request.garment_description, request.mode, request.garment is not None)
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
                num_inference_steps=request.num_inference_steps or self.settings.default_steps,
                height=height,
                width=width,
                generator=generator,
                output_type="pil",
            )
        return result.images[0]

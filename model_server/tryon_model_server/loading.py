"""Load Qwen-Image-Edit-2511 from a model directory, one component at a time, onto its device.

``QwenImageEditPlusPipeline.from_pretrained`` builds every component in host memory before
anything moves: about 58 GB of bf16 weights on an ``ml.g6e.2xlarge`` with 64 GiB of RAM. Here each
model component is read with its own ``from_pretrained(device_map=...)``, which streams the
safetensors shards onto the device (accelerate's low-memory loading), so host memory holds at
most one component's tensors in flight, and the pipeline is assembled from the loaded parts.

The order keeps the GPU peak low too: the transformer first, its few-step LoRA fused and its
weights quantized in place, and only then the text encoder and the VAE.

The real weights in the container and the tiny random model in tests go through this one path.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from tryon_model_server.processor import load_processor
from tryon_model_server.settings import ServerSettings

logger = logging.getLogger("tryon_model_server")

# The schedule ModelTC/Qwen-Image-Lightning distilled its LoRAs on (their diffusers example, and
# diffusers' Qwen-Image documentation): flow matching at a fixed shift of 3, whatever the image
# size (base_shift = max_shift), exponential time shift, and no terminal stretch. On the base
# model's schedule (shift 0.5-0.9 by size, shift_terminal 0.02) a 4-step LoRA runs on the wrong
# noise levels: 4 steps at 1 MP give sigmas [1, .77, .46, .02] instead of [1, .90, .75, .50].
LIGHTNING_SCHEDULER_CONFIG: dict[str, Any] = {
    "base_shift": math.log(3),
    "max_shift": math.log(3),
    "shift": 1.0,
    "shift_terminal": None,
    "time_shift_type": "exponential",
    "use_dynamic_shifting": True,
    "invert_sigmas": False,
    "stochastic_sampling": False,
    "use_karras_sigmas": False,
    "use_exponential_sigmas": False,
    "use_beta_sigmas": False,
}

# fp8 with dynamic activation scales needs fp8 tensor cores: compute capability 8.9 (L40S, L4)
# or 9.0 (H100, H200). Older GPUs (A10G, A100: 8.6, 8.0) and the CPU take int8 weight-only, which
# halves the transformer's memory like fp8 but computes in bf16.
FP8_MIN_CAPABILITY = (8, 9)


def resolve_device(setting: str) -> str:
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("TRYON_DEVICE=cuda but no CUDA device is available")
    return setting


def load_dtype(device: str, quantization: str) -> Any:
    """bf16 on the GPU; float32 on the CPU, except when quantizing (fp8 scales rows of bf16)."""
    import torch

    return torch.bfloat16 if device == "cuda" or quantization != "none" else torch.float32


def build_scheduler(model_dir: Path, distilled: bool) -> Any:
    """The model directory's scheduler; reconfigured as Lightning was distilled when a LoRA is fused."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    scheduler = FlowMatchEulerDiscreteScheduler.from_pretrained(str(model_dir), subfolder="scheduler")
    if distilled:
        scheduler = FlowMatchEulerDiscreteScheduler.from_config(scheduler.config, **LIGHTNING_SCHEDULER_CONFIG)
    return scheduler


def compute_capability(device: str) -> tuple[int, int] | None:
    import torch

    return torch.cuda.get_device_capability(device) if device == "cuda" else None


def quantization_config(quantization: str, capability: tuple[int, int] | None) -> Any | None:
    """torchao's config for TRYON_QUANTIZATION on this device: fp8 weights and per-row dynamic fp8
    activations on sm89+, int8 weight-only below (see FP8_MIN_CAPABILITY); None for ``none``."""
    if quantization == "none":
        return None
    try:
        from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, Int8WeightOnlyConfig, PerRow
    except ImportError:
        raise RuntimeError("TRYON_QUANTIZATION=fp8 needs torchao (the image installs it)") from None
    if capability is not None and capability >= FP8_MIN_CAPABILITY:
        return Float8DynamicActivationFloat8WeightConfig(granularity=PerRow())
    return Int8WeightOnlyConfig()


def quantize_transformer(transformer: Any, config: Any) -> None:
    """Quantize the transformer's linear layers in place, on its device, one layer at a time.

    The embedding and output projections (the first and last layers) stay in bf16, as is usual
    for fp8 inference: they are a negligible share of the FLOPs and the most sensitive to error.
    """
    from torchao.quantization import quantize_

    keep = {"img_in", "txt_in", "proj_out"}

    def quantizable(module: Any, fqn: str) -> bool:
        import torch

        return isinstance(module, torch.nn.Linear) and fqn not in keep

    quantize_(transformer, config, filter_fn=quantizable)


def fuse_lora(transformer: Any, lora_path: Path) -> None:
    """Merge a few-step LoRA into the transformer's weights: no LoRA cost per step, and the
    quantizer then sees plain linear layers. diffusers loads LoRAs through a pipeline, so a
    pipeline holding only the transformer does it."""
    from diffusers import QwenImageEditPlusPipeline

    if not lora_path.exists():
        raise FileNotFoundError(f"TRYON_LORA_PATH {lora_path} does not exist")
    holder = QwenImageEditPlusPipeline(None, None, None, None, None, transformer)  # type: ignore[arg-type]
    if lora_path.is_file():
        holder.load_lora_weights(str(lora_path.parent), weight_name=lora_path.name, adapter_name="fewstep")
    else:
        holder.load_lora_weights(str(lora_path), adapter_name="fewstep")
    holder.fuse_lora(adapter_names=["fewstep"], lora_scale=1.0)
    holder.unload_lora_weights()


def load_pipeline(settings: ServerSettings, device: str) -> Any:
    """The production loading path: each component straight to ``device``, then the pipeline."""
    from diffusers import AutoencoderKLQwenImage, QwenImageEditPlusPipeline, QwenImageTransformer2DModel
    from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2Tokenizer

    model_dir = settings.model_dir
    dtype = load_dtype(device, settings.quantization)
    config = quantization_config(settings.quantization, compute_capability(device))
    on_device = {"device_map": device, "low_cpu_mem_usage": True}

    transformer = QwenImageTransformer2DModel.from_pretrained(
        str(model_dir), subfolder="transformer", torch_dtype=dtype, **on_device
    )
    if settings.lora_path is not None:
        fuse_lora(transformer, settings.lora_path)
    if config is not None:
        quantize_transformer(transformer, config)
    # The text encoder and the VAE join once the transformer has shrunk to its final size.
    text_encoder = Qwen2_5_VLForConditionalGeneration.from_pretrained(
        str(model_dir / "text_encoder"), dtype=dtype, device_map=device
    )
    vae = AutoencoderKLQwenImage.from_pretrained(str(model_dir), subfolder="vae", torch_dtype=dtype, **on_device)
    pipe = QwenImageEditPlusPipeline(
        scheduler=build_scheduler(model_dir, settings.distilled),
        vae=vae.eval(),
        text_encoder=text_encoder.eval(),
        tokenizer=Qwen2Tokenizer.from_pretrained(str(model_dir / "tokenizer")),
        processor=load_processor(model_dir),
        transformer=transformer.eval(),
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe

"""Loading helpers every model family shares: the device, the dtype, fp8 quantization.

Each family's adapter (``families/``) loads its pipeline one component at a time with these:
``Pipeline.from_pretrained`` would build every component in host memory before anything moves
(about 58 GB of bf16 weights for Qwen-Image-Edit on an ``ml.g6e.2xlarge`` with 64 GiB of RAM),
while each component's own ``from_pretrained(device_map=...)`` streams its safetensors shards onto
the device, so host memory holds at most one component's tensors in flight. The transformer goes
first and is quantized in place, then the text encoder and the VAE join: the GPU peak stays low too.

The real weights in the container and the tiny random models in tests go through this one path.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("tryon_model_server")

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


def quantize_transformer(transformer: Any, config: Any, keep: frozenset[str]) -> None:
    """Quantize the transformer's linear layers in place, on its device, one layer at a time.

    The embedding and output projections (the first and last layers, ``keep``: each family names
    its own) stay in bf16, as is usual for fp8 inference: they are a negligible share of the FLOPs
    and the most sensitive to error.
    """
    from torchao.quantization import quantize_

    def quantizable(module: Any, fqn: str) -> bool:
        import torch

        return isinstance(module, torch.nn.Linear) and fqn not in keep

    quantize_(transformer, config, filter_fn=quantizable)

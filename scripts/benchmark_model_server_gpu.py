"""Latency and peak GPU memory of the try-on model at full size, with random weights.

Builds Qwen-Image-Edit-2511's architecture at its published sizes (the values below are copied
from the ``config.json`` files of the Hugging Face repositories ``Qwen/Qwen-Image-Edit-2511``
(transformer/, vae/, scheduler/) and ``Qwen/Qwen2.5-VL-7B-Instruct`` (the text encoder), with
random weights made on the GPU: nothing is downloaded. Latency does not depend on the weights'
values, so these are the figures that choose the instance type and real-time versus async.

For each weight format (bf16; TRYON_QUANTIZATION=fp8 as the server applies it: the server's own
``loading.quantization_config`` and ``quantize_transformer``, i.e. fp8 weights and per-row dynamic
fp8 activations on sm89+, int8 weight-only below) it prints the seconds per request for a
1024x1024 result from a 1024x1024 person photo and a garment photo, at the default steps (40, true
CFG: two transformer passes per step) and the few-step setting (4 steps, no CFG, on the server's
Lightning scheduler: what a fused Lightning LoRA runs; a fused LoRA adds no per-step cost), and
the peak GPU memory. The weights are made on the GPU, in the order the server loads them
(transformer, quantized in place, then the text encoder and the VAE), not read from files.

The tokenizer is a byte-level one built offline (one token per byte), so the text part of the
sequence is about 3x longer than with Qwen's real BPE: the figures err on the slow side.

    python scripts/benchmark_model_server_gpu.py [--runs 3] [--quantization both]
    python scripts/benchmark_model_server_gpu.py --tiny-on-cpu   # the same code path, tiny sizes, on a CPU
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

MODEL_SERVER = Path(__file__).resolve().parents[1] / "model_server"

# Qwen/Qwen-Image-Edit-2511 transformer/config.json
TRANSFORMER_CONFIG: dict[str, Any] = {
    "patch_size": 2,
    "in_channels": 64,
    "out_channels": 16,
    "num_layers": 60,
    "attention_head_dim": 128,
    "num_attention_heads": 24,
    "joint_attention_dim": 3584,
    "guidance_embeds": False,
    "axes_dims_rope": (16, 56, 56),
    "zero_cond_t": True,
}
# Qwen/Qwen-Image-Edit-2511 vae/config.json (latents_mean/std: the class defaults, which are those values)
VAE_CONFIG: dict[str, Any] = {
    "base_dim": 96,
    "z_dim": 16,
    "dim_mult": [1, 2, 4, 4],
    "num_res_blocks": 2,
    "attn_scales": [],
    "temperal_downsample": [False, True, True],
    "dropout": 0.0,
}
# Qwen/Qwen-Image-Edit-2511 scheduler/scheduler_config.json
SCHEDULER_CONFIG: dict[str, Any] = {
    "base_image_seq_len": 256,
    "base_shift": 0.5,
    "max_image_seq_len": 8192,
    "max_shift": 0.9,
    "num_train_timesteps": 1000,
    "shift": 1.0,
    "shift_terminal": 0.02,
    "time_shift_type": "exponential",
    "use_dynamic_shifting": True,
}
# Qwen/Qwen2.5-VL-7B-Instruct config.json (Qwen-Image's text_encoder/)
TEXT_CONFIG: dict[str, Any] = {
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_hidden_layers": 28,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "max_position_embeddings": 128000,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "rope_scaling": {"type": "mrope", "rope_type": "default", "mrope_section": [16, 24, 24]},
    "vocab_size": 152064,
}
VISION_CONFIG: dict[str, Any] = {
    "depth": 32,
    "hidden_size": 1280,
    "intermediate_size": 3420,
    "num_heads": 16,
    "out_hidden_size": 3584,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
    "window_size": 112,
    "fullatt_block_indexes": [7, 15, 23, 31],
    "tokens_per_second": 2,
}


# --tiny-on-cpu: the same construction with every size cut down, to check the script on a CPU.
TINY_OVERRIDES: dict[str, dict[str, Any]] = {
    "transformer": {"num_layers": 1, "attention_head_dim": 16, "num_attention_heads": 2, "joint_attention_dim": 32,
                    "axes_dims_rope": (4, 6, 6)},
    "vae": {"base_dim": 4, "dim_mult": [1, 1, 1, 1, 1], "temperal_downsample": [False, False, True, True]},
    "text": {"hidden_size": 32, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
             "num_key_value_heads": 1, "rope_scaling": {"type": "mrope", "rope_type": "default",
                                                        "mrope_section": [2, 3, 3]}},
    "vision": {"depth": 1, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2, "out_hidden_size": 32,
               "fullatt_block_indexes": [0]},
}  # fmt: skip


def build_pipeline(device: str, tiny: bool, quantization: str) -> Any:
    import torch
    from diffusers import (
        AutoencoderKLQwenImage,
        FlowMatchEulerDiscreteScheduler,
        QwenImageEditPlusPipeline,
        QwenImageTransformer2DModel,
    )
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    sys.path.insert(0, str(MODEL_SERVER))
    from tryon_model_server import loading, tiny_model
    from tryon_model_server.processor import ImageOnlyQwen2VLProcessor

    def sized(name: str, config: dict[str, Any]) -> dict[str, Any]:
        return {**config, **TINY_OVERRIDES[name]} if tiny else config

    dtype = torch.float32 if tiny else torch.bfloat16
    tokenizer = tiny_model.build_tokenizer()
    image_processor = Qwen2VLImageProcessorPil(max_pixels=112 * 112) if tiny else Qwen2VLImageProcessorPil()
    processor = ImageOnlyQwen2VLProcessor(image_processor=image_processor, tokenizer=tokenizer)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in tiny_model.SPECIAL_TOKENS}
    config = Qwen2_5_VLConfig(
        text_config=sized("text", TEXT_CONFIG),
        vision_config=sized("vision", VISION_CONFIG),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        # Made on the GPU, in bf16, with each module's own random initialisation.
        with torch.device(device):
            transformer = QwenImageTransformer2DModel(**sized("transformer", TRANSFORMER_CONFIG))
            quantized = loading.quantization_config(quantization, loading.compute_capability(device))
            if quantized is not None:
                loading.quantize_transformer(transformer, quantized)
                print(f"[{quantization}] transformer quantized with torchao's {type(quantized).__name__}")
            text_encoder = Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=dtype)
            vae = AutoencoderKLQwenImage(**sized("vae", VAE_CONFIG))
    finally:
        torch.set_default_dtype(previous)
    return QwenImageEditPlusPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(**SCHEDULER_CONFIG),
        vae=vae.eval(),
        text_encoder=text_encoder.eval(),
        tokenizer=tokenizer,
        processor=processor,
        transformer=transformer.eval(),
    )


def scheduler_for(fewstep: bool) -> Any:
    """Qwen-Image's scheduler, or the server's reconfiguration of it for a fused Lightning LoRA."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    sys.path.insert(0, str(MODEL_SERVER))
    from tryon_model_server.loading import LIGHTNING_SCHEDULER_CONFIG

    overrides = LIGHTNING_SCHEDULER_CONFIG if fewstep else {}
    return FlowMatchEulerDiscreteScheduler(**{**SCHEDULER_CONFIG, **overrides})


def time_requests(pipe: Any, device: str, size: int, steps: int, cfg: float, runs: int, warmup: int) -> list[float]:
    import numpy as np
    import torch
    from PIL import Image

    sys.path.insert(0, str(MODEL_SERVER))
    from tryon_model_server.prompts import tryon_prompt

    rng = np.random.default_rng(0)
    person = Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    garment = Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    prompt = tryon_prompt("black leather jacket with a white t-shirt underneath", "studio", True)
    seconds = []
    for _ in range(warmup + runs):  # warm-up runs load kernels and fill the allocator
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        with torch.inference_mode():
            pipe(
                image=[person, garment],
                prompt=prompt.prompt,
                negative_prompt=prompt.negative_prompt if cfg > 1 else None,
                true_cfg_scale=cfg,
                num_inference_steps=steps,
                height=size,
                width=size,
                generator=torch.Generator(device=device).manual_seed(0),
            )
        if device == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - started)
    return seconds[warmup:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Try-on model latency and peak GPU memory, random weights")
    parser.add_argument("--size", type=int, default=1024, help="result side in px (default 1024)")
    parser.add_argument("--steps", type=int, default=40, help="default steps, with true CFG 4.0 (default 40)")
    parser.add_argument("--fewstep-steps", type=int, default=4, help="few-step setting, no CFG (default 4)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per setting after one warm-up")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    parser.add_argument("--quantization", choices=["none", "fp8", "both"], default="both")
    parser.add_argument("--tiny-on-cpu", action="store_true", help="tiny sizes on the CPU: checks the script only")
    args = parser.parse_args(argv)

    import torch

    if args.tiny_on_cpu:
        device = "cpu"
    elif not torch.cuda.is_available():
        print(
            "benchmark_model_server_gpu: needs a CUDA GPU (torch.cuda.is_available() is False): nothing measured. "
            "Run it on a GPU machine, or with --tiny-on-cpu to check the script.",
            file=sys.stderr,
        )
        return 2
    else:
        device = "cuda"
    formats = ["none", "fp8"] if args.quantization == "both" else [args.quantization]
    if "fp8" in formats and not args.tiny_on_cpu:
        try:
            import torchao  # noqa: F401
        except ImportError:
            print("torchao is not installed: fp8 is skipped (pip install torchao)", file=sys.stderr)
            formats.remove("fp8")
    if args.tiny_on_cpu:
        formats = [value for value in formats if value == "none" or args.quantization == "fp8"]
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else "CPU (tiny sizes: not a measurement)"
    print(f"device: {gpu}; torch {torch.__version__}; result {args.size}x{args.size}; person + garment image")
    for quantization in formats:
        if device == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        pipe = build_pipeline(device, args.tiny_on_cpu, quantization)
        pipe.set_progress_bar_config(disable=True)
        weights = torch.cuda.memory_allocated() / 2**30 if device == "cuda" else float("nan")
        print(f"[{quantization}] built in {time.perf_counter() - started:.0f} s; weights on the GPU: {weights:.1f} GiB")
        for label, steps, cfg in (("default", args.steps, 4.0), ("few-step", args.fewstep_steps, 1.0)):
            pipe.scheduler = scheduler_for(label == "few-step")
            seconds = time_requests(pipe, device, args.size, steps, cfg, args.runs, args.warmup)
            peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
            runs = ", ".join(f"{value:.2f}" for value in seconds)
            print(
                f"[{quantization}] {label}: {steps} steps, true CFG {cfg}: "
                f"median {statistics.median(seconds):.2f} s per request (runs: {runs}); "
                f"peak GPU memory so far {peak:.1f} GiB"
            )
        del pipe
        gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Seconds per image and peak GPU memory of a try-on model family at full size, with random weights.

Builds the family's architecture at its published sizes (the configurations the capacity plan
uses, with their sources: model_server/capacity_plan/architectures/<family>.json) with random
weights made on the GPU, through the family's own adapter (model_server/tryon_model_server/
families/): nothing is downloaded. Latency does not depend on the weights' values, so these are the
figures that check the plan's estimates and choose the instance type.

For each weight format (bf16; TRYON_QUANTIZATION=fp8 as the server applies it: fp8 weights and
per-row dynamic fp8 activations on sm89+, int8 weight-only below) it prints the seconds per image
for a square result from a same-size person photo and a garment photo, at the family's settings
(klein: its 4 distilled steps; Qwen: the few-step setting a fused Lightning LoRA runs, and its
base model's 40 steps with true CFG unless --steps 0), and the peak GPU memory.

The tokenizers are byte-level ones built offline (one token per byte): klein pads every prompt to
512 tokens anyway; Qwen's text is about 3x longer than with its real BPE, so its figures err slow.

    python scripts/benchmark_model_server_gpu.py --family flux2-klein-4b [--runs 3] [--quantization both]
    python scripts/benchmark_model_server_gpu.py --family F --tiny-on-cpu   # the same code path, tiny sizes, on a CPU
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

MODEL_SERVER = Path(__file__).resolve().parents[1] / "model_server"
ARCHITECTURES = MODEL_SERVER / "capacity_plan" / "architectures"


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def architecture_for(family: Any, tiny: bool) -> dict[str, Any]:
    """The published sizes, or (--tiny-on-cpu) every size cut down by the family's own overrides."""
    architecture: dict[str, Any] = json.loads((ARCHITECTURES / f"{family.name}.json").read_text())
    if tiny:
        for component, overrides in family.bench_tiny_overrides.items():
            architecture[component]["config"] = merged(architecture[component]["config"], overrides)
    return architecture


def time_setting(family: Any, pipe: Any, setting: tuple[str, int, float], device: str, size: int, runs: int,
                 warmup: int) -> list[float]:  # fmt: skip
    import numpy as np
    import torch
    from PIL import Image

    rng = np.random.default_rng(0)
    person = Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    garment = Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    seconds = []
    for _ in range(warmup + runs):  # warm-up runs load kernels and fill the allocator
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        family.bench_call(pipe, person, garment, setting, size, 0)
        if device == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - started)
    return seconds[warmup:]


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(MODEL_SERVER))
    from tryon_model_server.families import FAMILY_NAMES, get_family

    parser = argparse.ArgumentParser(description="Try-on model latency and peak GPU memory, random weights")
    parser.add_argument("--family", choices=FAMILY_NAMES, required=True)
    parser.add_argument("--size", type=int, default=1024, help="result, person and garment side in px (default 1024)")
    parser.add_argument("--steps", type=int, help="Qwen's base-model steps (default 40; 0 skips it); klein: its steps")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per setting after the warm-up")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    parser.add_argument("--quantization", choices=["none", "fp8", "both"], default="both")
    parser.add_argument("--tiny-on-cpu", action="store_true", help="tiny sizes on the CPU: checks the script only")
    args = parser.parse_args(argv)

    import torch

    family = get_family(args.family)
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
    print(
        f"{family.display_name} ({family.name}) on {gpu}; torch {torch.__version__}; "
        f"result {args.size}x{args.size}; person + garment image"
    )
    architecture = architecture_for(family, args.tiny_on_cpu)
    for quantization in formats:
        if device == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        dtype = torch.float32 if args.tiny_on_cpu and quantization == "none" else torch.bfloat16
        pipe = family.random_pipeline(architecture, device, dtype, quantization)
        pipe.set_progress_bar_config(disable=True)
        weights = torch.cuda.memory_allocated() / 2**30 if device == "cuda" else float("nan")
        print(f"[{quantization}] built in {time.perf_counter() - started:.0f} s; weights on the GPU: {weights:.1f} GiB")
        for setting in family.bench_settings(args.steps):
            label, steps, guidance = setting
            seconds = time_setting(family, pipe, setting, device, args.size, args.runs, args.warmup)
            peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
            runs = ", ".join(f"{value:.2f}" for value in seconds)
            print(
                f"[{quantization}] {label}: {steps} steps, guidance {guidance}: "
                f"median {statistics.median(seconds):.2f} s per image (runs: {runs}); "
                f"peak GPU memory so far {peak:.1f} GiB",
                flush=True,
            )
        del pipe
        gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main())

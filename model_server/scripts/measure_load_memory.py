"""Peak host memory while the server loads a model, beside the size of what it loads.

Builds a scaled-down Qwen-Image-Edit model offline (the real classes; Qwen-Image's own attention
head size, RoPE split, latent channels and VAE layout; fewer layers and narrower widths: some
hundreds of MB in all), saves it, and loads it in a fresh process through the production loading
path (``QwenEditTryOnModel.load``: each component's ``from_pretrained`` straight to its device).
It prints the peak resident set size of that process beside the sum of the components' sizes on
disk.

Here the device is the CPU, so the loaded weights themselves stay in host memory: the figure that
carries over to a GPU host is the *transient* part, peak minus what stays resident after loading.
With one component in flight at a time it stays under the largest component; loading the whole
pipeline into host memory first (the old path) needed the sum of all of them.

    python model_server/scripts/measure_load_memory.py [--dir DIR] [--quantization none|fp8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

MODEL_SERVER = Path(__file__).resolve().parents[1]
COMPONENTS = ("transformer", "text_encoder", "vae", "tokenizer", "processor", "scheduler")
MB = 1e6


def build_scaled_pipeline(seed: int = 0) -> Any:
    import torch
    from diffusers import (
        AutoencoderKLQwenImage,
        QwenImageEditPlusPipeline,
        QwenImageTransformer2DModel,
    )
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from tryon_model_server import tiny_model

    torch.manual_seed(seed)
    tokenizer = tiny_model.build_tokenizer()
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in tiny_model.SPECIAL_TOKENS}
    # Qwen-Image-Edit-2511's transformer with 2 of its 60 blocks and 8 of its 24 heads (head size
    # 128 and the RoPE axes as published).
    transformer = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=64,
        out_channels=16,
        num_layers=2,
        attention_head_dim=128,
        num_attention_heads=8,
        joint_attention_dim=1024,
        guidance_embeds=False,
        axes_dims_rope=(16, 56, 56),
        zero_cond_t=True,
    )
    # Qwen2.5-VL with 4 of its 28 layers, 1024 wide (3584), its RoPE sections; a 2-block vision tower.
    text_encoder = Qwen2_5_VLForConditionalGeneration(
        Qwen2_5_VLConfig(
            text_config={
                "hidden_size": 1024,
                "intermediate_size": 2816,
                "num_hidden_layers": 4,
                "num_attention_heads": 8,
                "num_key_value_heads": 2,
                "rope_scaling": {"mrope_section": [16, 24, 24], "rope_type": "default", "type": "default"},
                "rope_theta": 1000000.0,
                "vocab_size": len(tokenizer),
                "bos_token_id": ids["<|endoftext|>"],
                "eos_token_id": ids["<|im_end|>"],
            },
            vision_config={"depth": 2, "hidden_size": 512, "intermediate_size": 1024, "num_heads": 8,
                           "out_hidden_size": 1024},
            vocab_size=len(tokenizer),
            image_token_id=ids["<|image_pad|>"],
            video_token_id=ids["<|video_pad|>"],
            vision_start_token_id=ids["<|vision_start|>"],
            vision_end_token_id=ids["<|vision_end|>"],
            bos_token_id=ids["<|endoftext|>"],
            eos_token_id=ids["<|im_end|>"],
        )
    )  # fmt: skip
    # The published VAE layout at half its width (base_dim 96 there).
    vae = AutoencoderKLQwenImage(
        base_dim=48, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, temperal_downsample=[False, True, True]
    )
    scheduler = tiny_model.build_scheduler()
    return QwenImageEditPlusPipeline(
        scheduler=scheduler,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        processor=tiny_model.build_processor(tokenizer),
        transformer=transformer,
    )


def component_sizes(directory: Path) -> dict[str, int]:
    return {
        name: sum(path.stat().st_size for path in (directory / name).rglob("*") if path.is_file())
        for name in COMPONENTS
    }


def rss_now(field: str = "VmRSS") -> int:
    """Resident bytes now: all (VmRSS), private (RssAnon) or mapped files (RssFile: safetensors)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_rss() -> int:
    """This process's high-water RSS. Not getrusage's ru_maxrss: Linux carries that across exec
    from the forked parent, so a parent holding a model would show up as the child's peak."""
    return rss_now("VmHWM")


def load_and_measure(directory: Path, quantization: str) -> dict[str, Any]:
    """In the fresh child process: import, note the baseline, load through the server's path."""
    # The libraries are imported before the baseline: they are not the model.
    import diffusers
    import torch  # noqa: F401
    import transformers

    from tryon_model_server.model import QwenEditTryOnModel

    for module, name in (
        (diffusers, "QwenImageEditPlusPipeline"),
        (diffusers, "QwenImageTransformer2DModel"),
        (diffusers, "AutoencoderKLQwenImage"),
        (transformers, "Qwen2_5_VLForConditionalGeneration"),
    ):
        getattr(module, name)  # the lazy modules' real imports  # fmt: skip
    from tryon_model_server.settings import ServerSettings

    baseline_peak, baseline = peak_rss(), rss_now()
    settings = ServerSettings.from_env({"TRYON_DEVICE": "cpu", "TRYON_QUANTIZATION": quantization}, directory)
    model = QwenEditTryOnModel.load(settings)
    figures = {
        "baseline": baseline,
        "baseline_peak": baseline_peak,
        "peak": peak_rss(),
        "after": rss_now(),
        "after_anon": rss_now("RssAnon"),
        "after_file": rss_now("RssFile"),
    }
    del model
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Peak host memory while loading a scaled-down model")
    parser.add_argument("--dir", type=Path, help="where the scaled-down model is (written if absent)")
    parser.add_argument("--quantization", choices=["none", "fp8"], default="none")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(MODEL_SERVER))

    if args.child:
        print(json.dumps(load_and_measure(args.dir, args.quantization)))
        return 0

    with tempfile.TemporaryDirectory(prefix="scaled-qwen-image-edit-") as scratch:
        directory = args.dir or Path(scratch)
        if not (directory / "model_index.json").exists():
            from tryon_model_server.tiny_model import save_model_directory

            print(f"writing a scaled-down model to {directory} ...", flush=True)
            note = {"what": "scaled-down random weights for measure_load_memory.py; its images are noise"}
            save_model_directory(build_scaled_pipeline(), directory, note)
        sizes = component_sizes(directory)
        child = subprocess.run(  # noqa: S603 - this script, with arguments it built
            [sys.executable, __file__, "--child", "--dir", str(directory), "--quantization", args.quantization],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONPATH": str(MODEL_SERVER)},
        )
        if child.returncode != 0:
            print(child.stderr[-3000:], file=sys.stderr)
            return 1
        figures = json.loads(child.stdout.strip().splitlines()[-1])

    total = sum(sizes.values())
    largest = max(sizes, key=lambda name: sizes[name])
    transient = figures["peak"] - figures["after"]
    print(f"loaded through QwenEditTryOnModel.load on the CPU (TRYON_QUANTIZATION={args.quantization})")
    for name in COMPONENTS:
        print(f"  {name:<13} {sizes[name] / MB:8.1f} MB on disk")
    print(f"  {'sum':<13} {total / MB:8.1f} MB on disk (largest: {largest}, {sizes[largest] / MB:.1f} MB)")
    print(f"RSS after imports (baseline):   {figures['baseline'] / MB:8.1f} MB")
    print(
        f"RSS after loading:              {figures['after'] / MB:8.1f} MB (private {figures['after_anon'] / MB:.1f}, "
        f"mapped files {figures['after_file'] / MB:.1f}; the weights stay on the CPU here)"
    )
    print(f"peak RSS while loading:         {figures['peak'] / MB:8.1f} MB")
    print(f"peak above baseline:            {(figures['peak'] - figures['baseline']) / MB:8.1f} MB")
    print(
        f"transient (peak - after):       {transient / MB:8.1f} MB = {transient / sizes[largest]:.2f}x the largest "
        f"component, {transient / total:.2f}x the sum"
    )
    if figures["baseline_peak"] > figures["peak"]:
        print("note: the imports peaked above the load; the peak figure is the imports'")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Peak host memory while the server loads a model, beside the size of what it loads.

Builds a scaled-down Qwen-Image-Edit model offline (the real classes, from its family adapter;
Qwen-Image's own attention head size, RoPE split, latent channels and VAE layout; fewer layers and
narrower widths: some hundreds of MB in all), saves it, and loads it in a fresh process through the
production loading path (``DiffusersTryOnModel.load``: each component's ``from_pretrained``
straight to its device).
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


# The scaled-down model is Qwen-Image-Edit's (its adapter builds it): the family with the largest
# components, where loading one at a time matters most.
FAMILY = "qwen-image-edit-2511"


def build_scaled_pipeline(seed: int = 0) -> Any:
    from tryon_model_server.families import get_family

    return get_family(FAMILY).build_scaled_pipeline(seed)


def save_model_directory(pipe: Any, directory: Path, note: dict[str, object]) -> Path:
    from tryon_model_server.families import get_family

    return get_family(FAMILY).save_model_directory(pipe, directory, note)


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
    import torch  # noqa: F401

    from tryon_model_server.families import get_family
    from tryon_model_server.model import DiffusersTryOnModel
    from tryon_model_server.settings import ServerSettings

    get_family(FAMILY).import_classes()  # the lazy modules' real imports

    baseline_peak, baseline = peak_rss(), rss_now()
    settings = ServerSettings.from_env({"TRYON_DEVICE": "cpu", "TRYON_QUANTIZATION": quantization}, directory)
    model = DiffusersTryOnModel.load(settings)
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
    print(f"loaded through DiffusersTryOnModel.load ({FAMILY}) on the CPU (TRYON_QUANTIZATION={args.quantization})")
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

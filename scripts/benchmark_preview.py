"""Benchmark the embedded backend on this machine: seconds per image at 512 and 1024 px, and the
first request after start-up (model load + first image). Prints figures; asserts nothing.

    python scripts/benchmark_preview.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.photos import ASTRONAUT, GRACE_HOPPER

DESCRIPTION = "Black leather jacket with white t-shirt underneath"


def scaled(path: Path, side: int) -> Image.Image:
    image = Image.open(path).convert("RGB")
    factor = side / max(image.size)
    return image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.LANCZOS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    print(f"{os.cpu_count()} CPUs, load average before: {os.getloadavg()[0]:.2f}")
    started = time.perf_counter()
    from tryon_api.backends.embedded import EmbeddedTryOnBackend, try_on
    from tryon_api.tryon.deadline import Deadline
    from tryon_api.tryon.interface import GenerationInput

    backend = EmbeddedTryOnBackend()
    first = backend.generate(
        GenerationInput(person=scaled(ASTRONAUT, 1024), clothing_description=DESCRIPTION, mode="studio", seed=1),
        Deadline.after(120),
    )
    first_request = time.perf_counter() - started
    print(f"first request after start-up (imports + model load + one 1024 px image): {first_request:.2f} s")
    print(f"  (backend reported {first.details['seconds']:.2f} s for the image itself)")

    for side in (512, 1024):
        for mode in ("studio", "environment"):
            timings = []
            for run in range(args.repeat):
                for path in (ASTRONAUT, GRACE_HOPPER):
                    image = scaled(path, side)
                    t0 = time.perf_counter()
                    try_on(image, DESCRIPTION, mode=mode, seed=run)
                    timings.append(time.perf_counter() - t0)
            print(
                f"{side:>4} px {mode:<11} median {statistics.median(timings):.2f} s"
                f"  min {min(timings):.2f} s  max {max(timings):.2f} s  ({len(timings)} images)"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f} (other work on the machine slows every figure)")


if __name__ == "__main__":
    main()

"""The latency the person check adds to a request, per detector, measured in one run.

- ``local``: the embedded preview's MediaPipe face mesh on the decoded selfie (``make run``).
- ``rekognition``: the real boto3 client (``create_quick_client``) calling DetectFaces on the
  loopback emulator (``tryon_dev/person_check_emulator.py``): the JPEG encoding, the SigV4-signed
  request, the emulator's own face detection and the parsing. The emulator's detection time is
  reported apart, so the client's share is the difference. The real service's latency (a round
  trip to Rekognition in the function's region) is NOT measured here: AWS is not reachable.

Each figure is the median over ``--runs`` checks of each real photo of a person, after one
warm-up check per detector (the models load once per process).

    python scripts/benchmark_person_check.py [--runs 15]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from tests.photos import no_person_photos, people_photos  # noqa: E402
from tryon_api.person_check.builder import build_person_detector  # noqa: E402
from tryon_api.settings import Settings  # noqa: E402
from tryon_api.tryon.image_intake import load_image  # noqa: E402
from tryon_api.tryon.interface import ImageLimits  # noqa: E402
from tryon_dev.person_check_emulator import RekognitionEmulator  # noqa: E402

BEDROCK_LIMITS = ImageLimits()  # what a model backend decodes the selfie to (at most 1536 px a side)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "emulated")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "emulated")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    photos = {
        name: load_image(data, BEDROCK_LIMITS) for name, data in {**people_photos(), **no_person_photos()}.items()
    }
    with RekognitionEmulator() as emulator:
        os.environ["AWS_ENDPOINT_URL_REKOGNITION"] = emulator.url
        detectors = {
            "local": build_person_detector(Settings(person_detector="local")),
            "rekognition (emulated)": build_person_detector(Settings(person_detector="rekognition")),
        }
        finder = emulator._finder  # the emulator's own detection, timed apart
        print(f"person check latency, median of {args.runs} per photo (ms)")
        print(f"{'photo':<14} {'size':>10} {'local':>8} {'rekognition':>12} {'of which emulator':>18} people")
        for detector in detectors.values():
            detector.find_people(next(iter(photos.values())))  # warm-up: models, client, connection
        for name, image in photos.items():
            figures = []
            found = []
            for detector in detectors.values():
                samples = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    finding = detector.find_people(image)
                    samples.append(time.perf_counter() - started)
                figures.append(median_ms(samples))
                found.append(finding.people)
            emulator_side = []
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=90)
            rgb = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
            for _ in range(args.runs):
                started = time.perf_counter()
                finder.faces(rgb)
                emulator_side.append(time.perf_counter() - started)
            size = f"{image.width}x{image.height}"
            print(
                f"{name:<14} {size:>10} {figures[0]:>8.1f} {figures[1]:>12.1f} "
                f"{median_ms(emulator_side):>18.1f} {found[0]}/{found[1]}"
            )
    print("the real Rekognition's latency is not measured here (no AWS): add its round trip in your region")
    return 0


if __name__ == "__main__":
    sys.exit(main())

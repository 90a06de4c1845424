"""Print the model-call sequence of each Bedrock/SageMaker case and its latency against the emulator.

Every model gets a fixed per-call delay in the emulator (a scaled-down stand-in for the real
models' seconds), then each case runs through the whole handler with the real boto3 clients.
For each case: the calls in start order with their [start, end] offsets, how many are sequential
(the longest chain of calls each starting after the previous ended), the measured end-to-end
latency, the sum of the injected delays (what a fully sequential pipeline would at least take)
and the critical path of the delays (what a perfectly overlapped one would at least take).

    python scripts/benchmark_model_calls.py [--scale 1.0]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "benchmark")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "benchmark")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TryOnBenchmark")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"

from PIL import Image, ImageDraw

from tests.loopback import FileHost
from tests.photos import selfie_jpeg
from tryon_api.entrypoints.wiring import build_services, set_services
from tryon_api.settings import Settings
from tryon_dev.aws_emulator import AwsModelEmulator, CallRecord
from tryon_dev.events import function_url_event

DELAYS = {  # seconds per call, before --scale
    "us.stability.stable-image-remove-background-v1:0": 0.8,
    "us.amazon.nova-2-lite-v1:0": 1.0,
    "us.stability.stable-image-inpaint-v1:0": 1.2,
    "us.stability.stable-image-search-replace-v1:0": 1.5,
    "tryon-vton": 2.0,
}
SHORT = {
    "us.stability.stable-image-remove-background-v1:0": "remove-background",
    "us.amazon.nova-2-lite-v1:0": "nova-2-lite(converse)",
    "us.stability.stable-image-inpaint-v1:0": "inpaint",
    "us.stability.stable-image-search-replace-v1:0": "search-replace",
    "tryon-vton": "sagemaker:tryon-vton",
}


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def serve_garment(host: FileHost) -> str:
    image = Image.new("RGB", (500, 500), (255, 255, 255))
    ImageDraw.Draw(image).rectangle((120, 80, 380, 440), fill=(200, 25, 35))
    return host.publish("/garment.jpg", _jpeg(image))


def sequential_count(calls: list[CallRecord]) -> int:
    """The longest chain of calls where each starts after the previous one ended."""
    ordered = sorted(calls, key=lambda c: c.started)
    best: list[int] = []
    for i, call in enumerate(ordered):
        best.append(1 + max((best[j] for j in range(i) if ordered[j].ended <= call.started), default=0))
    return max(best, default=0)


def critical_path(calls: list[CallRecord], delays: dict[str, float]) -> float:
    ordered = sorted(calls, key=lambda c: c.started)
    best: list[float] = []
    for i, call in enumerate(ordered):
        before = max((best[j] for j in range(i) if ordered[j].ended <= call.started), default=0.0)
        best.append(before + delays[call.target])
    return max(best, default=0.0)


def run_case(emulator: AwsModelEmulator, backend: str, mode: str, garment_url: str | None, photo: str) -> None:
    emulator.reset()
    for target, delay in DELAYS.items():
        emulator.set_delay(target, delay * SCALE)
    body = {"selfie_base64": photo, "clothing_description": "Navy wool blazer over a white shirt", "mode": mode}
    if garment_url:
        body["clothing_image_url"] = garment_url
    event = function_url_event(
        "POST", "/generate_image", {"content-type": "application/json", "x-api-key": "bench"}, json.dumps(body).encode()
    )
    from tryon_api.entrypoints.function_url import handle_event
    from tryon_dev.lambda_context import new_context

    started = time.perf_counter()
    response = handle_event(event, new_context(120))
    elapsed = time.perf_counter() - started
    calls = sorted(emulator.calls, key=lambda c: c.started)
    origin = calls[0].started if calls else 0.0
    delays = {target: DELAYS[target] * SCALE for target in DELAYS}
    total = sum(delays[c.target] for c in calls)
    path = critical_path(calls, delays)
    label = f"{backend} {mode} {'+garment image' if garment_url else 'text only'}"
    print(f"\n== {label}: status {response['statusCode']}")
    for call in calls:
        print(
            f"   {SHORT[call.target]:<24} [{call.started - origin:6.2f}s -> {call.ended - origin:6.2f}s]"
            f"  delay {delays[call.target]:.2f}s"
        )
    sequential = sequential_count(calls)
    print(f"   model calls: {len(calls)}, sequential: {sequential}, max in flight: {emulator.max_in_flight}")
    print(
        f"   measured {elapsed:.2f}s | sum of delays {total:.2f}s (ratio {elapsed / total:.2f}) | "
        f"critical path of delays {path:.2f}s (overhead {elapsed - path:.2f}s)"
    )


SCALE = 1.0


def main() -> int:
    global SCALE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every injected delay")
    SCALE = parser.parse_args().scale
    garment_url = serve_garment(FileHost())
    photo = base64.b64encode(selfie_jpeg()).decode()  # a real portrait: the emulator finds the person
    with AwsModelEmulator(endpoint_names=("tryon-vton",)) as emulator:
        os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = emulator.url
        os.environ["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = emulator.url
        for backend in ("bedrock", "sagemaker"):
            settings = Settings(
                backend=backend,  # type: ignore[arg-type]
                local_api_keys=("bench",),
                allow_private_garment_urls=True,
                sagemaker_endpoint_name="tryon-vton",
                model_region="us-east-1",
            )
            set_services(build_services(settings))
            for mode in ("studio", "environment"):
                for url in (None, garment_url):
                    run_case(emulator, backend, mode, url, photo)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: our own work on the request path against a naive Pillow pipeline (prints figures).

For a synthetic 12 MP camera-like JPEG selfie sent as base64 JSON, "ours" is everything we do
on the request path besides waiting for the model: JSON parse, base64 decode, sniff, header
checks, draft decode, orient, crop and resize, encode for the model, then base64-decode and
decode the model's PNG answer, encode the response JPEG and serialise the response JSON.
"naive" is open, convert("RGB"), LANCZOS resize to the same size, save JPEG quality 90.
Both run interleaved in one process; the medians and their ratio are printed. A separate
process then serves one such request and reports its peak RSS.

    python scripts/benchmark_intake.py [--repetitions 9]
"""

from __future__ import annotations

import argparse
import base64
import io
import itertools
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from tryon_api.backends.model_input import encode_model_input  # noqa: E402
from tryon_api.http.request_parsing import parse_generate_request  # noqa: E402
from tryon_api.settings import LAMBDA_INVOCATION_PAYLOAD_BYTES  # noqa: E402
from tryon_api.tryon.image_intake import load_image  # noqa: E402
from tryon_api.tryon.interface import GeneratedImage, ImageLimits  # noqa: E402
from tryon_api.tryon.pipeline import RESPONSE_JSON_OVERHEAD  # noqa: E402
from tryon_api.tryon.response_image import encode_response_image  # noqa: E402

# Bedrock-like input: about 1.5 MP, long side at most 1536 px.
LIMITS = ImageLimits()
SIZE = (4032, 3024)  # a 12 MP phone photo, landscape as stored


def synthetic_selfie() -> bytes:
    """A 12 MP JPEG with camera-like detail (a real portrait, upscaled, with sensor noise)."""
    sample = Path(__import__("matplotlib").get_data_path()) / "sample_data" / "grace_hopper.jpg"
    base = Image.open(sample).convert("RGB").resize(SIZE, Image.Resampling.BICUBIC)
    noise = Image.effect_noise(SIZE, 40).convert("RGB")
    photo = Image.blend(base, noise, 0.2)
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def request_body(jpeg: bytes) -> str:
    return json.dumps(
        {
            "selfie_base64": base64.b64encode(jpeg).decode("ascii"),
            "clothing_description": "Black leather jacket with white t-shirt underneath",
            "mode": "studio",
        }
    )


def model_answer(size: tuple[int, int]) -> str:
    """What a Bedrock-style model returns: base64 of a PNG at the input size (made once, untimed)."""
    generated = Image.effect_noise(size, 30).convert("RGB")
    generated = Image.blend(generated, Image.new("RGB", size, (200, 180, 160)), 0.7)
    buffer = io.BytesIO()
    generated.save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


STAGES = ("parse JSON + base64", "decode, orient, normalise", "encode for the model", "model answer to response")


def ours(body: str, answer_base64: str, marks: list[float] | None = None) -> tuple[bytes, str]:
    mark = marks.append if marks is not None else (lambda _: None)
    mark(time.perf_counter())
    request = parse_generate_request(body)
    mark(time.perf_counter())
    person = load_image(request.selfie_bytes, LIMITS)
    mark(time.perf_counter())
    to_model = encode_model_input(person)[0]
    mark(time.perf_counter())
    result = GeneratedImage(base64.b64decode(answer_base64), "image/png")
    image_base64, mime = encode_response_image(result, LAMBDA_INVOCATION_PAYLOAD_BYTES - RESPONSE_JSON_OVERHEAD)
    response = json.dumps({"image_base64": image_base64, "mime_type": mime})
    mark(time.perf_counter())
    return to_model, response


def naive(jpeg: bytes, size: tuple[int, int]) -> bytes:
    image = Image.open(io.BytesIO(jpeg)).convert("RGB").resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, where Linux has it: ru_maxrss survives fork+exec, so a
    child would report its parent's peak at fork time; VmHWM belongs to the new address space."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_request(path: str) -> None:
    """Child process: serve one request, print peak RSS in MB."""
    before = peak_rss_mb()
    payload = json.loads(Path(path).read_text())
    ours(payload["body"], payload["answer"])
    peak = peak_rss_mb()
    print(json.dumps({"rss_after_imports_mb": round(before, 1), "peak_rss_mb": round(peak, 1)}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=9)
    parser.add_argument("--one-request", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_request:
        one_request(args.one_request)
        return 0

    jpeg = synthetic_selfie()
    body = request_body(jpeg)
    size = load_image(jpeg, LIMITS).size
    answer = model_answer(size)
    print(f"selfie: {SIZE[0]}x{SIZE[1]} JPEG, {len(jpeg) / 1e6:.2f} MB, request body {len(body) / 1e6:.2f} MB")
    print(f"model input and output size: {size[0]}x{size[1]} ({size[0] * size[1] / 1e6:.2f} MP)")

    ours(body, answer)  # warm-up: imports, codec tables, the sRGB profile
    naive(jpeg, size)
    ours_times: list[float] = []
    naive_times: list[float] = []
    stage_times: list[list[float]] = [[] for _ in STAGES]
    for _ in range(args.repetitions):
        marks: list[float] = []
        ours(body, answer, marks)
        ours_times.append(marks[-1] - marks[0])
        for index, (start, end) in enumerate(itertools.pairwise(marks)):
            stage_times[index].append(end - start)
        started = time.perf_counter()
        naive(jpeg, size)
        naive_times.append(time.perf_counter() - started)
    ours_ms, naive_ms = statistics.median(ours_times) * 1000, statistics.median(naive_times) * 1000
    print(f"ours  (whole request path, median of {args.repetitions}): {ours_ms:7.1f} ms")
    print(f"naive (open, RGB, LANCZOS, JPEG q90, median):      {naive_ms:7.1f} ms")
    for name, times in zip(STAGES, stage_times, strict=True):
        print(f"  {name:28s} {statistics.median(times) * 1000:7.1f} ms")
    print(f"ratio ours/naive: {ours_ms / naive_ms:.2f}  (target <= 1.0)")

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "request.json"
        path.write_text(json.dumps({"body": body, "answer": answer}))
        output = subprocess.run(  # noqa: S603 - this interpreter running this script
            [sys.executable, __file__, "--one-request", str(path)], capture_output=True, text=True, check=True
        ).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    print(
        f"peak RSS of one request in a fresh process: {figures['peak_rss_mb']} MB "
        f"(after imports, before the request: {figures['rss_after_imports_mb']} MB; target <= 300 MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the decoding budget's figures (prints them; asserts nothing).

1. Over real HTTP, against the local server (waitress, embedded backend) in this process:
   the issue's 370 KB scan bomb (6000x6000, thousands of scans) as the selfie and as a garment
   served on loopback: status and seconds to the answer; then the peak-RSS rise of one 1024 px
   render, against the peak-RSS rise of sixteen concurrent 153-byte declared-huge CMYK JPEGs.
2. The worst single request per accepted format at the pixel limit (40 MP), each in a fresh
   process that first imports the Lambda handler (Powertools, boto3, Pillow), as a Lambda
   container has: the process's peak RSS and the CPU seconds of decoding one image of at most
   15 MB (the garment cap; a selfie carries at most 4.5 MB) to the Bedrock backend's input
   size. The Lambda has FunctionMemoryMB (1024) for it.

    python scripts/benchmark_decoding.py [--skip-http] [--skip-worst-case] [--only WebP]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from tests.hostile_images import _segments, declared_huge_jpeg, scan_bomb_jpeg  # noqa: E402
from tryon_api.tryon.image_intake import (  # noqa: E402
    MAX_DECODED_PIXELS,
    MAX_JPEG_SCANS,
    MAX_PIXELS_PER_BYTE,
    MAX_WEBP_PIXELS,
)

# The largest file we decode: a garment (TRYON_GARMENT_MAX_BYTES); a selfie carries at most 4.5 MB.
MAX_FILE_BYTES = 15 * 1024 * 1024
LIMIT_SIZE = (7744, 5163)  # 39.98 MP: just under MAX_DECODED_PIXELS, 3:2 like a camera
WEBP_SIZE = (5472, 3648)  # 19.96 MP: just under MAX_WEBP_PIXELS
LAMBDA_MEMORY_MB = 1024


# --- Helpers ------------------------------------------------------------------------------------


def rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


# --- 1. Over HTTP -----------------------------------------------------------------------------------


def bench_http() -> None:
    import base64

    import requests

    from tests.loopback import file_host
    from tests.photos import selfie_jpeg
    from tryon_api.entrypoints import wiring
    from tryon_dev.server import make_server

    key = "bench-key"
    os.environ.update(
        TRYON_API_KEYS=key,
        TRYON_BACKEND="embedded",
        TRYON_ALLOW_PRIVATE_GARMENT_URLS="1",
        POWERTOOLS_SERVICE_NAME="tryon",
        POWERTOOLS_METRICS_NAMESPACE="TryOn",
    )
    wiring.reset()
    server = make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = "http://{}:{}/generate_image".format(*server.server_address)

    def post(selfie: bytes, garment_url: str | None = None) -> tuple[int, str, float]:
        body: dict[str, object] = {
            "selfie_base64": base64.b64encode(selfie).decode(),
            "clothing_description": "red hoodie",
            "mode": "studio",
        }
        if garment_url:
            body["clothing_image_url"] = garment_url
        started = time.perf_counter()
        response = requests.post(url, json=body, headers={"X-API-Key": key}, timeout=600)
        seconds = time.perf_counter() - started
        return response.status_code, response.json().get("error", "(image)"), seconds

    from tests.photos import GRACE_HOPPER

    selfie = selfie_jpeg()
    # A selfie the embedded backend renders at its full 1 MP (1024 px on the long side).
    portrait = Image.open(GRACE_HOPPER).convert("RGB").resize((900, 1100), Image.Resampling.LANCZOS)
    big_selfie = save(portrait, "JPEG", quality=92)
    bomb = issue_scan_bomb()
    with file_host() as garments:
        post(selfie)  # warm: models loaded, one render done
        print(f"\n== Over HTTP (local server, embedded backend), {os.cpu_count()} CPUs ==")
        print(f"scan bomb: {len(bomb) / 1000:.0f} KB, 6000x6000 greyscale, {count_scans(bomb)} scans")
        for label, call in (
            ("as selfie ", lambda: post(bomb)),
            ("as garment", lambda: post(selfie, garments.publish("/bomb.jpg", bomb))),
        ):
            status, error, seconds = call()
            print(f"  {label}: {status} in {seconds:.3f} s  {error!r}")

    post(big_selfie)
    reset_peak()
    before = rss_kb("VmRSS")
    status, _, seconds = post(big_selfie)
    render_mb = (rss_kb("VmHWM") - before) / 1024
    print(f"one 1 MP render, 900x1100 selfie ({status}, {seconds:.2f} s): peak RSS +{render_mb:.0f} MB")

    tiny = declared_huge_jpeg()
    post(tiny)
    reset_peak()
    before = rss_kb("VmRSS")
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: post(tiny), range(16)))
    bombs_mb = (rss_kb("VmHWM") - before) / 1024
    statuses = sorted({a[0] for a in answers})
    print(
        f"16 concurrent {len(tiny)}-byte CMYK JPEGs declaring 6300x6300: statuses {statuses}, "
        f"slowest {max(a[2] for a in answers):.3f} s, peak RSS +{bombs_mb:.1f} MB "
        f"({'less' if bombs_mb < render_mb else 'MORE'} than one render's +{render_mb:.0f} MB)"
    )
    server.shutdown()
    server.server_close()


def issue_scan_bomb() -> bytes:
    """The issue's bomb: about 370 KB of progressive greyscale 6000x6000 JPEG."""
    base = scan_bomb_jpeg((6000, 6000), 7)
    per_scan = len(scan_bomb_jpeg((6000, 6000), 8)) - len(base)
    return scan_bomb_jpeg((6000, 6000), 7 + (370_000 - len(base)) // per_scan)


def count_scans(data: bytes) -> int:
    return sum(1 for marker, _, _ in _segments(data) if marker == 0xDA)


# --- 2. Worst case per format at the pixel limit --------------------------------------------------


def content(mode: str = "RGB", detail: float = 1.0, size: tuple[int, int] = LIMIT_SIZE) -> Image.Image:
    """Photo-like detail (coarse noise enlarged smoothly) over the top ``detail`` of the height,
    a smooth gradient below: lossless formats need the gradient to fit the byte cap."""
    width, height = size
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    rows = int(height * detail)
    if rows:
        small = Image.merge("RGB", [Image.effect_noise((width // 12, max(1, rows // 12)), 70) for _ in range(3)])
        image.paste(small.resize((width, rows), Image.Resampling.BICUBIC), (0, 0))
    if mode == "L":
        return image.convert("L")
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize(size))
        return image
    if mode == "CMYK":
        return image.convert("CMYK")
    return image


def flat_with_detail(size: tuple[int, int], rows: int = 100) -> Image.Image:
    """RGBA, flat but for a band of noise: what a lossless format can hold in 15 MB."""
    image = Image.new("RGBA", size, (200, 180, 160, 255))
    band = Image.merge("RGBA", [Image.effect_noise((size[0], rows), 70) for _ in range(4)])
    image.paste(band, (0, 0))
    return image


def fit(encode: Callable[[int], bytes], qualities: tuple[int, ...] = (90, 80, 70, 60, 50, 40, 30, 20)) -> bytes:
    """The highest quality whose file still fits the garment cap (15 MB; a selfie has 4.5 MB)."""
    for quality in qualities:
        try:
            data = encode(quality)
        except ValueError:  # libwebp: "partition 0 overflow" at high quality on 40 MP
            continue
        if len(data) <= MAX_FILE_BYTES:
            return data
    raise ValueError(f"could not fit the image into {MAX_FILE_BYTES} bytes")


def save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def with_scans(data: bytes, scans: int) -> bytes:
    """Repeat the smallest scan (each copy is still a pass over the image) up to ``scans``, the
    most the budget accepts; the copies go just before the end of the image."""
    sos = [s for s in _segments(data) if s[0] == 0xDA]
    _, start, end = min(sos, key=lambda s: s[2] - s[1])
    last_end = sos[-1][2]
    return data[:last_end] + data[start:end] * (scans - len(sos)) + b"\xff\xd9"


def worst_cases() -> dict[str, Callable[[], bytes]]:
    def heic(quality: int) -> bytes:
        import pillow_heif

        pillow_heif.register_heif_opener()
        return save(content(), "HEIF", quality=quality)

    def png16(_: int) -> bytes:
        return save(content("L", 0.05).convert("I").point(lambda v: v * 257).convert("I;16"), "PNG")

    return {
        "JPEG baseline 4:4:4": lambda: fit(lambda q: save(content(), "JPEG", quality=q, subsampling=0)),
        f"JPEG progressive 4:4:4, {MAX_JPEG_SCANS} scans": lambda: fit(
            lambda q: with_scans(save(content(), "JPEG", quality=q, subsampling=0, progressive=True), MAX_JPEG_SCANS)
        ),
        f"JPEG progressive CMYK, {MAX_JPEG_SCANS} scans": lambda: fit(
            lambda q: with_scans(save(content("CMYK"), "JPEG", quality=q, progressive=True), MAX_JPEG_SCANS)
        ),
        "PNG RGBA 8-bit": lambda: fit(lambda _: save(content("RGBA", 0.05), "PNG"), (9,)),
        "PNG grey 16-bit": lambda: fit(png16, (1,)),
        "WebP lossy (20 MP limit)": lambda: fit(lambda q: save(content(size=WEBP_SIZE), "WEBP", quality=q, method=0)),
        "WebP lossless RGBA (20 MP limit)": lambda: fit(
            lambda q: save(flat_with_detail(WEBP_SIZE), "WEBP", lossless=True, quality=0, method=0), (0,)
        ),
        "HEIC": lambda: fit(heic, (60, 40, 25)),
    }


def measure_one(path: str) -> None:
    """In a fresh process: the Lambda's imports, then one selfie decode; print JSON figures."""
    import tryon_api.entrypoints.function_url  # noqa: F401 - what a Lambda container has loaded
    from tryon_api.backends.bedrock import STABILITY_LIMITS
    from tryon_api.tryon.image_intake import load_image

    data = Path(path).read_bytes()
    baseline = rss_kb("VmRSS")
    cpu, wall = time.process_time(), time.perf_counter()
    image = load_image(data, STABILITY_LIMITS)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    figures = {
        "baseline_mb": baseline / 1024,
        # VmHWM, not ru_maxrss: Linux carries the parent's peak across fork and exec into ru_maxrss.
        "peak_mb": rss_kb("VmHWM") / 1024,
        "cpu_s": cpu,
        "wall_s": wall,
        "out": list(image.size),
    }
    print(json.dumps(figures))


def bench_worst_cases(only: str = "") -> None:
    print(
        f"\n== Worst single request per format at its pixel limit: {LIMIT_SIZE[0]}x{LIMIT_SIZE[1]} "
        f"({LIMIT_SIZE[0] * LIMIT_SIZE[1] / 1e6:.2f} MP; limit {MAX_DECODED_PIXELS / 1e6:.0f} MP), WebP "
        f"{WEBP_SIZE[0]}x{WEBP_SIZE[1]} (limit {MAX_WEBP_PIXELS / 1e6:.0f} MP), "
        f"files up to {MAX_FILE_BYTES / 1048576:.0f} MB, decoded to the Bedrock input size =="
    )
    print(f"{'format':<36} {'bytes':>9} {'peak RSS':>9} {'CPU s':>6} {'wall s':>6}  of Lambda's {LAMBDA_MEMORY_MB} MB")
    worst_peak = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for name, build in worst_cases().items():
            if only.lower() not in name.lower():
                continue
            try:
                data = build()
            except ValueError as exc:
                print(f"{name:<36} not measured: {exc}")
                continue
            size = WEBP_SIZE if "WebP" in name else LIMIT_SIZE
            assert len(data) * MAX_PIXELS_PER_BYTE >= size[0] * size[1], f"{name} would be refused"
            path = Path(folder) / "image"
            path.write_bytes(data)
            done = subprocess.run(  # noqa: S603 - this interpreter running this script
                [sys.executable, __file__, "--measure", str(path)],
                capture_output=True,
                text=True,
                check=False,
                cwd=ROOT,
            )
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode != 0 or not lines:
                print(f"{name:<36} failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            figures = json.loads(lines[-1])
            worst_peak = max(worst_peak, figures["peak_mb"])
            share = figures["peak_mb"] / LAMBDA_MEMORY_MB * 100
            print(
                f"{name:<36} {len(data) / 1e6:>7.2f}MB {figures['peak_mb']:>7.0f}MB {figures['cpu_s']:>6.2f} "
                f"{figures['wall_s']:>6.2f}  {share:.0f}% (process after imports: {figures['baseline_mb']:.0f} MB)"
            )
    print(
        f"worst peak RSS: {worst_peak:.0f} MB of {LAMBDA_MEMORY_MB} MB ({LAMBDA_MEMORY_MB - worst_peak:.0f} MB margin)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-worst-case", action="store_true")
    parser.add_argument("--only", help="worst cases whose name contains this text")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure_one(args.measure)
        return
    if not args.skip_http:
        bench_http()
    if not args.skip_worst_case:
        bench_worst_cases(args.only or "")


if __name__ == "__main__":
    main()

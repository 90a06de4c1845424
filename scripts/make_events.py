"""Write events/: one function-URL (payload 2.0) event per case, and events/expected.json.

The events are built by the dev server's own event builder (tryon_dev.events.function_url_event),
so ``sam local invoke -e`` and ``python -m tryon_dev invoke`` see exactly what a function URL
sends. Everything that would vary between runs (request id, time) is pinned, and the selfie is
a fixed crop of a real photo, so running this script twice writes the same bytes.

    python scripts/make_events.py [--out events]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from tests.photos import GRACE_HOPPER  # noqa: E402
from tryon_api.jobs.aws_stores import encode_message  # noqa: E402
from tryon_api.jobs.interface import QueueMessage  # noqa: E402
from tryon_dev.events import function_url_event, sqs_event  # noqa: E402

API_KEY = "local-dev-key"  # what `python -m tryon_dev invoke` accepts by default
# RFC 6761: a .invalid name never resolves, so this garment URL fails offline and everywhere.
UNREACHABLE_GARMENT_URL = "https://garments.invalid/denim-jacket.jpg"
PINNED_TIME = "24/Nov/2026:12:00:00 +0000"
PINNED_EPOCH_MS = 1795521600000
ORIGIN = "https://shop.example.com"


def small_selfie_jpeg() -> bytes:
    """Head and shoulders of Grace Hopper, 288 px wide: above the 256 px minimum, small on disk."""
    with Image.open(GRACE_HOPPER) as photo:
        crop = photo.convert("RGB").crop((56, 20, 456, 600)).resize((288, 418), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    crop.save(buffer, "JPEG", quality=82, optimize=True)
    return buffer.getvalue()


def body(**fields: Any) -> bytes:
    return json.dumps(fields, separators=(",", ":")).encode()


def event(
    name: str,
    method: str,
    path: str,
    payload: bytes,
    *,
    key: str | None = API_KEY,
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    all_headers = {"host": "abcdefghij.lambda-url.us-east-1.on.aws", "user-agent": "curl/8.5.0"}
    if payload:
        all_headers["content-type"] = "application/json"
    if key is not None:
        all_headers["x-api-key"] = key
    all_headers.update(headers or {})
    built = function_url_event(method, path, all_headers, payload, source_ip="203.0.113.10")
    if base64_body:  # what the URL sends for a body it does not treat as text
        built["body"] = base64.b64encode(payload).decode("ascii")
        built["isBase64Encoded"] = True
    context = built["requestContext"]
    context["requestId"] = f"00000000-0000-4000-8000-{abs(hash_name(name)):012d}"
    context["time"] = PINNED_TIME
    context["timeEpoch"] = PINNED_EPOCH_MS
    return built


def hash_name(name: str) -> int:
    """A stable per-event number (str hash is salted per process)."""
    value = 0
    for char in name:
        value = (value * 131 + ord(char)) % 10**12
    return value


def build_events() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    selfie = base64.b64encode(small_selfie_jpeg()).decode("ascii")
    jacket = "Black leather jacket with white t-shirt underneath"
    studio = body(selfie_base64=selfie, clothing_description=jacket, mode="studio")
    cases: list[tuple[str, dict[str, Any], int, str | None, str]] = [
        ("studio-text-only", event("studio-text-only", "POST", "/generate_image", studio), 200, None, "happy path"),
        (
            "environment-garment-url",
            event(
                "environment-garment-url",
                "POST",
                "/generate_image",
                body(
                    selfie_base64=selfie,
                    clothing_description="Oversized denim jacket",
                    clothing_image_url=UNREACHABLE_GARMENT_URL,
                    mode="environment",
                ),
            ),
            422,
            "clothing_image_url could not be reached",
            "the .invalid garment host never resolves: 422 offline; point it at a real image for a 200",
        ),
        (
            "missing-selfie",
            event("missing-selfie", "POST", "/generate_image", body(clothing_description=jacket, mode="studio")),
            400,
            "selfie_base64 is required",
            "fixed message (API.md)",
        ),
        (
            "missing-description",
            event("missing-description", "POST", "/generate_image", body(selfie_base64=selfie, mode="studio")),
            400,
            "clothing_description is required",
            "fixed message (API.md)",
        ),
        (
            "bad-mode",
            event(
                "bad-mode",
                "POST",
                "/generate_image",
                body(selfie_base64=selfie, clothing_description=jacket, mode="beach"),
            ),
            400,
            'mode must be "studio" or "environment"',
            "unsupported mode",
        ),
        (
            "missing-api-key",
            event("missing-api-key", "POST", "/generate_image", studio, key=None),
            401,
            "missing or invalid api key",
            "authentication comes first",
        ),
        (
            "wrong-api-key",
            event("wrong-api-key", "POST", "/generate_image", studio, key="not-the-key"),
            401,
            "missing or invalid api key",
            "same answer as a missing key",
        ),
        (
            "malformed-json",
            event("malformed-json", "POST", "/generate_image", b'{"selfie_base64": "abc", "mode": '),
            400,
            "request body is not valid JSON",
            "truncated JSON",
        ),
        (
            "base64-encoded-body",
            event("base64-encoded-body", "POST", "/generate_image", studio, base64_body=True),
            200,
            None,
            "isBase64Encoded: the URL's encoding for a body it does not treat as text",
        ),
        (
            "cors-preflight",
            event(
                "cors-preflight",
                "OPTIONS",
                "/generate_image",
                b"",
                key=None,
                headers={
                    "origin": ORIGIN,
                    "access-control-request-method": "POST",
                    "access-control-request-headers": "content-type,x-api-key",
                },
            ),
            204,
            None,
            "preflight reaching the function: empty, no key, no CORS headers (deployed, the URL answers it)",
        ),
        (
            "wrong-method",
            event("wrong-method", "GET", "/generate_image", b""),
            405,
            "method not allowed",
            "GET on the one route",
        ),
        (
            "unknown-path",
            event("unknown-path", "POST", "/generate", studio),
            404,
            "not found",
            "unknown path (after authentication)",
        ),
    ]
    events = {f"{name}.json": built for name, built, _, _, _ in cases}
    expected = {f"{name}.json": {"status": status, "error": error, "why": why} for name, _, status, error, why in cases}
    return events, expected


# The jobs queue as template.yaml names it (Environment=dev) in the pinned account and region.
JOBS_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:tryon-dev-jobs"


def queue_message(number: int, message: QueueMessage, receive_count: int) -> dict[str, Any]:
    """A message as ReceiveMessage returns it (AttributeNames=All), with pinned ids and times."""
    body_text = encode_message(message)
    return {
        "MessageId": f"00000000-0000-4000-9000-{number:012d}",
        "ReceiptHandle": f"AQEB-pinned-receipt-handle-{number}",
        "MD5OfBody": hashlib.md5(body_text.encode(), usedforsecurity=False).hexdigest(),
        "Body": body_text,
        "Attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(PINNED_EPOCH_MS),
            "SenderId": "AROAEXAMPLEROLEID:tryon-dev",
            "ApproximateFirstReceiveTimestamp": str(PINNED_EPOCH_MS + 20),
        },
    }


def build_worker_events() -> dict[str, dict[str, Any]]:
    """Events of the jobs queue for `sam local invoke JobWorkerFunction -e events/worker/<name>`."""
    run = QueueMessage("run", "Zm9yLXNhbS1sb2NhbC1pbnZva2U")
    webhook = QueueMessage("webhook", "Zm9yLXNhbS1sb2NhbC1pbnZva2U", attempt=2)
    return {
        "worker/run-job.json": sqs_event([queue_message(1, run, 1)], JOBS_QUEUE_ARN),
        "worker/run-and-webhook.json": sqs_event(
            [queue_message(2, run, 1), queue_message(3, webhook, 1)], JOBS_QUEUE_ARN
        ),
    }


def write(out: Path) -> list[Path]:
    events, expected = build_events()
    written = []
    for name, content in {**events, "expected.json": expected, **build_worker_events()}.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "events"))
    args = parser.parse_args(argv)
    for path in write(Path(args.out)):
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

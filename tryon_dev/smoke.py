"""`make smoke URL=... API_KEY=...`: the post-deploy smoke test of a running API.

Four calls, as a client makes them: the bundled real selfie (the Grace Hopper crop the sample
events carry) in ``studio`` and in ``environment`` mode, a request with a wrong key, and one
without ``clothing_description``. Each answer's status, body shape (and for a 200, that the
image is a JPEG) is checked against the contract (docs/API.md); one line per call with its
latency; the exit status is 1 when any answer is off.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from PIL import Image, UnidentifiedImageError

from tryon_dev.stack_config import ROOT

SAMPLE_EVENT = ROOT / "events" / "studio-text-only.json"
WRONG_KEY = "smoke-test-wrong-key"
TIMEOUT_SECONDS = 240  # above the function's timeout (180 s): the API answers first


def bundled_selfie() -> str:
    """The base64 selfie of the sample events (a real photo, 288 x 418 px)."""
    body = json.loads(json.loads(Path(SAMPLE_EVENT).read_text())["body"])
    selfie: str = body["selfie_base64"]
    return selfie


@dataclass(frozen=True)
class Call:
    name: str
    body: dict[str, Any]
    key: str
    status: int
    check: Callable[[dict[str, Any]], str | None]  # None when the body is right, else what is wrong


def jpeg_answer(payload: dict[str, Any]) -> str | None:
    if set(payload) != {"image_base64", "mime_type"}:
        return f"body fields {sorted(payload)}, expected ['image_base64', 'mime_type']"
    if payload["mime_type"] != "image/jpeg":
        return f"mime_type {payload['mime_type']!r}, expected 'image/jpeg'"
    try:
        data = base64.b64decode(payload["image_base64"], validate=True)
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.format != "JPEG":
                return f"image_base64 holds a {image.format}, not a JPEG"
            size = image.size
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError, TypeError):
        return "image_base64 is not a readable image"
    return None if min(size) >= 64 else f"the image is only {size[0]} x {size[1]} px"


def error_answer(message: str) -> Callable[[dict[str, Any]], str | None]:
    def check(payload: dict[str, Any]) -> str | None:
        return (
            None if payload == {"error": message} else f"body {json.dumps(payload)[:200]}, expected error {message!r}"
        )

    return check


def calls(api_key: str) -> list[Call]:
    selfie = bundled_selfie()
    studio = {"selfie_base64": selfie, "clothing_description": "Black leather jacket with white t-shirt underneath"}
    return [
        Call("studio", {**studio, "mode": "studio"}, api_key, 200, jpeg_answer),
        Call("environment", {**studio, "mode": "environment"}, api_key, 200, jpeg_answer),
        Call("wrong key", {**studio, "mode": "studio"}, WRONG_KEY, 401, error_answer("missing or invalid api key")),
        Call(
            "missing field",
            {"selfie_base64": selfie, "mode": "studio"},
            api_key,
            400,
            error_answer("clothing_description is required"),
        ),
    ]


def run_call(session: requests.Session, url: str, call: Call) -> tuple[bool, str]:
    started = time.perf_counter()
    try:
        response = session.post(
            url,
            data=json.dumps(call.body),
            headers={"Content-Type": "application/json", "X-API-Key": call.key},
            timeout=TIMEOUT_SECONDS,
        )
    except requests.RequestException as error:
        return False, f"{call.name}: no answer ({type(error).__name__}) after {time.perf_counter() - started:.1f} s"
    latency = time.perf_counter() - started
    request_id = response.headers.get("X-Request-Id", "-")
    prefix = f"{call.name}: {response.status_code} in {latency:.1f} s (request id {request_id})"
    problems = []
    if response.status_code != call.status:
        problems.append(f"status {response.status_code}, expected {call.status}")
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        problems.append(f"Content-Type {response.headers.get('Content-Type')!r}, expected application/json")
    try:
        payload = response.json()
    except ValueError:
        problems.append(f"body is not JSON: {response.text[:120]!r}")
    else:
        wrong = call.check(payload) if isinstance(payload, dict) else "body is not a JSON object"
        if wrong:
            problems.append(wrong)
    if request_id == "-":
        problems.append("no X-Request-Id header")
    return not problems, prefix + ("" if not problems else ": " + "; ".join(problems))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the function URL (the stack's FunctionUrl output)")
    parser.add_argument("--api-key", required=True, help="a key from the stack's secret")
    args = parser.parse_args(argv)
    endpoint = args.url.rstrip("/") + "/generate_image"
    print(f"smoke test of {endpoint}", flush=True)
    failures = 0
    with requests.Session() as session:
        for call in calls(args.api_key):
            ok, text = run_call(session, endpoint, call)
            failures += not ok
            print(f"{'PASS' if ok else 'FAIL'} {text}", flush=True)
    print("all answers as documented" if not failures else f"{failures} answer(s) off the contract", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

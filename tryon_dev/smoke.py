"""`make smoke URL=... API_KEY=...`: the post-deploy smoke test of a running API.

Five calls, as a client makes them: the bundled real selfie (the Grace Hopper crop the sample
events carry) in ``studio`` and in ``environment`` mode, a request with a wrong key, one without
``clothing_description``, and a blank picture that the person check must refuse (deployed, that
is Rekognition answering under the function's own role). Each answer's status, body shape (and for a 200, that the
image is a JPEG) is checked against the contract (docs/API.md); one line per call with its
latency; the exit status is 1 when any answer is off.

The client waits as long as the deployed function may run: its ``Timeout`` (Lambda
``GetFunctionConfiguration`` of ``tryon-<Environment>``, in the URL's region, once
``GetFunctionUrlConfig`` confirms the URL is that function's) plus ``URL_MARGIN_SECONDS``. When
that cannot be read (not a function URL, no credentials) it waits Lambda's maximum, 900 s.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from PIL import Image, UnidentifiedImageError

from tryon_dev.stack_config import ROOT, deploy_parameters

SAMPLE_EVENT = ROOT / "events" / "studio-text-only.json"
WRONG_KEY = "smoke-test-wrong-key"
LAMBDA_MAX_TIMEOUT_SECONDS = 900  # the most a function may run (FunctionTimeoutSeconds' MaxValue)
URL_MARGIN_SECONDS = 15  # above the function's timeout: a cold start and the URL's own hop
FUNCTION_URL = re.compile(r"^https://[a-z0-9]+\.lambda-url\.([a-z0-9-]+)\.on\.aws/?$")


def function_region(url: str) -> str | None:
    """us-east-1 for https://<id>.lambda-url.us-east-1.on.aws/; None for anything else."""
    match = FUNCTION_URL.match(url)
    return match.group(1) if match else None


def client_timeout(url: str, function_name: str, lambda_client: Any) -> tuple[float, str]:
    """Seconds to wait for an answer, and why: the function's own timeout when it can be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    fallback = float(LAMBDA_MAX_TIMEOUT_SECONDS + URL_MARGIN_SECONDS)
    try:
        owner = lambda_client.get_function_url_config(FunctionName=function_name)["FunctionUrl"]
        if owner.rstrip("/") != url.rstrip("/"):
            return fallback, f"{function_name}'s URL is {owner}, not this one: Lambda's maximum, 900 s"
        timeout = int(lambda_client.get_function_configuration(FunctionName=function_name)["Timeout"])
    except (ClientError, BotoCoreError) as error:
        return fallback, f"{function_name}'s timeout unreadable ({type(error).__name__}): Lambda's maximum, 900 s"
    return float(timeout + URL_MARGIN_SECONDS), f"{function_name}'s timeout {timeout} s + {URL_MARGIN_SECONDS} s"


def resolve_timeout(url: str, config_env: str) -> tuple[float, str]:
    region = function_region(url)
    if region is None:
        return float(LAMBDA_MAX_TIMEOUT_SECONDS + URL_MARGIN_SECONDS), "not a function URL: Lambda's maximum, 900 s"
    import boto3
    from botocore.config import Config

    name = f"tryon-{deploy_parameters(config_env)['Environment']}"
    config = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 2})
    return client_timeout(url, name, boto3.client("lambda", region_name=region, config=config))


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


def blank_selfie() -> str:
    """A plain light-grey picture (the sample events' size): nobody in it."""
    buffer = io.BytesIO()
    Image.new("RGB", (288, 418), (235, 235, 235)).save(buffer, "JPEG", quality=90)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


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
        Call(
            "no person",
            {**studio, "selfie_base64": blank_selfie(), "mode": "studio"},
            api_key,
            422,
            error_answer("selfie_base64 shows no person"),
        ),
    ]


def run_call(session: requests.Session, url: str, call: Call, timeout: float) -> tuple[bool, str]:
    started = time.perf_counter()
    try:
        response = session.post(
            url,
            data=json.dumps(call.body),
            headers={"Content-Type": "application/json", "X-API-Key": call.key},
            timeout=(10, timeout),
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
    parser.add_argument("--config-env", default="default", help="samconfig.toml environment (names the function)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds to wait (default: the function's)")
    args = parser.parse_args(argv)
    endpoint = args.url.rstrip("/") + "/generate_image"
    if args.timeout is not None:
        timeout, why = args.timeout, "--timeout"
    else:
        timeout, why = resolve_timeout(args.url, args.config_env)
    print(f"smoke test of {endpoint} (client timeout {timeout:g} s: {why})", flush=True)
    failures = 0
    with requests.Session() as session:
        for call in calls(args.api_key):
            ok, text = run_call(session, endpoint, call, timeout)
            failures += not ok
            print(f"{'PASS' if ok else 'FAIL'} {text}", flush=True)
    print("all answers as documented" if not failures else f"{failures} answer(s) off the contract", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

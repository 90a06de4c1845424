"""Bounded load against the dev server on loopback: nothing lost, latency percentiles, RSS flat.

Starts ``python -m tryon_dev serve`` as a subprocess on a free loopback port (with the
embedded backend, or with the Bedrock backend against the loopback model emulator adding a
per-call delay), sends a fixed mix of requests from N concurrent clients for a few rounds, and
prints per round: requests, statuses, lost or unexpected answers, p50/p95/p99 latency, and the
server's VmRSS. It also checks the server's log lines (request id on each, nothing leaked).
Stops by itself; exits non-zero if any request was lost or got an unexpected status.

    python scripts/load.py [--backend embedded|bedrock] [--clients 50] [--requests 200] [--rounds 3] \
        [--model-delay 0.5] [--faults 4]
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.client
import io
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODEL_IDS = (
    "us.stability.stable-image-search-replace-v1:0",
    "us.stability.stable-image-inpaint-v1:0",
    "us.stability.stable-image-remove-background-v1:0",
    "us.amazon.nova-2-lite-v1:0",
)
BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{200,}")
SEARCH_REPLACE, INPAINT, REMOVE_BACKGROUND, _VISION = MODEL_IDS
# (model, fault) injected per round with --faults; the status and message each must produce.
FAULTS = (
    (REMOVE_BACKGROUND, "throttling"),
    (SEARCH_REPLACE, "internal"),
    (SEARCH_REPLACE, "filtered"),
    (REMOVE_BACKGROUND, "service_unavailable"),
    (INPAINT, "model_timeout"),
)
FAULT_STATUSES = {
    429: "too many requests",
    502: "image model failed",
    422: "content filter",
    503: "unavailable",
    504: "did not answer in time",
}


def selfie_base64() -> str:
    """A real photo (matplotlib's Grace Hopper), at a phone-upload-like 600 px."""
    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    with Image.open(path) as image:
        photo = image.convert("RGB").resize((600, 704))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass(frozen=True)
class Kind:
    name: str
    method: str
    path: str
    body: bytes
    with_key: bool
    expected: int


def request_kinds(selfie: str) -> list[Kind]:
    valid = {"selfie_base64": selfie, "clothing_description": "Red wool sweater", "mode": "studio"}
    environment = dict(valid, mode="environment")
    return [
        Kind("generate", "POST", "/generate_image", json.dumps(valid).encode(), True, 200),
        Kind("generate-env", "POST", "/generate_image", json.dumps(environment).encode(), True, 200),
        Kind("bad-body", "POST", "/generate_image", json.dumps({**valid, "mode": "beach"}).encode(), True, 400),
        Kind("no-key", "POST", "/generate_image", json.dumps(valid).encode(), False, 401),
        Kind("openapi", "GET", "/openapi.json", b"", False, 200),
    ]


EXPECTED_KEYS = {
    "generate": {"image_base64", "mime_type"},
    "generate-env": {"image_base64", "mime_type"},
    "bad-body": {"error"},
    "no-key": {"error"},
    "openapi": {"openapi", "info", "servers", "paths", "components"},
}
# Out of every 10 requests: 6 generations, 2 bad bodies, 1 without key, 1 document.
MIX = ("generate", "generate-env", "bad-body", "generate", "no-key", "generate-env",
       "generate", "bad-body", "openapi", "generate-env")  # fmt: skip


@dataclass
class Result:
    kind: str
    status: int  # 0: no answer (connection error or timeout)
    seconds: float
    ok: bool
    detail: str = ""


def send(port: int, api_key: str, kind: Kind, timeout: float, faults_on: bool = False) -> Result:
    started = time.perf_counter()
    headers = {"Content-Type": "application/json"}
    if kind.with_key:
        headers["X-API-Key"] = api_key
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(kind.method, kind.path, body=kind.body or None, headers=headers)
        response = connection.getresponse()
        payload = json.loads(response.read())
        status = response.status
        # The answer must be the one for *this* request (no cross-talk between concurrent ones).
        ok = status == kind.expected and set(payload) == EXPECTED_KEYS[kind.name]
        ok = ok and (kind.name != "bad-body" or payload["error"] == 'mode must be "studio" or "environment"')
        if faults_on and kind.name.startswith("generate") and status in FAULT_STATUSES:
            # A faulted model call: the documented status, the error shape, Retry-After where due.
            ok = set(payload) == {"error"} and FAULT_STATUSES[status] in payload["error"]
            ok = ok and (status not in (429, 503) or int(response.getheader("Retry-After") or 0) >= 1)
        ok = ok and bool(response.getheader("X-Request-Id"))
        detail = "" if ok else str(payload.get("error", ""))[:100]
    except (OSError, http.client.HTTPException, ValueError) as exc:
        status, ok, detail = 0, False, type(exc).__name__
    finally:
        connection.close()
    return Result(kind.name, status, time.perf_counter() - started, ok, detail)


def vm_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """The dev server as a child process; its log lines are kept for the hygiene check."""

    def __init__(self, port: int, api_key: str, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-m", "tryon_dev", "serve", "--port", str(port), "--api-key", api_key],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 60
        for line in self.process.stdout:
            if "listening on" in line:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
        else:
            raise RuntimeError("the server exited before listening")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        self._reader.join(timeout=5)


def check_logs(lines: list[str], api_key: str, selfie: str) -> dict[str, int]:
    records, no_id, leaks, not_json, answered, broken = 0, 0, 0, 0, 0, 0
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            not_json += 1
            broken += line.startswith("{")
            if not_json <= 3:
                print(f"  server line that is not JSON: {line[:160]}")
            continue
        if "_aws" in record:  # EMF metrics blobs, not log lines
            continue
        records += 1
        answered += record.get("message") == "answered"
        no_id += not record.get("correlation_id")
        leaks += api_key in line or selfie[:64] in line or bool(BASE64_RUN.search(line)) or "Traceback" in line
    return {
        "log_lines": records,
        "answered_lines": answered,
        "without_request_id": no_id,
        "with_leak": leaks,
        "not_json": not_json,
        "broken_json_lines": broken,
    }


def run(args: argparse.Namespace) -> int:
    api_key = "load-" + secrets.token_urlsafe(18)
    selfie = selfie_base64()
    kinds = {k.name: k for k in request_kinds(selfie)}
    env = {
        **os.environ,
        "POWERTOOLS_SERVICE_NAME": "tryon",
        "POWERTOOLS_METRICS_NAMESPACE": "TryOnLoad",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "TRYON_LOCAL_TIMEOUT_SECONDS": "120",
    }
    env.pop("TRYON_API_KEY_SECRET_ID", None)
    emulator = None
    if args.backend == "bedrock":
        from tryon_dev.aws_emulator import AwsModelEmulator

        emulator = AwsModelEmulator(default_delay=args.model_delay).start()
        for model in MODEL_IDS:
            emulator.set_delay(model, args.model_delay)
        env.update(
            TRYON_BACKEND="bedrock",
            TRYON_MODEL_REGION="us-east-1",
            AWS_ENDPOINT_URL_BEDROCK_RUNTIME=emulator.url,
            AWS_ACCESS_KEY_ID="emulated",
            AWS_SECRET_ACCESS_KEY="emulated",  # noqa: S106 - the emulator checks the signature's shape only
            AWS_DEFAULT_REGION="us-east-1",
        )
    else:
        env["TRYON_BACKEND"] = "embedded"
    port = free_port()
    server = ServerProcess(port, api_key, env)
    failures = 0
    try:
        rss_start = vm_rss_kib(server.process.pid)
        # One of each kind first, so that lazy imports and caches are not counted as growth.
        for kind in kinds.values():
            send(port, api_key, kind, args.timeout)
        rss_warm = vm_rss_kib(server.process.pid)
        delay = f", model delay {args.model_delay:g} s per call" if emulator else ""
        print(f"backend {args.backend}{delay}; {args.clients} clients, {args.requests} requests x {args.rounds} rounds")
        print(f"server VmRSS: {rss_start / 1024:.1f} MiB at start, {rss_warm / 1024:.1f} MiB after warm-up")
        rss_rounds = []
        all_results: list[Result] = []
        for number in range(1, args.rounds + 1):
            plan = [kinds[MIX[i % len(MIX)]] for i in range(args.requests)]
            # With --faults, every round but the last has faults; the last shows the recovery.
            faults_on = emulator is not None and args.faults > 0 and number < args.rounds
            if emulator is not None:
                emulator.reset()
                for model in MODEL_IDS:
                    emulator.set_delay(model, args.model_delay)
                for model, fault in FAULTS if faults_on else ():
                    emulator.inject(model, fault, times=args.faults)
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                answer = functools.partial(send, port, api_key, timeout=args.timeout, faults_on=faults_on)
                results = list(pool.map(answer, plan))
            if emulator is not None and args.faults > 0:
                faulted = Counter(c.fault for c in emulator.calls if c.fault)
                print(f"  model calls {len(emulator.calls)}; faults injected and hit: {dict(sorted(faulted.items()))}")
            wall = time.perf_counter() - started
            all_results += results
            rss = vm_rss_kib(server.process.pid)
            rss_rounds.append(rss)
            statuses = Counter(r.status for r in results)
            lost = sum(r.status == 0 for r in results)
            wrong = sum(not r.ok for r in results) - lost
            failures += lost + wrong
            for problem in Counter((r.kind, r.status, r.detail) for r in results if not r.ok).items():
                print(f"  not as expected: {problem}")
            latencies = [r.seconds * 1000 for r in results]
            generation = [r.seconds * 1000 for r in results if r.kind.startswith("generate")]
            print(
                f"round {number}: {len(results)} requests in {wall:.1f} s ({len(results) / wall:.1f}/s); "
                f"statuses {dict(sorted(statuses.items()))}; lost {lost}; unexpected {wrong}; "
                f"latency ms p50 {percentile(latencies, 50):.0f} p95 {percentile(latencies, 95):.0f} "
                f"p99 {percentile(latencies, 99):.0f} (generation p50 {percentile(generation, 50):.0f} "
                f"p95 {percentile(generation, 95):.0f} p99 {percentile(generation, 99):.0f}); "
                f"VmRSS {rss / 1024:.1f} MiB"
            )
        total = Counter(r.status for r in all_results)
        print(f"total: {len(all_results)} requests; statuses {dict(sorted(total.items()))}; failures {failures}")
        growth = (rss_rounds[-1] - rss_rounds[0]) / 1024 if len(rss_rounds) > 1 else 0.0
        print(
            f"VmRSS after each round (MiB): {', '.join(f'{r / 1024:.1f}' for r in rss_rounds)}; "
            f"first to last round: {growth:+.1f} MiB"
        )
        if emulator is not None:
            print(f"max model calls in flight at the emulator (last round): {emulator.max_in_flight}")
    finally:
        server.stop()
        if emulator is not None:
            emulator.stop()
    if args.keep_log:
        Path(args.keep_log).write_text("".join(server.lines))
    hygiene = check_logs(server.lines, api_key, selfie)
    print(f"server logs: {hygiene}")
    failures += hygiene["without_request_id"] + hygiene["with_leak"] + hygiene["broken_json_lines"]
    sent = len(kinds) + args.requests * args.rounds
    if hygiene["answered_lines"] != sent:  # one "answered" line per request, none lost or broken
        print(f"  {sent} requests sent but {hygiene['answered_lines']} answered lines logged")
        failures += 1
    print("RESULT: " + ("ok, nothing lost" if failures == 0 else f"{failures} failures"))
    return 0 if failures == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("embedded", "bedrock"), default="embedded")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model-delay", type=float, default=0.5, help="emulated seconds per model call (bedrock)")
    parser.add_argument(
        "--faults", type=int, default=0, help="bedrock: inject each fault kind this many times per round but the last"
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="client timeout per request, seconds")
    parser.add_argument("--keep-log", help="write the server's output to this file")
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 200 and 1 <= args.requests <= 5000 and 1 <= args.rounds <= 20):
        parser.error("keep the load bounded: clients 1-200, requests 1-5000, rounds 1-20")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

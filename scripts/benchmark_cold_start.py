"""Cold start of the Lambda handler against a bare ``import boto3`` plus one client.

Each sample is a fresh Python process, as a new Lambda container is: it imports, builds what the
container keeps (settings, the secret's client, the backend and its bedrock-runtime client) and
reports the seconds that took. The two kinds of process are interleaved, so drift on a shared
machine hits both, and the medians are compared. The environment is Lambda's own as far as the
code can tell (``LAMBDA_TASK_ROOT``, ``AWS_LAMBDA_FUNCTION_NAME``): tracing is on, as deployed.

    python scripts/benchmark_cold_start.py [--runs 11]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BASELINE = """
import time
started = time.perf_counter()
import boto3
boto3.client("bedrock-runtime")
print(time.perf_counter() - started)
"""

HANDLER = """
import time
started = time.perf_counter()
import tryon_api.http.app
from tryon_api.http.services import get_services
get_services()
print(time.perf_counter() - started)
"""

# The first request for the OpenAPI document pays for what only it needs (pydantic, the models).
FIRST_DOCUMENT_REQUEST = """
import time
import tryon_api.http.app as app
from tryon_api.http.services import get_services
get_services()
from tryon_dev.events import function_url_event
event = function_url_event("GET", "/openapi.json", {}, b"")
started = time.perf_counter()
assert app.handle_event(event, None)["statusCode"] == 200
print(time.perf_counter() - started)
"""


def lambda_environment(task_root: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRYON_", "POWERTOOLS_", "AWS_"))}
    env.update(
        {
            "LAMBDA_TASK_ROOT": task_root,
            "AWS_LAMBDA_FUNCTION_NAME": "tryon-bench",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_SERVICE_NAME": "tryon",
            "POWERTOOLS_METRICS_NAMESPACE": "TryOn",
            "TRYON_BACKEND": "bedrock",
            "TRYON_API_KEY_SECRET_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:tryon/bench/api-keys",
            # As the template deploys it: the guardrail for text, Rekognition for images.
            "TRYON_MODERATION_GUARDRAIL_ID": "benchguardrail1",
            "TRYON_MODERATION_GUARDRAIL_VERSION": "1",
            "TRYON_MODERATION_IMAGE_SERVICE": "rekognition",
            "PYTHONPATH": str(ROOT),
            "PYTHONDONTWRITEBYTECODE": "",
        }
    )
    return env


def sample(code: str, env: dict[str, str]) -> float:
    out = subprocess.run(  # noqa: S603 - our own interpreter running our own code
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11, help="fresh processes of each kind (at least 9)")
    args = parser.parse_args()
    runs = max(9, args.runs)
    with tempfile.TemporaryDirectory() as task_root:
        env = lambda_environment(task_root)
        # One untimed run of each writes the .pyc files, as the deployed package's are already there.
        sample(BASELINE, env)
        sample(HANDLER, env)
        baseline, handler, first = [], [], []
        for _ in range(runs):
            baseline.append(sample(BASELINE, env))
            handler.append(sample(HANDLER, env))
            first.append(sample(FIRST_DOCUMENT_REQUEST, env))
    base, hand = statistics.median(baseline), statistics.median(handler)
    print(f"bare import boto3 + one client : {base * 1000:7.1f} ms (median of {runs})")
    print(f"handler import + container     : {hand * 1000:7.1f} ms (median of {runs})")
    print(f"ratio                          : {hand / base:7.2f}")
    print(f"first GET /openapi.json         : {statistics.median(first) * 1000:7.1f} ms (median of {runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Lambda's init phase: the container's services are built at import, and a bad setting is named once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

IMPORT_AND_ANSWER = """
import json
import tryon_api.entrypoints.function_url as app
from tryon_api.entrypoints import wiring
print(json.dumps({"built_at_import": wiring._services._built}))
from tryon_dev.events import function_url_event
response = app.handle_event(function_url_event("POST", "/generate_image", {"x-api-key": "k"}, b"{}"), None)
print(json.dumps({"status": response["statusCode"]}))
"""


def run_in_lambda_init(extra_env: dict[str, str]) -> tuple[list[dict[str, object]], int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRYON_", "AWS_LAMBDA_"))}
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": "tryon-test",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_SERVICE_NAME": "tryon",
            "POWERTOOLS_METRICS_NAMESPACE": "TryOn",
            "TRYON_API_KEYS": "k",
            **extra_env,
        }
    )
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_AND_ANSWER], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return lines, out.returncode


def test_the_services_are_built_in_the_init_phase() -> None:
    lines, code = run_in_lambda_init({"TRYON_BACKEND": "embedded"})
    assert code == 0
    assert {"built_at_import": True} in lines
    assert {"status": 400} in lines  # the request was answered by the services built at import


def test_a_bad_setting_is_named_once_at_start_up_and_requests_get_500() -> None:
    lines, code = run_in_lambda_init({"TRYON_MODEL_READ_TIMEOUT_SECONDS": "0"})
    assert code == 0  # the import itself never crashes the runtime
    named = [line for line in lines if line.get("message") == "invalid configuration"]
    assert len(named) == 1
    assert named[0]["error"] == "TRYON_MODEL_READ_TIMEOUT_SECONDS must be a number between 1 and 900"
    assert {"built_at_import": False} in lines
    assert {"status": 500} in lines
    assert not any("Traceback" in json.dumps(line) for line in lines)

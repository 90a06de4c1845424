"""Log lines and EMF blobs written from many threads at once stay whole JSON lines.

Model calls run in worker threads: their EMF blobs (``print``) and the log lines of other
threads share stdout, as in Lambda, where CloudWatch reads one JSON object per line. The
workload runs in a child interpreter whose stdout is a real pipe, as in production.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

WORKLOAD = """
import threading
from tryon_api.http.app import logger
from tryon_api.backends.model_metrics import record_model_call

start = threading.Barrier(6)

def work(number):
    start.wait()
    for i in range(150):
        logger.info("model call", extra={"worker": number, "i": i})
        record_model_call(f"model-{number}", "ok", 12.5)

threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(60)
"""


def test_concurrent_log_lines_and_model_metrics_never_interleave() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "POWERTOOLS_METRICS_NAMESPACE": "TryOnTests"}
    result = subprocess.run(
        [sys.executable, "-c", WORKLOAD], cwd=root, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    parsed = [json.loads(line) for line in result.stdout.splitlines()]  # raises on a glued or broken line
    assert len([p for p in parsed if p.get("message") == "model call"]) == 6 * 150
    # Two blobs per call: the series the alarm reads (service) and the per-model one.
    assert len([p for p in parsed if "ModelCalls" in p]) == 6 * 150 * 2

"""model_server/scripts/stage_weights.py without the network: pins are required, the plan is right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "stage_weights.py"
LOCK = Path(__file__).resolve().parents[1] / "weights.lock.json"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False)


def test_unpinned_weights_are_refused(tmp_path: Path) -> None:
    lock = json.loads(LOCK.read_text())
    lock["model"]["revision"] = None
    (tmp_path / "lock.json").write_text(json.dumps(lock))
    result = run("--bucket", "models", "--lock", str(tmp_path / "lock.json"), "--dry-run")
    assert result.returncode == 2
    assert "not pinned: Qwen/Qwen-Image-Edit-2511" in result.stderr


def test_pinned_weights_are_staged_to_an_uncompressed_prefix(tmp_path: Path) -> None:
    lock = json.loads(LOCK.read_text())
    lock["model"]["revision"] = "0123456789abcdef0123456789abcdef01234567"
    (tmp_path / "lock.json").write_text(json.dumps(lock))
    result = run("--bucket", "models", "--prefix", "/tryon/qwen/", "--lock", str(tmp_path / "lock.json"), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Qwen/Qwen-Image-Edit-2511@0123456789abcdef0123456789abcdef01234567" in result.stdout
    assert "aws s3 sync test-output/stage/model s3://models/tryon/qwen/ --only-show-errors" in result.stdout

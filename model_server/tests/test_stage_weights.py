"""model_server/scripts/stage_weights.py without the network: pins are required, the plan is right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import KLEIN, QWEN
from tests.test_capacity_plan import MODEL_TEMPLATE, cfn_template_module

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "stage_weights.py"
LOCK = Path(__file__).resolve().parents[1] / "weights.lock.json"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False)


def test_unpinned_weights_are_refused(tmp_path: Path) -> None:
    lock = json.loads(LOCK.read_text())
    lock[QWEN]["model"]["revision"] = None
    (tmp_path / "lock.json").write_text(json.dumps(lock))
    result = run("--bucket", "models", "--family", QWEN, "--lock", str(tmp_path / "lock.json"), "--dry-run")
    assert result.returncode == 2
    assert "not pinned: Qwen/Qwen-Image-Edit-2511" in result.stderr


def test_pinned_weights_are_staged_to_an_uncompressed_prefix(tmp_path: Path) -> None:
    lock = json.loads(LOCK.read_text())
    lock[QWEN]["model"]["revision"] = "0123456789abcdef0123456789abcdef01234567"
    lock[QWEN]["lora"]["revision"] = "89abcdef0123456789abcdef0123456789abcdef"
    (tmp_path / "lock.json").write_text(json.dumps(lock))
    result = run(
        "--bucket",
        "models",
        "--family",
        QWEN,
        "--prefix",
        "/tryon/qwen/",
        "--lock",
        str(tmp_path / "lock.json"),
        "--dry-run",
    )
    assert result.returncode == 0, result.stderr
    assert "Qwen/Qwen-Image-Edit-2511@0123456789abcdef0123456789abcdef01234567" in result.stdout
    assert "aws s3 sync test-output/stage/model s3://models/tryon/qwen/ --only-show-errors" in result.stdout


def test_the_lora_is_staged_by_default_where_the_model_stack_looks_for_it(tmp_path: Path) -> None:
    lock = json.loads(LOCK.read_text())
    lock[QWEN]["model"]["revision"] = "0123456789abcdef0123456789abcdef01234567"
    (tmp_path / "lock.json").write_text(json.dumps(lock))
    refused = run("--bucket", "models", "--family", QWEN, "--lock", str(tmp_path / "lock.json"), "--dry-run")
    assert refused.returncode == 2 and "not pinned: lightx2v/Qwen-Image-Edit-2511-Lightning" in refused.stderr
    without = run(
        "--bucket", "models", "--family", QWEN, "--lock", str(tmp_path / "lock.json"), "--dry-run", "--without-lora"
    )
    assert without.returncode == 0, without.stderr
    assert "Lightning" not in without.stdout

    lock[QWEN]["lora"]["revision"] = "89abcdef0123456789abcdef0123456789abcdef"
    (tmp_path / "lock.json").write_text(json.dumps(lock))
    staged = run("--bucket", "models", "--family", QWEN, "--lock", str(tmp_path / "lock.json"), "--dry-run")
    assert staged.returncode == 0, staged.stderr
    template = cfn_template_module().load_template(MODEL_TEMPLATE)
    default_path = template["Parameters"]["FewStepLoraPath"]["Default"]
    assert f"as {default_path}" in staged.stdout


def test_klein_is_pinned_under_its_own_prefix_without_a_lora(tmp_path: Path) -> None:
    lock = json.loads(LOCK.read_text())
    assert lock[KLEIN]["model"]["repo_id"] == "black-forest-labs/FLUX.2-klein-4B" and "lora" not in lock[KLEIN]
    assert all(lock[family]["model"]["revision"] is None for family in (QWEN, KLEIN)), "no invented hashes"
    assert "could be verified offline" in lock["_about"]
    (tmp_path / "lock.json").write_text(json.dumps(lock))
    refused = run("--bucket", "models", "--lock", str(tmp_path / "lock.json"), "--dry-run")
    assert refused.returncode == 2 and "not pinned: black-forest-labs/FLUX.2-klein-4B" in refused.stderr

    lock[KLEIN]["model"]["revision"] = "fedcba9876543210fedcba9876543210fedcba98"
    (tmp_path / "lock.json").write_text(json.dumps(lock))
    staged = run("--bucket", "models", "--lock", str(tmp_path / "lock.json"), "--dry-run")
    assert staged.returncode == 0, staged.stderr
    assert "black-forest-labs/FLUX.2-klein-4B@fedcba9876543210fedcba9876543210fedcba98" in staged.stdout
    assert "s3://models/tryon-model/flux2-klein-4b/" in staged.stdout and "Lightning" not in staged.stdout
    template = cfn_template_module().load_template(MODEL_TEMPLATE)
    assert template["Parameters"]["ModelFamily"]["Default"] == KLEIN, "what make model-stage stages by default"

"""scripts/benchmark_model_server_gpu.py: a clean refusal without CUDA, and its code path on a CPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "benchmark_model_server_gpu.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_without_cuda_it_measures_nothing_and_says_why() -> None:
    result = run("--runs", "1")
    assert result.returncode == 2
    assert "needs a CUDA GPU" in result.stderr
    assert "median" not in result.stdout


@pytest.mark.timeout(330)  # the script's own bound is 300 s
def test_its_measuring_code_runs_at_tiny_size_on_the_cpu() -> None:
    result = run(
        "--tiny-on-cpu", "--size", "64", "--steps", "2", "--fewstep-steps", "1", "--runs", "1", "--warmup", "0"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "not a measurement" in result.stdout
    assert "[none] default: 2 steps, true CFG 4.0: median" in result.stdout
    assert "[none] few-step: 1 steps, true CFG 1.0: median" in result.stdout


def test_its_fp8_setting_quantizes_as_the_server_does() -> None:
    """On a CPU the server's fp8 setting falls back to int8 weight-only; the script says which ran."""
    result = run(
        "--tiny-on-cpu", "--quantization", "fp8", "--size", "64", "--steps", "1", "--fewstep-steps", "1",
        "--runs", "1", "--warmup", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "[fp8] transformer quantized with torchao's Int8WeightOnlyConfig" in result.stdout
    assert "[fp8] few-step: 1 steps, true CFG 1.0: median" in result.stdout
    assert "[none]" not in result.stdout

"""scripts/benchmark_model_server_gpu.py: a clean refusal without CUDA, and its code path for each
family (the same construction, calls and timing, with the family's tiny overrides) on a CPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import KLEIN, QWEN

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "benchmark_model_server_gpu.py"
BOTH = Path(__file__).resolve().parents[2] / "scripts" / "benchmark_model_families_gpu.sh"
TINY = ("--tiny-on-cpu", "--size", "64", "--runs", "1", "--warmup", "0")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600, check=False
    )


def test_without_cuda_it_measures_nothing_and_says_why() -> None:
    result = run("--family", KLEIN, "--runs", "1")
    assert result.returncode == 2
    assert "needs a CUDA GPU" in result.stderr
    assert "median" not in result.stdout


@pytest.mark.timeout(600)  # the script's own bound is 300 s per family, on a busy CPU
@pytest.mark.parametrize(
    ("family", "steps", "lines"),
    [
        (QWEN, "1", ["[none] base: 1 steps, guidance 4.0: median", "[none] few-step: 4 steps, guidance 1.0: median"]),
        (KLEIN, "1", ["[none] distilled: 1 steps, guidance 1.0: median"]),
    ],
)
def test_its_measuring_code_runs_at_tiny_size_on_the_cpu(family: str, steps: str, lines: list[str]) -> None:
    result = run("--family", family, *TINY, "--steps", steps)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "not a measurement" in result.stdout
    for line in lines:
        assert line in result.stdout


def test_its_fp8_setting_quantizes_as_the_server_does() -> None:
    """On a CPU the server's fp8 setting falls back to int8 weight-only; the script says which ran."""
    result = run("--family", KLEIN, *TINY, "--quantization", "fp8", "--steps", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "[fp8] transformer quantized with torchao's Int8WeightOnlyConfig" in result.stdout
    assert "[fp8] distilled: 1 steps, guidance 1.0: median" in result.stdout
    assert "[none]" not in result.stdout


def test_the_prepared_gpu_script_runs_both_families_within_its_budget() -> None:
    """The one script to run on a GPU: both families, bf16 and fp8, each under a timeout that keeps
    the whole under 8 minutes; without a GPU it stops at once and says so."""
    text = BOTH.read_text()
    assert f"--family {QWEN}" in text and f"--family {KLEIN}" in text
    budgets = [int(value) for value in __import__("re").findall(r"timeout (\d+) ", text)]
    assert len(budgets) == 2 and sum(budgets) < 8 * 60
    result = subprocess.run(["bash", str(BOTH)], capture_output=True, text=True, timeout=120, check=False,
                            env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable})  # fmt: skip
    assert result.returncode == 2 and "needs a CUDA GPU" in result.stdout + result.stderr

"""`make smoke` against the local server: all PASS on a working API, FAIL and exit 1 otherwise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import RunningServer
from tests.loopback import file_host

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(PASS|FAIL) (studio|environment|wrong key|missing field): (\d{3}) in (\d+\.\d) s")


def smoke(url: str, key: str) -> tuple[int, list[str]]:
    run = subprocess.run(
        [sys.executable, "-m", "tryon_dev.smoke", "--url", url, "--api-key", key],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "Traceback" not in run.stderr, run.stderr
    return run.returncode, run.stdout.splitlines()


def test_a_working_api_passes_all_four_calls_with_their_latency(dev_server: RunningServer) -> None:
    code, lines = smoke(dev_server.url + "/", dev_server.api_key)  # the URL output ends with a slash
    assert code == 0, lines
    results = [LINE.match(text) for text in lines[1:-1]]
    assert [(m.group(1), m.group(2), m.group(3)) for m in results if m] == [
        ("PASS", "studio", "200"),
        ("PASS", "environment", "200"),
        ("PASS", "wrong key", "401"),
        ("PASS", "missing field", "400"),
    ]
    assert lines[-1] == "all answers as documented"


def test_a_wrong_key_fails_the_generations_and_exits_1(dev_server: RunningServer) -> None:
    code, lines = smoke(dev_server.url, "not-the-key")
    assert code == 1
    assert lines[1].startswith("FAIL studio: 401") and "expected 200" in lines[1]
    assert lines[3].startswith("PASS wrong key: 401")
    assert lines[4].startswith("FAIL missing field: 401")  # authentication comes first
    assert lines[-1] == "3 answer(s) off the contract"


def test_something_that_is_not_the_api_fails_every_call() -> None:
    with file_host() as host:
        host.publish("/generate_image", b"<html>hello</html>", "text/html")
        code, lines = smoke(host.base_url, "any")
    assert code == 1
    assert len([text for text in lines if text.startswith("FAIL ")]) == 4

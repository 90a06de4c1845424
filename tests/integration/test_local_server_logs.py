"""The local server's log while it renders: JSON lines only, and no library warning.

A NumPy ``RuntimeWarning`` (with a file path) once reached this log from a NaN in the embedded
renderer, and MediaPipe's C++ libraries printed their start-up notices there. The server is
started as a developer starts it, its stdout and stderr read together while it renders the
bundled photos and the blank photo that gave the NaN.
"""

from __future__ import annotations

import json
import re

import pytest
import requests

from tests.live_server import dev_server_process
from tests.photos import ASTRONAUT, CAMERAMAN, b64, selfie_jpeg

pytestmark = pytest.mark.integration
KEY = "log-test-key"
# The banner tryon_dev/cli.py prints: the address, the two calls, the jobs' workers and webhook secret.
BANNER = re.compile(
    r"^(try-on API \(embedded backend\) listening on "
    r"|  POST http://127\.0\.0\.1:\d+/generate_image "
    r"|  POST http://127\.0\.0\.1:\d+/jobs "
    r"|  jobs: \d+ workers, data in "
    r"|  webhook secret: )"
)
WARNING_MARKS = ("Warning", "warning:", "warnings.warn", ".py:", ".cc:", "Traceback")


def test_rendering_writes_json_lines_and_no_library_warning() -> None:
    output: list[str] = []
    requests_sent = [
        {"selfie_base64": b64(selfie_jpeg()), "clothing_description": "red hoodie", "mode": "studio"},
        {
            "selfie_base64": b64(ASTRONAUT.read_bytes()),
            "clothing_description": "navy striped tee",
            "mode": "environment",
        },
        {
            "selfie_base64": b64(CAMERAMAN.read_bytes()),  # grey-scale PNG
            "clothing_description": "teal t-shirt",
            "mode": "studio",
        },
    ]
    with dev_server_process("--api-key", KEY, output=output) as (url, _):
        for body in requests_sent:
            response = requests.post(f"{url}/generate_image", json=body, headers={"X-API-Key": KEY}, timeout=120)
            assert response.status_code == 200, response.text[:300]
    # Everything after the banner's five lines is the log.
    log = [line for line in output if BANNER.match(line) is None]
    assert len(log) == len(output) - 5, output
    assert sum('"answered"' in line for line in log) == len(requests_sent), log
    for line in log:
        assert not any(mark in line for mark in WARNING_MARKS), line
        record = json.loads(line)  # every line is one JSON record: no stray library output
        assert isinstance(record, dict) and ("level" in record or "_aws" in record), line  # a log line or EMF

"""`python -m tryon_dev serve --emulate-aws bedrock` over real HTTP: the production backend's
code path, end to end, on a laptop."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.integration.models.helpers import assert_dressed_in_red, decode_image, request_body

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def test_dev_server_serves_the_bedrock_pipeline_against_the_emulator() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRYON_", "AWS_ENDPOINT_URL"))}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tryon_dev",
            "serve",
            "--port",
            "0",
            "--api-key",
            "dev-key",
            "--emulate-aws",
            "bedrock",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = None
        for _ in range(50):  # the banner comes within a few lines
            line = server.stdout.readline()
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if match:
                url = match.group(1)
                break
        assert url, "the dev server did not start"
        request = urllib.request.Request(
            f"{url}/generate_image",
            data=json.dumps(request_body("studio")).encode(),
            headers={"X-API-Key": "dev-key", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.loads(response.read())
            assert response.status == 200
        assert_dressed_in_red(decode_image(payload), "studio")
    finally:
        server.terminate()
        server.wait(timeout=10)

"""`python -m tryon_dev serve --emulate-aws bedrock` over real HTTP: the production backend's
code path, end to end, on a laptop."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from tests.integration.models.helpers import assert_dressed_in_red, decode_image, request_body
from tests.live_server import dev_server_process

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def test_dev_server_serves_the_bedrock_pipeline_against_the_emulator() -> None:
    with dev_server_process("--api-key", "dev-key", "--emulate-aws", "bedrock") as (url, _):
        request = urllib.request.Request(
            f"{url}/generate_image",
            data=json.dumps(request_body("studio")).encode(),
            headers={"X-API-Key": "dev-key", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.loads(response.read())
            assert response.status == 200
        assert_dressed_in_red(decode_image(payload), "studio")

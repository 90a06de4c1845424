"""docs/API.md is the project's own contract: it holds the code's messages, the README links it,
and nothing in the repository points outside the repository for it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tryon_api.backends.model_calls import MODEL_FAILED, MODEL_UNAVAILABLE, QUOTA_USED_UP
from tryon_api.http.body_limit import body_too_large
from tryon_api.http.request_parsing import parse_generate_request
from tryon_api.settings import Settings
from tryon_api.tryon import errors
from tryon_api.tryon.errors import BadRequest, TryOnError

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = (ROOT / "docs" / "API.md").read_text()
# The steering folder beside a checkout, which a user's clone does not have (spelt in parts so that
# this file does not name it itself).
OUTSIDE_MARKERS = ("/".join(("..", "shared")), "/".join(("shared", "spec")))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"clothing_description": "x", "mode": "studio"}', "selfie_base64 is required"),
        (b'{"selfie_base64": "aGVsbG8=", "mode": "studio"}', "clothing_description is required"),
    ],
)
def test_the_fixed_messages_are_the_codes_and_the_contracts(body: bytes, message: str) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_generate_request(body)
    assert raised.value.message == message
    assert f'{{ "error": "{message}" }}' in CONTRACT


def test_every_message_the_code_answers_by_default_is_documented() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, TryOnError)]
    messages = {c.default_message for c in classes if c not in (TryOnError, BadRequest, errors.PayloadTooLarge)}
    messages |= {"internal error", MODEL_FAILED, MODEL_UNAVAILABLE, QUOTA_USED_UP}
    messages |= {body_too_large(Settings().max_body_bytes).message, "authentication is unavailable, retry later"}
    missing = {m for m in messages if f"`{m}`" not in CONTRACT}
    assert not missing
    for status in (200, 400, 401, 404, 405, 413, 422, 429, 500, 502, 503, 504):
        assert str(status) in CONTRACT


def test_the_readme_links_the_contract_and_nothing_points_outside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "](docs/API.md)" in readme
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    outside = []
    for name in files:
        path = ROOT / name
        if path.suffix in (".jpg", ".png", ".jpeg") or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for marker in OUTSIDE_MARKERS:
            if marker in text:
                outside.append((name, marker))
    assert outside == []

"""The webhook receiver's check exactly as docs/API.md shows it: the tests verify deliveries with
the documented code, so the docs cannot drift from what the server signs."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)

Verifier = Callable[[str, bytes, "str | None", "str | None"], bool]


def documented_verifier() -> Verifier:
    """``verify_tryon_webhook(secret, body, timestamp, signature)`` from the docs' receiver example."""
    text = (ROOT / "docs" / "API.md").read_text(encoding="utf-8")
    block = next(b for b in _PYTHON_BLOCK.findall(text) if "def verify_tryon_webhook" in b)
    namespace: dict[str, object] = {}
    exec(compile(block, "docs/API.md", "exec"), namespace)
    verifier = namespace["verify_tryon_webhook"]
    assert callable(verifier)
    return verifier  # type: ignore[return-value]

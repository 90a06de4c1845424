"""The webhook receiver's check exactly as docs/API.md shows it: the tests verify deliveries with
the documented code, so the docs cannot drift from what the server signs."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)

Verifier = Callable[[str, bytes, dict[str, str]], "dict[str, Any] | None"]


def documented_verifier() -> Verifier:
    """``verify_tryon_webhook(secret, body, headers)`` from the docs' receiver example (the
    standardwebhooks package's verifier): the verified event, or None."""
    text = (ROOT / "docs" / "API.md").read_text(encoding="utf-8")
    block = next(b for b in _PYTHON_BLOCK.findall(text) if "def verify_tryon_webhook" in b)
    namespace: dict[str, object] = {}
    exec(compile(block, "docs/API.md", "exec"), namespace)
    verifier = namespace["verify_tryon_webhook"]
    assert callable(verifier)
    return verifier  # type: ignore[return-value]

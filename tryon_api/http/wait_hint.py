"""How long one image usually takes on the backend that answers: a public hint, served in
``GET /openapi.json`` as ``info.x-tryon-wait``, that the playground's waiting text reads.

Only a range of seconds and whether the answer is the local preview: never a backend, model or
endpoint name. The preview's range is measured (``make benchmark-preview``, 2026-12-07, a 2-core
machine shared with seven other engineers, load average 12.6 to 18.9: medians of 0.8 to 3.0 s per
image at 512 to 1024 px, 5.5 s for the first request after start-up). The model backends' range is
the production model's figure from the contract; it is not measured here (no AWS).
"""

from __future__ import annotations

from typing import Any

EXPECTED_SECONDS: dict[str, tuple[int, int]] = {
    "embedded": (1, 5),
    "bedrock": (10, 30),
    "sagemaker": (10, 30),
}


def wait_hint(backend: str) -> dict[str, Any]:
    low, high = EXPECTED_SECONDS.get(backend, (10, 30))
    return {"preview": backend == "embedded", "seconds": [low, high]}

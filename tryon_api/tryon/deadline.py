"""A request's time budget, so every stage stops before the Lambda is killed mid-answer."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tryon_api.tryon.errors import UpstreamTimeout


@dataclass(frozen=True)
class Deadline:
    expires_at: float  # time.monotonic() value

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + max(0.0, seconds))

    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())

    def check(self, what: str = "the image model") -> None:
        if self.remaining() <= 0:
            raise UpstreamTimeout(f"{what} did not answer in time")

"""How many images this process decodes or renders at once: one limiter for the whole request path.

Decoding an upload and rendering a try-on are the two CPU- and memory-heavy steps. The pipeline
takes a slot to decode the selfie, the garment and the model's answer; a backend that renders in
process (the embedded one) is handed the same ``WorkSlots`` to take one while it renders. So the
memory in use grows with the number of slots, never with the number of concurrent requests:
the others wait their turn, until their deadline.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import TryOnError, UpstreamTimeout


def default_slot_count() -> int:
    """One slot per CPU: more at once only multiplies the memory in use."""
    return os.cpu_count() or 1


class WorkSlots:
    def __init__(self, size: int = 0) -> None:
        self.size = size or default_slot_count()
        self._semaphore = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self.in_use = 0
        self.most_in_use = 0

    @contextmanager
    def hold(self, deadline: Deadline, timed_out: TryOnError | None = None) -> Iterator[None]:
        """Hold one slot for the block; waiting past ``deadline`` raises ``timed_out`` (504)."""
        remaining = deadline.remaining()
        if remaining <= 0 or not self._semaphore.acquire(timeout=remaining):
            raise timed_out or UpstreamTimeout()
        with self._lock:
            self.in_use += 1
            self.most_in_use = max(self.most_in_use, self.in_use)
        try:
            yield
        finally:
            with self._lock:
                self.in_use -= 1
            self._semaphore.release()

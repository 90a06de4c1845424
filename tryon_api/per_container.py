"""The one way to keep something for the life of a container: built on first use, then shared.

Lambda runs one container per concurrent request and reuses it, so anything costly that does not
change per request (settings, AWS clients, the backend, the OpenAPI document, the playground page)
is built once. Building happens under a lock, so the threaded dev server builds it once too.
Tests replace the value with ``set`` (or drop it with ``reset`` to rebuild from the environment).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerContainer(Generic[T]):
    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._built = False
        self._lock = threading.Lock()

    def get(self) -> T:
        if not self._built:  # the common case takes no lock
            with self._lock:
                if not self._built:
                    self._value = self._build()
                    self._built = True
        return self._value  # type: ignore[return-value]

    def set(self, value: T | None) -> None:
        """Use ``value`` from now on; ``None`` builds afresh on the next ``get``."""
        with self._lock:
            self._value = value
            self._built = value is not None

    def reset(self) -> None:
        self.set(None)

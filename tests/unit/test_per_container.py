"""PerContainer: built once on first use, even when threads race for it; replaceable in tests."""

from __future__ import annotations

import threading

import pytest

from tryon_api.per_container import PerContainer


def test_builds_once_when_many_threads_ask_at_once() -> None:
    """The first build is held open until every thread has asked: without the lock, each of
    them would find nothing built and build again. Events, not a sleep, set the window."""
    calls: list[int] = []
    asking = threading.Semaphore(0)
    release = threading.Event()

    def build() -> object:
        calls.append(1)
        assert release.wait(timeout=30), "the test never released the build"
        return object()

    holder = PerContainer(build)
    seen: list[object] = []

    def ask() -> None:
        asking.release()
        seen.append(holder.get())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert asking.acquire(timeout=30)
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(calls) == 1
    assert len(seen) == 8 and all(value is seen[0] for value in seen)


def test_set_replaces_and_reset_rebuilds() -> None:
    counter = iter(range(100))
    holder = PerContainer(lambda: next(counter))
    assert holder.get() == 0 and holder.get() == 0
    holder.set(42)
    assert holder.get() == 42
    holder.reset()
    assert holder.get() == 1


def test_a_failed_build_is_retried_on_the_next_use() -> None:
    attempts: list[int] = []

    def build() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("secret store down")
        return "ok"

    holder = PerContainer(build)
    with pytest.raises(RuntimeError):
        holder.get()
    assert holder.get() == "ok" and len(attempts) == 2

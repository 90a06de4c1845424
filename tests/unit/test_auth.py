"""API-key checks: constant-time matching, rotation, rate-limited refresh, failing closed."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tryon_api.http.auth import ApiKeyVerifier, parse_api_key_secret, static_key_loader
from tryon_api.tryon.errors import DependencyUnavailable, Unauthorized


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeSecretStore:
    """Counts reads; ``force`` reads see the current keys, cached reads the last ones seen."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)
        self.cached: list[str] | None = None
        self.reads = 0
        self.fail = False

    def load(self, force: bool) -> Sequence[str]:
        if self.fail:
            raise DependencyUnavailable("authentication is unavailable, retry later")
        if force or self.cached is None:
            self.reads += 1
            self.cached = list(self.keys)
        return self.cached


def make(keys: Sequence[str], interval: float = 60) -> tuple[ApiKeyVerifier, FakeSecretStore, FakeClock]:
    store, clock = FakeSecretStore(keys), FakeClock()
    return ApiKeyVerifier(store.load, interval, clock), store, clock


def test_right_key_passes() -> None:
    verifier, _, _ = make(["k1"])
    verifier.verify("k1")


@pytest.mark.parametrize("presented", [None, "", "k2", "k1 extra", "K1", "x" * 10_000])
def test_wrong_or_missing_key_is_401(presented: str | None) -> None:
    verifier, _, _ = make(["k1"])
    with pytest.raises(Unauthorized):
        verifier.verify(presented)


def test_both_keys_of_a_rotated_pair_pass() -> None:
    verifier, _, _ = make(["old", "new"])
    verifier.verify("old")
    verifier.verify("new")


def test_unknown_keys_force_at_most_one_refresh_per_interval() -> None:
    verifier, store, clock = make(["k1"], interval=60)
    verifier.verify("k1")
    assert store.reads == 1
    for _ in range(100):
        with pytest.raises(Unauthorized):
            verifier.verify("bad")
        clock.now += 0.1
    assert store.reads == 1  # the first read counts: no refresh within the first minute
    clock.now += 60
    with pytest.raises(Unauthorized):
        verifier.verify("bad")
    assert store.reads == 2
    with pytest.raises(Unauthorized):
        verifier.verify("bad")
    assert store.reads == 2


def test_a_key_added_to_the_secret_works_within_the_refresh_interval() -> None:
    verifier, store, clock = make(["old"], interval=60)
    verifier.verify("old")
    store.keys = ["old", "new"]
    with pytest.raises(Unauthorized):
        verifier.verify("new")  # within the interval, the cached keys are used
    clock.now += 61
    verifier.verify("new")
    verifier.verify("new")
    assert store.reads == 2


def test_a_removed_key_stops_working_after_refresh() -> None:
    verifier, store, _clock = make(["old", "new"], interval=60)
    verifier.verify("old")
    store.keys = ["new"]
    store.cached = None  # the cache expired (max age)
    with pytest.raises(Unauthorized):
        verifier.verify("old")


def test_secret_store_failure_fails_closed() -> None:
    verifier, store, _ = make(["k1"])
    store.fail = True
    with pytest.raises(DependencyUnavailable) as caught:
        verifier.verify("k1")
    assert caught.value.status == 503


def test_missing_key_is_401_without_reading_the_store() -> None:
    verifier, store, _ = make(["k1"])
    store.fail = True
    with pytest.raises(Unauthorized):
        verifier.verify(None)


def test_no_configured_key_fails_closed() -> None:
    verifier = ApiKeyVerifier(static_key_loader([]))
    with pytest.raises(DependencyUnavailable):
        verifier.verify("anything")


@pytest.mark.parametrize(
    ("secret", "keys"),
    [
        ("plain-key", ("plain-key",)),
        ("  plain-key\n", ("plain-key",)),
        ('{"api_keys": ["k1", "k2"]}', ("k1", "k2")),
        ('{"api_keys": ["k1", "", 7, " k2 "]}', ("k1", "k2")),
        ('{"api_key": "solo"}', ("solo",)),
        (b"bytes-key", ("bytes-key",)),
    ],
)
def test_secret_shapes(secret: str | bytes, keys: tuple[str, ...]) -> None:
    assert parse_api_key_secret(secret) == keys


@pytest.mark.parametrize("secret", ["", "   ", '{"api_keys": []}', '{"other": "x"}', "{not json", 42])
def test_unusable_secret_fails_closed(secret: object) -> None:
    with pytest.raises(DependencyUnavailable):
        parse_api_key_secret(secret)


@pytest.mark.parametrize("padding", [" ", "\t", " \t ", "\t\t"])
def test_http_optional_whitespace_around_the_key_is_trimmed(padding: str) -> None:
    verifier, _, _ = make(["k1"])
    verifier.verify(f"{padding}k1{padding}")


@pytest.mark.parametrize("character", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\n", "\r"])
def test_other_whitespace_is_part_of_the_value_and_makes_it_wrong(character: str) -> None:
    verifier, _, _ = make(["k1"])
    for presented in (f"k1{character}", f"{character}k1", f" k1{character}\t"):
        with pytest.raises(Unauthorized):
            verifier.verify(presented)


@pytest.mark.parametrize("presented", ["k1,k1", "wrong,k1", "k1, k1", "k1,", ",k1", "wrong, k1"])
def test_a_header_carrying_several_values_is_401(presented: str) -> None:
    verifier, _, _ = make(["k1"])
    with pytest.raises(Unauthorized):
        verifier.verify(presented)

"""The keys' store behaviour, the same against SQLite and moto's DynamoDB: records, the
per-minute and monthly counters under concurrency, browser tokens' images, revocation, refunds."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.keys.conftest import StoreUnderTest
from tryon_api.keys.credentials import secret_matches, split_managed_key
from tryon_api.keys.interface import QuotaRefused, minute_window, month_of
from tryon_api.keys.service import create_key

pytestmark = pytest.mark.integration

MONTH = "2026-12"
WINDOW = minute_window(1_796_600_000)


def parallel(count: int, call) -> list:  # type: ignore[no-untyped-def]
    """Run ``call`` ``count`` times at once (released together by a barrier)."""
    barrier = threading.Barrier(count)

    def one(_: int):  # type: ignore[no-untyped-def]
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_a_created_key_is_stored_as_a_digest_and_listed(key_store: StoreUnderTest) -> None:
    new = create_key(key_store.store, "shop", 5, 100)
    key_id, secret = split_managed_key(new.key) or ("", "")
    assert key_id == new.record.id
    record = key_store.store.get(key_id)
    assert record is not None and record.name == "shop" and record.active
    assert (record.per_minute, record.per_month) == (5, 100)
    assert secret not in repr(record) and secret_matches(secret, record.secret_sha256)
    assert [r.id for r in key_store.store.list_keys()] == [key_id]
    assert key_store.store.get("key_0000000000000000") is None


def test_twelve_parallel_requests_with_a_limit_of_five_give_exactly_five(key_store: StoreUnderTest) -> None:
    results = parallel(12, lambda: key_store.store.count_request("key_a", WINDOW, 5))
    admitted = [r for r in results if r is not None]
    assert len(admitted) == 5
    assert sorted(admitted) == [1, 2, 3, 4, 5]
    assert key_store.store.minute_count("key_a", WINDOW) == 5
    # The next minute starts afresh; another key has its own window.
    assert key_store.store.count_request("key_a", WINDOW + 60, 5) == 1
    assert key_store.store.count_request("key_b", WINDOW, 5) == 1


def test_the_monthly_quota_holds_under_concurrency_and_counts_requests(key_store: StoreUnderTest) -> None:
    def reserve() -> int | str:
        try:
            return key_store.store.reserve_images("key_a", MONTH, 2, 10)
        except QuotaRefused as refused:
            return refused.reason

    results = parallel(12, reserve)
    assert results.count("quota") == 7
    assert sorted(r for r in results if isinstance(r, int)) == [2, 4, 6, 8, 10]
    usage = key_store.store.month_usage("key_a", MONTH)
    assert (usage.images, usage.requests) == (10, 5)
    # A job that would cross the quota is refused whole, not in part.
    with pytest.raises(QuotaRefused):
        key_store.store.reserve_images("key_a", MONTH, 1, 10)
    assert key_store.store.month_usage("key_a", "2027-01").images == 0


def test_a_refund_gives_images_back(key_store: StoreUnderTest) -> None:
    key_store.store.reserve_images("key_a", MONTH, 3, 3)
    key_store.store.release_images("key_a", MONTH, 2)
    assert key_store.store.month_usage("key_a", MONTH).images == 1
    assert key_store.store.reserve_images("key_a", MONTH, 2, 3) == 3


def test_a_token_is_held_to_its_own_images_and_counts_against_its_key(key_store: StoreUnderTest) -> None:
    token = ("tok-1", 3, int(time.time()) + 600)

    def reserve() -> int | str:
        try:
            return key_store.store.reserve_images("key_a", MONTH, 1, None, token)
        except QuotaRefused as refused:
            return refused.reason

    results = parallel(6, reserve)
    assert results.count("token") == 3
    assert key_store.store.month_usage("key_a", MONTH).images == 3
    # The key's quota binds the token too.
    with pytest.raises(QuotaRefused) as refused:
        key_store.store.reserve_images("key_a", MONTH, 1, 3, ("tok-2", 5, token[2]))
    assert refused.value.reason == "quota"
    assert key_store.store.month_usage("key_a", MONTH).images == 3  # nothing half-counted


def test_revoking_stops_reservations_at_once(key_store: StoreUnderTest) -> None:
    new = create_key(key_store.store, "partner", None, None)
    now = time.time()
    key_store.store.reserve_images(new.record.id, month_of(now), 1, None)
    assert key_store.store.revoke(new.record.id, now)
    record = key_store.store.get(new.record.id)
    assert record is not None and record.state == "revoked"
    with pytest.raises(QuotaRefused) as refused:
        key_store.store.reserve_images(new.record.id, month_of(now), 1, None, ("tok", 5, int(now) + 60))
    assert refused.value.reason == "revoked"
    assert not key_store.store.revoke("key_ffffffffffffffff", now)

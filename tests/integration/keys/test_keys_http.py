"""Named keys through the handler, the same against SQLite and moto's DynamoDB: the per-minute
limit and the monthly quota (statuses, messages, Retry-After, RateLimit headers), GET /usage,
jobs refused before they are queued, plain keys unlimited as before, and browser tokens."""

from __future__ import annotations

import calendar
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.keys.conftest import StoreUnderTest
from tests.integration.keys.keys_http import (
    LEGACY_KEY,
    SHOP,
    body,
    call,
    generate,
    header,
    install_keys,
    mint,
    new_key,
    submit_job,
)
from tryon_api.http.job_services import get_job_dependencies

pytestmark = pytest.mark.integration

RATE_LIMITED = {"error": "rate limit exceeded for this api key"}
QUOTA_EXHAUSTED = {"error": "monthly image quota exhausted for this api key"}
UNAUTHORIZED = {"error": "missing or invalid api key"}
# 2026-12-31 23:58:30 UTC: 30 s left in the minute, 90 s in the month.
NEAR_NEW_YEAR = calendar.timegm((2026, 12, 31, 23, 58, 30))


def parse_structured_list(value: str) -> dict[str, dict[str, str]]:
    """An RFC 8941 list of strings with parameters, as the RateLimit fields are written."""
    members = {}
    for member in value.split(","):
        name, *params = member.strip().split(";")
        assert name.startswith('"') and name.endswith('"'), value
        members[name.strip('"')] = dict(p.split("=", 1) for p in params)
    return members


def test_twelve_parallel_generations_with_a_limit_of_five_give_five(key_store: StoreUnderTest, tmp_path: Path) -> None:
    install_keys(key_store.store, tmp_path)
    _, key = new_key(key_store.store, per_minute=5)
    barrier = threading.Barrier(12)

    def one(_: int) -> dict:
        barrier.wait(timeout=30)
        return generate({"x-api-key": key})

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(one, range(12)))
    statuses = sorted(a["statusCode"] for a in answers)
    assert statuses == [200] * 5 + [429] * 7
    for refused in (a for a in answers if a["statusCode"] == 429):
        assert body(refused) == RATE_LIMITED
        assert 1 <= int(header(refused, "Retry-After") or 0) <= 60
        assert parse_structured_list(header(refused, "RateLimit") or "")["minute"]["r"] == "0"
        assert parse_structured_list(header(refused, "RateLimit-Policy") or "")["minute"] == {"q": "5", "w": "60"}


def test_the_minute_and_the_month_as_the_headers_and_retry_after_say(key_store: StoreUnderTest, tmp_path: Path) -> None:
    clock = [float(NEAR_NEW_YEAR)]
    install_keys(key_store.store, tmp_path, clock=lambda: clock[0])
    _, key = new_key(key_store.store, per_minute=2, per_month=3)
    first = generate({"x-api-key": key})
    assert first["statusCode"] == 200
    policy = parse_structured_list(header(first, "RateLimit-Policy") or "")
    assert policy == {"minute": {"q": "2", "w": "60"}, "month": {"q": "3", "w": str(31 * 86400)}}
    assert parse_structured_list(header(first, "RateLimit") or "") == {
        "minute": {"r": "1", "t": "30"},
        "month": {"r": "2", "t": "90"},
    }
    assert generate({"x-api-key": key})["statusCode"] == 200
    refused = generate({"x-api-key": key})
    assert (refused["statusCode"], body(refused), header(refused, "Retry-After")) == (429, RATE_LIMITED, "30")
    clock[0] += 30  # the next minute: one image left this month
    assert generate({"x-api-key": key})["statusCode"] == 200
    exhausted = generate({"x-api-key": key})
    assert (exhausted["statusCode"], body(exhausted)) == (429, QUOTA_EXHAUSTED)
    assert header(exhausted, "Retry-After") == "60"  # until the month (UTC) turns
    assert parse_structured_list(header(exhausted, "RateLimit") or "")["month"]["r"] == "0"
    clock[0] += 60  # January
    assert generate({"x-api-key": key})["statusCode"] == 200


def test_a_job_that_would_cross_the_quota_is_refused_before_it_is_queued(
    key_store: StoreUnderTest, tmp_path: Path
) -> None:
    install_keys(key_store.store, tmp_path)
    _, key = new_key(key_store.store, per_month=3)
    refused = submit_job({"x-api-key": key}, samples=4)
    assert (refused["statusCode"], body(refused)) == (429, QUOTA_EXHAUSTED)
    deps = get_job_dependencies()
    assert deps.queue.receive() is None  # nothing was queued
    accepted = submit_job({"x-api-key": key}, samples=3)
    assert accepted["statusCode"] == 202
    job_id = body(accepted)["id"]
    # A poll is an answer to a limited key too: it carries the headers.
    polled = call("GET", f"/jobs/{job_id}", {"x-api-key": key})
    assert polled["statusCode"] == 200
    assert parse_structured_list(header(polled, "RateLimit") or "")["month"]["r"] == "0"
    usage = call("GET", "/usage", {"x-api-key": key})
    assert body(usage)["images"] == 3 and body(usage)["requests"] == 1


def test_usage_reports_the_calling_keys_month_and_limits(key_store: StoreUnderTest, tmp_path: Path) -> None:
    install_keys(key_store.store, tmp_path)
    key_id, key = new_key(key_store.store, per_minute=10, per_month=100)
    generate({"x-api-key": key})
    submit_job({"x-api-key": key}, samples=2)
    answer = call("GET", "/usage", {"x-api-key": key})
    assert answer["statusCode"] == 200
    report = body(answer)
    assert report["key_id"] == key_id and report["name"] == "shop"
    assert (report["images"], report["requests"]) == (3, 2)
    assert report["limits"] == {"per_minute": 10, "per_month": 100}
    assert report["resets_at"].endswith("-01T00:00:00Z")


def test_a_failed_generation_gives_its_image_back(key_store: StoreUnderTest, tmp_path: Path) -> None:
    from tests.fakes import ScriptedBackend
    from tryon_api.tryon.errors import UpstreamFailed

    install_keys(key_store.store, tmp_path, backend=ScriptedBackend(UpstreamFailed()))
    _, key = new_key(key_store.store, per_month=1)
    assert generate({"x-api-key": key})["statusCode"] == 502
    assert body(call("GET", "/usage", {"x-api-key": key}))["images"] == 0


def test_plain_keys_stay_unlimited_and_carry_no_ratelimit_headers(key_store: StoreUnderTest, tmp_path: Path) -> None:
    install_keys(key_store.store, tmp_path)
    _, unlimited = new_key(key_store.store)
    for key in (LEGACY_KEY, unlimited):
        for _ in range(3):
            answer = generate({"x-api-key": key})
            assert answer["statusCode"] == 200
            assert header(answer, "RateLimit") is None and header(answer, "RateLimit-Policy") is None
    assert body(call("GET", "/usage", {"x-api-key": LEGACY_KEY}))["images"] == 3


def test_a_revoked_key_gets_the_one_401(key_store: StoreUnderTest, tmp_path: Path) -> None:
    import time

    install_keys(key_store.store, tmp_path)
    key_id, key = new_key(key_store.store)
    assert generate({"x-api-key": key})["statusCode"] == 200
    key_store.store.revoke(key_id, time.time())
    answer = generate({"x-api-key": key})
    assert (answer["statusCode"], body(answer)) == (401, UNAUTHORIZED)


def test_a_revoked_key_stops_generating_at_once_on_a_container_that_cached_it(
    key_store: StoreUnderTest, tmp_path: Path
) -> None:
    """The cached record keeps reads working up to its age; anything counting images stops now."""
    import time

    install_keys(key_store.store, tmp_path, record_max_age_seconds=30)
    key_id, key = new_key(key_store.store)
    token = mint(key)["token"]
    assert generate({"x-api-key": key})["statusCode"] == 200
    key_store.store.revoke(key_id, time.time())
    for headers in ({"x-api-key": key}, {"authorization": f"Bearer {token}", "origin": SHOP}):
        answer = generate(headers)
        assert (answer["statusCode"], body(answer)) == (401, UNAUTHORIZED)


# ---------------------------------------------------------------- browser tokens


def test_a_token_generates_from_its_origin_within_its_images(key_store: StoreUnderTest, tmp_path: Path) -> None:
    install_keys(key_store.store, tmp_path)
    key_id, key = new_key(key_store.store, per_month=100)
    minted = mint(key, images=2)
    bearer = {"authorization": f"Bearer {minted['token']}", "origin": SHOP}
    assert generate(bearer)["statusCode"] == 200
    job = submit_job(bearer)
    assert job["statusCode"] == 202
    assert call("GET", f"/jobs/{body(job)['id']}", bearer)["statusCode"] == 200
    spent = generate(bearer)  # two images made: the token is spent
    assert (spent["statusCode"], body(spent)) == (401, UNAUTHORIZED)
    report = body(call("GET", "/usage", {"x-api-key": key}))
    assert report["key_id"] == key_id and report["images"] == 2  # counted against its key


def test_a_token_counts_against_its_keys_limits(key_store: StoreUnderTest, tmp_path: Path) -> None:
    install_keys(key_store.store, tmp_path)
    _, key = new_key(key_store.store, per_minute=2, per_month=100)
    bearer = {"authorization": f"Bearer {mint(key, images=10)['token']}", "origin": SHOP}
    assert generate(bearer)["statusCode"] == 200
    assert generate({"x-api-key": key})["statusCode"] == 200
    refused = generate(bearer)
    assert (refused["statusCode"], body(refused)) == (429, RATE_LIMITED)
    assert header(refused, "RateLimit-Policy") is not None


def test_a_tokens_jobs_are_its_own(key_store: StoreUnderTest, tmp_path: Path) -> None:
    install_keys(key_store.store, tmp_path)
    _, key = new_key(key_store.store)
    keys_job = body(submit_job({"x-api-key": key}))["id"]
    first = {"authorization": f"Bearer {mint(key)['token']}", "origin": SHOP}
    second = {"authorization": f"Bearer {mint(key)['token']}", "origin": SHOP}
    tokens_job = body(submit_job(first))["id"]
    assert call("GET", f"/jobs/{tokens_job}", first)["statusCode"] == 200
    assert call("GET", f"/jobs/{tokens_job}", second)["statusCode"] == 404
    assert call("GET", f"/jobs/{keys_job}", first)["statusCode"] == 404
    assert call("DELETE", f"/jobs/{tokens_job}", second)["statusCode"] == 404
    assert call("DELETE", f"/jobs/{tokens_job}", first)["statusCode"] == 204


def test_an_expired_token_gets_the_one_401(key_store: StoreUnderTest, tmp_path: Path) -> None:
    clock = [1_800_000_000.0]
    install_keys(key_store.store, tmp_path, clock=lambda: clock[0])
    _, key = new_key(key_store.store)
    minted = mint(key, ttl=60)
    bearer = {"authorization": f"Bearer {minted['token']}", "origin": SHOP}
    assert generate(bearer)["statusCode"] == 200
    clock[0] += 60
    answer = generate(bearer)
    assert (answer["statusCode"], body(answer)) == (401, UNAUTHORIZED)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"origin": "shop.example"}, "origin must be a web page's origin, such as https://shop.example"),
        ({"origin": "https://shop.example/"}, "origin must be a web page's origin, such as https://shop.example"),
        ({"origin": "https://Shop.example"}, "origin must be a web page's origin, such as https://shop.example"),
        ({"origin": SHOP, "ttl_seconds": 59}, "ttl_seconds must be an integer from 60 to 3600"),
        ({"origin": SHOP, "ttl_seconds": 3601}, "ttl_seconds must be an integer from 60 to 3600"),
        ({"origin": SHOP, "max_images": 0}, "max_images must be an integer from 1 to 20"),
        ({"origin": SHOP, "max_images": 21}, "max_images must be an integer from 1 to 20"),
        ({"origin": SHOP, "max_images": True}, "max_images must be an integer from 1 to 20"),
        ([SHOP], "request body must be a JSON object"),
    ],
)
def test_a_bad_token_request_is_a_400_naming_the_field(payload: object, message: str, tmp_path: Path) -> None:
    from tryon_api.keys.sqlite_store import SqliteKeyStore

    store = SqliteKeyStore(tmp_path / "keys.sqlite3")
    install_keys(store, tmp_path)
    _, key = new_key(store)
    answer = call("POST", "/client_tokens", {"x-api-key": key}, json.dumps(payload).encode())
    assert (answer["statusCode"], body(answer)) == (400, {"error": message})


def test_an_authorization_header_of_another_scheme_beside_an_api_key_is_not_ours(
    key_store: StoreUnderTest, tmp_path: Path
) -> None:
    """Some proxies add their own Authorization: the API key still decides; a Bearer beside it is
    ambiguous and refused."""
    install_keys(key_store.store, tmp_path)
    _, key = new_key(key_store.store)
    assert generate({"x-api-key": key, "authorization": "Basic dXNlcjpwYXNz"})["statusCode"] == 200
    assert generate({"x-api-key": LEGACY_KEY, "authorization": "Basic dXNlcjpwYXNz"})["statusCode"] == 200
    token = mint(key)["token"]
    both = generate({"x-api-key": key, "authorization": f"Bearer {token}", "origin": SHOP})
    assert (both["statusCode"], body(both)) == (401, {"error": "missing or invalid api key"})

"""Attacks on named keys and browser tokens, against both stores: a token replayed from another
origin, on a route it does not cover, altered or signed elsewhere; a key revoked in the middle of
a burst; and one indistinguishable 401 for every bad credential."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.keys.conftest import StoreUnderTest, key_store  # noqa: F401 - the fixture
from tests.integration.keys.keys_http import (
    GENERATE_BODY,
    SHOP,
    body,
    call,
    generate,
    install_keys,
    mint,
    new_key,
    submit_job,
)
from tryon_api.keys.credentials import TokenClaims, sign_token

UNAUTHORIZED = {"error": "missing or invalid api key"}


def refused_alike(answer: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {k: v for k, v in answer["headers"].items() if k.lower() != "x-request-id"}
    return answer["statusCode"], body(answer), headers


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://shop.example",  # another scheme
        "https://shop.example:8443",  # another port
        "https://shop.example.evil.example",
        "https://SHOP.example",
        "https://shop.example/",
        "null",  # a sandboxed frame or a file: page
        None,  # no Origin at all (curl, a server replaying a stolen token)
    ],
)
def test_a_token_replayed_from_another_origin_is_refused(
    key_store: StoreUnderTest,  # noqa: F811
    tmp_path: Path,
    origin: str | None,
) -> None:
    install_keys(key_store.store, tmp_path)
    _, key = new_key(key_store.store)
    token = mint(key)["token"]
    headers = {"authorization": f"Bearer {token}"} | ({"origin": origin} if origin is not None else {})
    answer = generate(headers)
    assert (answer["statusCode"], body(answer)) == (401, UNAUTHORIZED)
    assert body(call("GET", "/usage", {"x-api-key": key}))["images"] == 0  # nothing was counted


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("GET", "/usage", b""),
        ("POST", "/client_tokens", json.dumps({"origin": SHOP}).encode()),
        ("GET", "/nowhere", b""),
        ("PUT", "/generate_image", GENERATE_BODY),
    ],
)
def test_a_token_on_a_route_it_does_not_cover_is_refused(
    key_store: StoreUnderTest,  # noqa: F811
    tmp_path: Path,
    method: str,
    path: str,
    payload: bytes,
) -> None:
    install_keys(key_store.store, tmp_path)
    _, key = new_key(key_store.store)
    token = mint(key)["token"]
    answer = call(method, path, {"authorization": f"Bearer {token}", "origin": SHOP}, payload)
    assert (answer["statusCode"], body(answer)) == (401, UNAUTHORIZED)


def test_an_altered_or_foreign_token_is_refused(key_store: StoreUnderTest, tmp_path: Path) -> None:  # noqa: F811
    install_keys(key_store.store, tmp_path)
    key_id, key = new_key(key_store.store, per_month=5)
    token = mint(key, images=1)["token"]
    prefix, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["m"], claims["q"] = 20, None  # more images, no quota, same signature
    raised = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = TokenClaims("forged", key_id, SHOP, int(time.time()) + 600, 20, None, None)
    for candidate in (
        f"{prefix}.{raised}.{signature}",
        sign_token(forged, b"a-secret-that-is-not-the-deployments-0123456789"),
        token + "x",
        token.replace(".", "", 1),
        "Basic " + token,
    ):
        scheme_and_token = candidate if candidate.startswith("Basic ") else f"Bearer {candidate}"
        answer = generate({"authorization": scheme_and_token, "origin": SHOP})
        assert (answer["statusCode"], body(answer)) == (401, UNAUTHORIZED), candidate
    both = generate({"authorization": f"Bearer {token}", "origin": SHOP, "x-api-key": key})
    assert (both["statusCode"], body(both)) == (401, UNAUTHORIZED)


def test_a_key_revoked_in_the_middle_of_a_burst_stops_for_every_later_request(
    key_store: StoreUnderTest,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Four clients hammer the API with a key (and a token of it) on a container that has cached
    the key's record; once the revocation has returned, not one more image is made."""
    install_keys(key_store.store, tmp_path, record_max_age_seconds=30)
    key_id, key = new_key(key_store.store)
    token = mint(key, images=20)["token"]
    results: list[tuple[float, int]] = []
    lock = threading.Lock()
    stop = threading.Event()
    made_some = threading.Semaphore(0)

    def client(headers: dict[str, str]) -> None:
        for _ in range(200):  # bounded
            if stop.is_set():
                return
            started = time.monotonic()
            status = generate(headers)["statusCode"]
            with lock:
                results.append((started, status))
            if status == 200:
                made_some.release()

    credentials = [{"x-api-key": key}] * 3 + [{"authorization": f"Bearer {token}", "origin": SHOP}]
    threads = [threading.Thread(target=client, args=(c,)) for c in credentials]
    for thread in threads:
        thread.start()
    for _ in range(4):
        assert made_some.acquire(timeout=60)
    key_store.store.revoke(key_id, time.time())
    revoked_at = time.monotonic()
    time.sleep(0.5)  # let the burst run on past the revocation (bounded by the clients' own loop)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    after = [status for started, status in results if started > revoked_at]
    assert after, "the burst went on after the revocation"
    assert set(after) == {401}
    made = sum(1 for _, status in results if status == 200)
    assert key_store.store.month_usage(key_id, time.strftime("%Y-%m", time.gmtime())).images == made


def test_every_bad_credential_gets_the_same_401(key_store: StoreUnderTest, tmp_path: Path) -> None:  # noqa: F811
    clock = [time.time()]
    install_keys(key_store.store, tmp_path, clock=lambda: clock[0])
    revoked_id, revoked = new_key(key_store.store)
    _, live = new_key(key_store.store)
    expired = mint(live, ttl=60)["token"]
    key_store.store.revoke(revoked_id, clock[0])
    clock[0] += 61
    unknown = "key_0123456789abcdef." + "A" * 43
    wrong_secret = live[:-2] + ("AA" if not live.endswith("AA") else "BB")
    answers = [
        submit_job({}),
        submit_job({"x-api-key": unknown}),
        submit_job({"x-api-key": revoked}),
        submit_job({"x-api-key": wrong_secret}),
        submit_job({"x-api-key": "key_zz.not-a-key"}),
        submit_job({"x-api-key": live + "," + live}),
        submit_job({"authorization": f"Bearer {expired}", "origin": SHOP}),
        submit_job({"authorization": "Bearer ", "origin": SHOP}),
    ]
    first = refused_alike(answers[0])
    assert first[:2] == (401, UNAUTHORIZED)
    assert all(refused_alike(a) == first for a in answers)

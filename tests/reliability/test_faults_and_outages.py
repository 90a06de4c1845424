"""Model faults and a Secrets Manager outage, over real HTTP, with the production code path.

The dev server runs the Bedrock backend against the loopback model emulator (real boto3
clients), and reads the API keys from moto_server through a real Secrets Manager client. A
share of model calls fail (throttling, timeouts, 5xx, filtered output, a slow model) and the
secret store is stopped for a while. Every request must get its documented status and shape,
requests without a fault must succeed, recovery must need nothing but the fault going away,
and the logs of the whole run must stay clean.
"""

from __future__ import annotations

import base64
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import msgspec
import pytest
import requests

from tests.fuzz.log_capture import assert_nothing_leaks, captured_logs, log_records
from tests.fuzz.strategies import small_photo
from tests.reliability.outage_fixtures import SECRET_ID, SecretStore, dev_server, secret_store
from tryon_api.backends.model_calls import RetryPolicy
from tryon_api.entrypoints.wiring import build_services, set_services
from tryon_api.http.dependencies import Services
from tryon_api.settings import (
    DEFAULT_INPAINT_MODEL_ID,
    DEFAULT_REMOVE_BACKGROUND_MODEL_ID,
    DEFAULT_SEARCH_REPLACE_MODEL_ID,
    Settings,
)
from tryon_dev.aws_emulator import AwsModelEmulator

pytestmark = pytest.mark.integration

INPAINT = DEFAULT_INPAINT_MODEL_ID
REMOVE_BACKGROUND = DEFAULT_REMOVE_BACKGROUND_MODEL_ID
SEARCH_REPLACE = DEFAULT_SEARCH_REPLACE_MODEL_ID
API_KEY = "reliability-key-5c2e8f1a9d3b7046"
WRONG_KEY = "not-the-key-0000000000000000"
SELFIE = base64.b64encode(small_photo(size=(480, 600))).decode("ascii")
# The production retry policy with short waits, so that the run stays quick.
FAST_RETRIES = RetryPolicy(backoff_base_seconds=0.02, backoff_cap_seconds=0.1, min_attempt_seconds=0.2)
# (target, fault, status, message fragment): each injected for every call until cleared.
MODEL_FAULTS = [
    (REMOVE_BACKGROUND, "throttling", 429, "too many requests"),
    (SEARCH_REPLACE, "quota", 429, "quota is used up"),
    (INPAINT, "model_timeout", 504, "did not answer in time"),
    (REMOVE_BACKGROUND, "service_unavailable", 503, "unavailable"),
    (SEARCH_REPLACE, "internal", 502, "image model failed"),
    (SEARCH_REPLACE, "filtered", 422, "content filter"),
    (INPAINT, "bad_image", 502, "unreadable"),
]


@pytest.fixture(scope="module")
def emulator() -> Iterator[AwsModelEmulator]:
    with AwsModelEmulator() as running:
        yield running


@pytest.fixture
def stack(emulator: AwsModelEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, SecretStore, Services]]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
    emulator.reset()
    with secret_store() as store:
        store.put_keys(API_KEY)
        settings = Settings(
            backend="bedrock",
            api_key_secret_id=SECRET_ID,
            secret_max_age_seconds=1,  # so that an outage shows after a short wait
            secret_refresh_interval_seconds=0,
            model_region="us-east-1",
            model_max_attempts=1,
            local_timeout_seconds=60.0,  # generous: a loaded machine must not turn into 504s
            deadline_margin_seconds=0.5,
        )
        # The function's own secret client (aws_clients), pointed at the store by the standard variable.
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", store.url)
        services = build_services(settings)
        services.tryon.backend.policy = replace(  # type: ignore[attr-defined]
            FAST_RETRIES, retry_after_seconds=settings.model_retry_after_seconds
        )
        set_services(services)
        with dev_server() as url:
            yield url, store, services


def post(url: str, key: str = API_KEY, mode: str = "studio") -> requests.Response:
    body = {"selfie_base64": SELFIE, "clothing_description": "Red cotton t-shirt", "mode": mode}
    return requests.post(f"{url}/generate_image", json=body, headers={"X-API-Key": key}, timeout=30)


def check(response: requests.Response, status: int, fragment: str = "") -> dict[str, Any]:
    assert response.status_code == status, response.text[:200]
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Request-Id"]
    body: dict[str, Any] = response.json()
    if status == 200:
        assert set(body) == {"image_base64", "mime_type"}
    else:
        assert set(body) == {"error"} and fragment in body["error"]
    if status in (429, 503):
        assert int(response.headers["Retry-After"]) >= 1
    return body


@pytest.mark.timeout(600)  # ~50 requests in one scenario: longer than the default
def test_faults_and_a_secret_store_outage_get_documented_statuses_and_recover(
    stack: tuple[str, SecretStore, Services], emulator: AwsModelEmulator
) -> None:
    url, store, services = stack
    with captured_logs() as logs:
        # Healthy.
        check(post(url), 200)
        check(post(url, WRONG_KEY), 401, "api key")

        # Each model fault gives its status; the next request, without the fault, succeeds.
        for target, kind, status, fragment in MODEL_FAULTS:
            emulator.inject(target, kind, times=None)
            check(post(url, mode="environment"), status, fragment)
            emulator.reset()
            check(post(url, mode="environment"), 200)

        # A model slower than the request's time: a 504 at the deadline; the next one is fine.
        normal = services.settings
        # (2.5 s with the margin: time enough for the key check's own bounded secret read.)
        services.settings = msgspec.structs.replace(normal, local_timeout_seconds=3.0)
        emulator.set_delay(REMOVE_BACKGROUND, 600.0)  # never in time, however busy the machine (reset ends it)
        check(post(url), 504, "did not answer in time")
        emulator.reset()
        services.settings = normal
        check(post(url), 200)

        # A share of calls fail while others run: only the faulted requests are refused.
        emulator.inject(REMOVE_BACKGROUND, "throttling", times=3)
        with ThreadPoolExecutor(max_workers=3) as pool:
            responses = list(pool.map(lambda _: post(url), range(9)))
        statuses = Counter(r.status_code for r in responses)
        assert set(statuses) <= {200, 429} and statuses[429] <= 3 and statuses[200] >= 6, statuses
        for response in responses:
            check(response, response.status_code, "" if response.status_code == 200 else "too many requests")
        assert len([c for c in emulator.calls if c.fault == "throttling"]) == 3

        # The secret store goes away: once the cached keys expire, authentication fails closed.
        store.stop()
        time.sleep(1.5)  # past secret_max_age_seconds: the next check must reach the store
        check(post(url), 503, "authentication is unavailable")
        check(post(url, WRONG_KEY), 503, "authentication is unavailable")
        assert requests.get(f"{url}/openapi.json", timeout=10).status_code == 200  # public, needs no key

        # It comes back: recovery needs nothing else.
        store.start()
        check(post(url), 200)
        check(post(url, WRONG_KEY), 401, "api key")

    records = log_records(logs)
    assert {r["message"] for r in records} >= {"answered", "request failed", "api key secret could not be read"}
    answered = [r for r in records if r["message"] == "answered"]
    assert len(answered) == 2 + 2 * len(MODEL_FAULTS) + 2 + 9 + 2 + 1 + 2
    assert [r for r in records if not r.get("correlation_id")] == []
    assert_nothing_leaks(logs.getvalue(), (API_KEY, WRONG_KEY, SELFIE[:64]))

"""The handler with named keys over a given store: requests in, function-URL answers out."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fakes import ScriptedBackend
from tests.jobs_fixtures import WEBHOOK_SECRET
from tests.photos import b64, selfie_jpeg
from tryon_api.http.app import handle_event
from tryon_api.http.job_services import set_job_dependencies
from tryon_api.http.services import Services, build_verifier, set_services
from tryon_api.jobs.dependencies import build_local_job_dependencies
from tryon_api.keys.dependencies import emit_images_metric
from tryon_api.keys.interface import KeyStore
from tryon_api.keys.service import KeyService, create_key
from tryon_api.settings import Settings
from tryon_api.tryon.garment_fetch import GarmentImageFetcher
from tryon_api.tryon.pipeline import TryOnService
from tryon_dev.events import function_url_event
from tryon_dev.lambda_context import new_context

LEGACY_KEY = "plain-legacy-key-0123456789"
TOKEN_SECRET = b"test-token-signing-secret-0123456789-abcdefghijklmnop"
SHOP = "https://shop.example"
GENERATE_BODY = json.dumps(
    {"selfie_base64": b64(selfie_jpeg()), "clothing_description": "blue shirt", "mode": "studio"}
).encode()


def install_keys(
    store: KeyStore,
    data_dir: Path,
    *,
    clock: Callable[[], float] = time.time,
    record_max_age_seconds: float = 0,
    backend: ScriptedBackend | None = None,
    token_secret: Callable[[], bytes] = lambda: TOKEN_SECRET,
) -> Services:
    settings = Settings(local_api_keys=(LEGACY_KEY,), jobs_data_dir=str(data_dir), webhook_secret=WEBHOOK_SECRET)
    verifier = build_verifier(settings)
    fetcher = GarmentImageFetcher(allow_private=False, timeout_seconds=1, max_bytes=1024)
    tryon = TryOnService(backend or ScriptedBackend(), fetcher, 6_000_000)
    keys = KeyService(
        store,
        verifier.accepts,
        token_secret,
        record_max_age_seconds=record_max_age_seconds,
        clock=clock,
        on_images=emit_images_metric,
    )
    services = Services(settings, verifier, tryon, keys)
    set_services(services)
    set_job_dependencies(build_local_job_dependencies(settings, tryon))
    return services


def new_key(store: KeyStore, per_minute: int | None = None, per_month: int | None = None) -> tuple[str, str]:
    created = create_key(store, "shop", per_minute, per_month)
    return created.record.id, created.key


def call(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> dict[str, Any]:
    event = function_url_event(method, path, {"content-type": "application/json", **headers}, body)
    return handle_event(event, new_context(30))


def generate(headers: dict[str, str]) -> dict[str, Any]:
    return call("POST", "/generate_image", headers, GENERATE_BODY)


def submit_job(headers: dict[str, str], samples: int = 1) -> dict[str, Any]:
    body = json.loads(GENERATE_BODY)
    body["num_samples"] = samples
    return call("POST", "/jobs", headers, json.dumps(body).encode())


def mint(key: str, origin: str = SHOP, ttl: int = 600, images: int = 3) -> dict[str, Any]:
    answer = call(
        "POST",
        "/client_tokens",
        {"x-api-key": key},
        json.dumps({"origin": origin, "ttl_seconds": ttl, "max_images": images}).encode(),
    )
    assert answer["statusCode"] == 201, answer["body"]
    return dict(json.loads(answer["body"]))


def body(answer: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(answer["body"])) if answer.get("body") else {}


def header(answer: dict[str, Any], name: str) -> str | None:
    return next((v for k, v in answer["headers"].items() if k.lower() == name.lower()), None)

"""What a container builds once: settings, AWS clients, the backend, the auth verifier.

Built on the first request (``get_services``) and replaceable in tests and the local server
with ``set_services``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from tryon_api.aws_clients import create_quick_client, create_secrets_client
from tryon_api.backends.factory import create_backend
from tryon_api.http.auth import ApiKeyVerifier, secrets_manager_key_loader, static_key_loader
from tryon_api.keys.dependencies import build_key_service
from tryon_api.keys.service import KeyService
from tryon_api.moderation.dependencies import build_moderation
from tryon_api.per_container import PerContainer
from tryon_api.person_check.builder import build_person_detector
from tryon_api.settings import Settings
from tryon_api.tryon.interface import GarmentFetcher
from tryon_api.tryon.pipeline import TryOnService
from tryon_api.tryon.work_slots import WorkSlots


@dataclass
class Services:
    settings: Settings
    verifier: ApiKeyVerifier
    tryon: TryOnService
    # Named keys, limits, usage and browser tokens (tryon_api/keys/); None: plain keys only.
    keys: KeyService | None = None


def build_verifier(settings: Settings, secrets_client: object | None = None) -> ApiKeyVerifier:
    if settings.api_key_secret_id:
        provider = SecretsProvider(boto3_client=secrets_client or create_secrets_client())
        loader = secrets_manager_key_loader(provider, settings.api_key_secret_id, settings.secret_max_age_seconds)
    else:
        loader = static_key_loader(settings.local_api_keys)
    return ApiKeyVerifier(loader, settings.secret_refresh_interval_seconds)


def garment_fetcher(settings: Settings) -> GarmentFetcher:
    """The fetcher, built with its HTTP and TLS stack on the first request that names a garment URL."""

    def build() -> GarmentFetcher:
        from aws_lambda_powertools import Tracer

        from tryon_api.tryon.garment_fetch import GarmentImageFetcher

        Tracer().patch(["requests"])  # garment fetches in the trace, beside the model calls

        return GarmentImageFetcher(
            allow_private=settings.allow_private_garment_urls,
            timeout_seconds=settings.garment_fetch_timeout_seconds,
            max_bytes=settings.garment_max_bytes,
            allowed_ports=settings.garment_allowed_ports,
        )

    fetcher = PerContainer(build)
    return lambda url, deadline: fetcher.get()(url, deadline)


def build_services(settings: Settings | None = None, *, secrets_client: object | None = None) -> Services:
    settings = settings or Settings.from_env()
    fetcher = garment_fetcher(settings)
    # One limiter for decoding and rendering: TRYON_EMBEDDED_CONCURRENCY (0: one per CPU).
    slots = WorkSlots(settings.embedded_concurrency)
    verifier = build_verifier(settings, secrets_client)
    return Services(
        settings=settings,
        verifier=verifier,
        keys=build_key_service(settings, create_quick_client, verifier.accepts),
        tryon=TryOnService(
            create_backend(settings, slots=slots),
            fetcher,
            settings.max_response_bytes,
            slots=slots,
            garment_timeout_seconds=settings.garment_fetch_timeout_seconds,
            person_detector=build_person_detector(settings),
            moderation=build_moderation(settings),
        ),
    )


_services: PerContainer[Services] = PerContainer(build_services)
get_services = _services.get
set_services = _services.set

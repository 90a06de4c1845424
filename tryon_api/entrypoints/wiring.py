"""The one place that builds what the entry points use: settings, AWS clients, the try-on
pipeline, the HTTP front's services and the jobs' dependencies.

Each entry point builds only what it uses, once per container: the API's function builds the
HTTP services (the key verifier, the pipeline) and the jobs' dependencies on the first jobs
request; the queue worker builds the jobs' dependencies and the pipeline, never an HTTP service
or a key verifier. The dev server (tryon_dev) uses this same module, so local runs are wired as
deployed. Every boto3 client comes from ``tryon_api.aws_clients`` (passed to the builders as
``create_quick_client``), never from ``boto3`` here or in the packages.

Where a new capability is wired (its package has ``interface.py``, its adapters and a
``build_...(settings, create_quick_client)`` that picks one adapter from the settings):
- what the pipeline runs for every generation, synchronous or job (a person check, moderation):
  one argument of ``TryOnService`` in ``Wiring._build_tryon``;
- what only the HTTP front uses (API keys and their usage, short-lived tokens): one field of
  ``tryon_api.http.dependencies.Services`` and one line in ``Wiring._build_services``;
- what only jobs use (result URLs): one field of ``JobDependencies`` (jobs/dependencies.py) and
  one line in its builder, ``build_job_dependencies``.

Tests replace the HTTP services with ``set_services``, or ``reset()`` everything to rebuild it from
the environment on next use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from tryon_api.aws_clients import create_quick_client, create_secrets_client
from tryon_api.backends.factory import create_backend
from tryon_api.http.auth import ApiKeyVerifier, secrets_manager_key_loader, static_key_loader
from tryon_api.http.dependencies import Services
from tryon_api.keys.dependencies import build_key_service
from tryon_api.moderation.dependencies import build_moderation
from tryon_api.per_container import PerContainer
from tryon_api.person_check.builder import build_person_detector
from tryon_api.settings import Settings
from tryon_api.tryon.interface import GarmentFetcher
from tryon_api.tryon.pipeline import TryOnService
from tryon_api.tryon.work_slots import WorkSlots

if TYPE_CHECKING:
    from tryon_api.jobs.dependencies import JobDependencies


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


class Wiring:
    """One container's parts, each built on first use from one settings object and shared: the
    HTTP front and the dev server's job workers run on the same pipeline (and its work slots)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings if settings is not None else Settings.from_env()
        self._tryon = PerContainer(self._build_tryon)
        self._services = PerContainer(self._build_services)
        self._jobs = PerContainer(self._build_job_dependencies)

    def tryon(self) -> TryOnService:
        return self._tryon.get()

    def services(self) -> Services:
        return self._services.get()

    def job_dependencies(self) -> JobDependencies:
        return self._jobs.get()

    def _build_tryon(self) -> TryOnService:
        settings = self.settings
        # One limiter for decoding and rendering: TRYON_EMBEDDED_CONCURRENCY (0: one per CPU).
        slots = WorkSlots(settings.embedded_concurrency)
        return TryOnService(
            create_backend(settings, slots=slots),
            garment_fetcher(settings),
            settings.max_response_bytes,
            slots=slots,
            garment_timeout_seconds=settings.garment_fetch_timeout_seconds,
            person_detector=build_person_detector(settings, create_quick_client),
            moderation=build_moderation(settings, create_quick_client),
        )

    def _build_services(self) -> Services:
        verifier = build_verifier(self.settings)
        return Services(
            settings=self.settings,
            verifier=verifier,
            tryon=self.tryon(),
            jobs=self.job_dependencies,
            keys=build_key_service(self.settings, create_quick_client, verifier.accepts),
        )

    def _build_job_dependencies(self) -> JobDependencies:
        # The jobs code loads here, on the first jobs request or queue message (cold start).
        from tryon_api.jobs.dependencies import build_job_dependencies

        return build_job_dependencies(self.settings, self.tryon(), create_quick_client)


def build_services(settings: Settings | None = None) -> Services:
    """The HTTP services (and, on first use, their jobs' dependencies) of a fresh set of parts."""
    return Wiring(settings).services()


# This container's parts, built from the environment on first use.
container: PerContainer[Wiring] = PerContainer(Wiring)
_services: PerContainer[Services] = PerContainer(lambda: container.get().services())
_job_dependencies: PerContainer[JobDependencies] = PerContainer(lambda: container.get().job_dependencies())
get_services = _services.get
set_services = _services.set
get_job_dependencies = _job_dependencies.get


def reset() -> None:
    """Forget everything built: the next use rebuilds it from the environment."""
    container.reset()
    _services.reset()
    _job_dependencies.reset()

"""Local job dependencies over a real SQLite file and data folder, with a scripted backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes import ScriptedBackend
from tryon_api.jobs.dependencies import JobDependencies, build_local_job_dependencies
from tryon_api.settings import Settings
from tryon_api.tryon.garment_fetch import GarmentImageFetcher
from tryon_api.tryon.pipeline import TryOnService

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def local_jobs(
    data_dir: Path, backend: ScriptedBackend | None = None, **settings: Any
) -> tuple[JobDependencies, ScriptedBackend]:
    backend = backend or ScriptedBackend()
    settings.setdefault("local_api_keys", ("k",))
    config = Settings(webhook_secret=WEBHOOK_SECRET, jobs_data_dir=str(data_dir), **settings)
    fetcher = GarmentImageFetcher(allow_private=True, timeout_seconds=2, max_bytes=1024 * 1024)
    tryon = TryOnService(backend, fetcher, config.max_response_bytes)
    return build_local_job_dependencies(config, tryon), backend

"""What the HTTP front is handed for a request: built once per container by the entry point's
wiring (``tryon_api.entrypoints.wiring``), or by a test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tryon_api.http.auth import ApiKeyVerifier
from tryon_api.keys.service import KeyService
from tryon_api.settings import Settings
from tryon_api.tryon.pipeline import TryOnService

if TYPE_CHECKING:
    from tryon_api.jobs.dependencies import JobDependencies


@dataclass
class Services:
    settings: Settings
    verifier: ApiKeyVerifier
    tryon: TryOnService
    # The jobs routes' dependencies, built on their first request (POST /generate_image never
    # loads the jobs code).
    jobs: Callable[[], JobDependencies]
    # Named keys, limits, usage and browser tokens (tryon_api/keys/); None: plain keys only.
    keys: KeyService | None = None

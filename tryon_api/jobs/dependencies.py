"""What the jobs code works with, built once per container: the store, blobs, queue, the try-on
pipeline, the settings, the webhook guard and sender, and a clock.

``build_local_job_dependencies`` builds the local set (SQLite and a data folder); the AWS set
(DynamoDB, S3, SQS) is built by the entry points from the same pieces (``tryon_api.http.job_services``).
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tryon_api.jobs.interface import BlobStore, JobQueue, JobStore
from tryon_api.jobs.webhooks import SECRET_PREFIX, WebhookGuard, WebhookSecretError, WebhookSender, signing_secret
from tryon_api.results.interface import ResultLinks
from tryon_api.settings import Settings, SettingsError
from tryon_api.tryon.pipeline import TryOnService

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

DATABASE_FILE = "jobs.sqlite3"
BLOBS_FOLDER = "blobs"
SECRET_FILE = "webhook-secret"  # noqa: S105 - a file name, not a secret


@dataclass
class JobDependencies:
    store: JobStore
    blobs: BlobStore
    queue: JobQueue
    tryon: TryOnService
    settings: Settings
    webhook_guard: WebhookGuard
    webhook_sender: WebhookSender
    # Powertools' idempotency records (DynamoDB on AWS, SQLite locally); used by POST /jobs only.
    idempotency: BasePersistenceLayer | None = None
    clock: Callable[[], float] = time.time
    # Short-lived URLs of the results (S3 presigned on AWS, signed local links locally).
    result_links: ResultLinks | None = None


def webhook_guard(settings: Settings) -> WebhookGuard:
    return WebhookGuard(allow_private=settings.allow_private_garment_urls, allowed_ports=settings.garment_allowed_ports)


def local_webhook_secret(settings: Settings, data_dir: Path) -> str:
    """TRYON_WEBHOOK_SECRET (``make run WEBHOOK_SECRET=...``), else one generated once and kept in
    the data folder, so deliveries stay verifiable across restarts."""
    if settings.webhook_secret:
        try:
            return signing_secret(settings.webhook_secret)
        except WebhookSecretError as error:
            raise SettingsError(f"TRYON_WEBHOOK_SECRET: {error}") from None
    path = data_dir / SECRET_FILE
    if path.exists():
        try:
            return signing_secret(path.read_text())
        except WebhookSecretError:
            pass  # an older data folder's secret, not in the whsec_ form: replaced below
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii"))
    path.chmod(0o600)
    return path.read_text().strip()


def build_local_job_dependencies(
    settings: Settings, tryon: TryOnService, data_dir: str | Path | None = None
) -> JobDependencies:
    from tryon_api.jobs.local_blobs import LocalBlobStore
    from tryon_api.jobs.local_queue import SqliteJobQueue
    from tryon_api.jobs.sqlite_idempotency import SqliteIdempotencyLayer
    from tryon_api.jobs.sqlite_store import SqliteJobStore
    from tryon_api.results.dependencies import build_result_links

    folder = Path(data_dir or settings.jobs_data_dir)
    database = folder / DATABASE_FILE
    guard = webhook_guard(settings)
    return JobDependencies(
        store=SqliteJobStore(database),
        blobs=LocalBlobStore(folder / BLOBS_FOLDER),
        queue=SqliteJobQueue(database, visibility_timeout_seconds=settings.local_timeout_seconds * 5),
        tryon=tryon,
        settings=settings,
        webhook_guard=guard,
        webhook_sender=WebhookSender(guard, local_webhook_secret(settings, folder)),
        idempotency=SqliteIdempotencyLayer(database),
        result_links=build_result_links(settings, data_dir=folder),
    )

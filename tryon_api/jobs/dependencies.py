"""What the jobs code works with, built once per container: the store, blobs, queue, the try-on
pipeline, the settings, the webhook guard and sender, and a clock.

``build_job_dependencies`` picks one set from the settings: SQLite and a data folder when
``TRYON_JOBS_TABLE_NAME`` is empty (local runs, ``build_local_job_dependencies``), else DynamoDB,
S3 and SQS (``build_aws_job_dependencies``), with Powertools' DynamoDB idempotency layer writing
into the same table and the webhook secret read from Secrets Manager when a delivery is signed
(the worker's role may read it; the API's may not). The entry points' wiring
(``tryon_api.entrypoints.wiring``) calls it with the one AWS client factory.
"""

from __future__ import annotations

import base64
import importlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
# Powertools' idempotency records share the jobs table (JOBS.md): its key and TTL attributes.
IDEMPOTENCY_KEY_ATTR = "pk"
IDEMPOTENCY_EXPIRY_ATTR = "expires_at"

# Builds one boto3 client for a service name (``tryon_api.aws_clients.create_quick_client``).
ClientFactory = Callable[[str], Any]


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


def build_aws_job_dependencies(settings: Settings, tryon: TryOnService, client: ClientFactory) -> JobDependencies:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    if not (settings.jobs_bucket_name and settings.jobs_queue_url):
        raise SettingsError("TRYON_JOBS_BUCKET_NAME and TRYON_JOBS_QUEUE_URL are required with TRYON_JOBS_TABLE_NAME")
    from tryon_api.aws_clients import create_presigning_client
    from tryon_api.results.dependencies import build_result_links

    # By name: the AWS adapters load only where the jobs live on AWS.
    aws_stores = importlib.import_module("tryon_api.jobs.aws_stores")
    adapters = aws_stores.build_aws_job_adapters(
        client, settings.jobs_table_name, settings.jobs_bucket_name, settings.jobs_queue_url
    )
    if not (settings.webhook_secret_id or settings.webhook_secret):
        raise SettingsError("TRYON_WEBHOOK_SECRET_ID (or TRYON_WEBHOOK_SECRET) is required with TRYON_JOBS_TABLE_NAME")
    secret: str | Callable[[], str] = settings.webhook_secret
    if settings.webhook_secret_id:
        # Read when a delivery is signed, never at start-up: only the worker's role may read it.
        provider = SecretsProvider(boto3_client=client("secretsmanager"))
        secret_id, max_age = settings.webhook_secret_id, settings.secret_max_age_seconds

        def read_webhook_secret() -> str:
            value = str(provider.get(secret_id, max_age=max_age)).strip()
            if not value:
                raise SettingsError("the webhook secret is empty")
            return value

        secret = read_webhook_secret
    guard = webhook_guard(settings)
    return JobDependencies(
        store=adapters.store,
        blobs=adapters.blobs,
        queue=adapters.queue,
        tryon=tryon,
        settings=settings,
        webhook_guard=guard,
        webhook_sender=WebhookSender(guard, secret),
        idempotency=DynamoDBPersistenceLayer(
            table_name=settings.jobs_table_name,
            key_attr=IDEMPOTENCY_KEY_ATTR,
            expiry_attr=IDEMPOTENCY_EXPIRY_ATTR,
            boto3_client=client("dynamodb"),
        ),
        result_links=build_result_links(settings, create_presigning_client),
    )


def build_job_dependencies(settings: Settings, tryon: TryOnService, client: ClientFactory) -> JobDependencies:
    """The AWS set when ``TRYON_JOBS_TABLE_NAME`` is set, else the local one."""
    if settings.jobs_table_name:
        return build_aws_job_dependencies(settings, tryon, client)
    return build_local_job_dependencies(settings, tryon)

"""The jobs' dependencies, built once per container for both entry points (the HTTP front and
the SQS worker): SQLite and a data folder when ``TRYON_JOBS_TABLE_NAME`` is empty (local runs),
else DynamoDB, S3 and SQS through the container's boto3 session, with Powertools' DynamoDB
idempotency layer writing into the same table and the webhook secret read from Secrets Manager
when a delivery is signed (the worker's role may read it; the API's may not).

Imported only by the jobs routes and the worker, so ``POST /generate_image`` pays nothing for it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from tryon_api.aws_clients import create_presigning_client, create_quick_client
from tryon_api.http.services import get_services
from tryon_api.jobs.dependencies import JobDependencies, build_local_job_dependencies, webhook_guard
from tryon_api.per_container import PerContainer
from tryon_api.results.dependencies import build_result_links
from tryon_api.settings import Settings, SettingsError
from tryon_api.tryon.pipeline import TryOnService

# Powertools' idempotency records share the jobs table (JOBS.md): its key and TTL attributes.
IDEMPOTENCY_KEY_ATTR = "pk"
IDEMPOTENCY_EXPIRY_ATTR = "expires_at"


def build_aws_job_dependencies(settings: Settings, tryon: TryOnService) -> JobDependencies:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from tryon_api.jobs.webhooks import WebhookSender

    if not (settings.jobs_bucket_name and settings.jobs_queue_url):
        raise SettingsError("TRYON_JOBS_BUCKET_NAME and TRYON_JOBS_QUEUE_URL are required with TRYON_JOBS_TABLE_NAME")
    # By name: the AWS adapters (and their clients) load only where the jobs live on AWS.
    aws_stores = importlib.import_module("tryon_api.jobs.aws_stores")
    adapters = aws_stores.build_aws_job_adapters(
        create_quick_client, settings.jobs_table_name, settings.jobs_bucket_name, settings.jobs_queue_url
    )
    if not (settings.webhook_secret_id or settings.webhook_secret):
        raise SettingsError("TRYON_WEBHOOK_SECRET_ID (or TRYON_WEBHOOK_SECRET) is required with TRYON_JOBS_TABLE_NAME")
    secret: str | Callable[[], str] = settings.webhook_secret
    if settings.webhook_secret_id:
        # Read when a delivery is signed, never at start-up: only the worker's role may read it.
        provider = SecretsProvider(boto3_client=create_quick_client("secretsmanager"))
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
            boto3_client=create_quick_client("dynamodb"),
        ),
        result_links=build_result_links(settings, create_presigning_client),
    )


def build_job_dependencies() -> JobDependencies:
    services = get_services()
    settings = services.settings
    if settings.jobs_table_name:
        return build_aws_job_dependencies(settings, services.tryon)
    return build_local_job_dependencies(settings, services.tryon)


_job_dependencies: PerContainer[JobDependencies] = PerContainer(build_job_dependencies)
get_job_dependencies = _job_dependencies.get
set_job_dependencies = _job_dependencies.set

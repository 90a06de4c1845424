"""Builds the container's ``KeyService`` from the settings: DynamoDB and a Secrets Manager signing
secret when ``TRYON_KEYS_TABLE_NAME`` is set (on AWS), else SQLite and a secret file in the local
data folder (``TRYON_JOBS_DATA_DIR``, the folder the jobs use)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tryon_api.keys.interface import KeyStore
from tryon_api.keys.service import KeyService, LegacyCheck, TokenSecret
from tryon_api.per_container import PerContainer
from tryon_api.settings import Settings

KEYS_DATABASE_FILE = "keys.sqlite3"
TOKEN_SECRET_FILE = "token-secret"  # noqa: S105 - a file name, not a secret
# The EMF metric per key: images counted, with the key's public id as a dimension.
IMAGES_BY_KEY_METRIC = "ImagesByKey"

ClientFactory = Callable[[str], Any]


def local_key_store(data_dir: str | Path) -> KeyStore:
    from tryon_api.keys.sqlite_store import SqliteKeyStore

    return SqliteKeyStore(Path(data_dir) / KEYS_DATABASE_FILE)


def local_token_secret(data_dir: str | Path) -> TokenSecret:
    """A signing secret generated once and kept (mode 0600) in the data folder."""
    path = Path(data_dir) / TOKEN_SECRET_FILE

    def read() -> bytes:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process wrote it first: use theirs
                pass
            else:
                with os.fdopen(descriptor, "w") as file:
                    file.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()

    cached = PerContainer(read)
    return cached.get


def secrets_manager_token_secret(client_factory: ClientFactory, secret_id: str, max_age: int) -> TokenSecret:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    provider = PerContainer(lambda: SecretsProvider(boto3_client=client_factory("secretsmanager")))

    def read() -> bytes:
        value = str(provider.get().get(secret_id, max_age=max_age)).strip()
        if len(value) < 32:
            raise ValueError("the token signing secret is too short")
        return value.encode()

    return read


def emit_images_metric(key_id: str, images: int) -> None:
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "tryon")
    with single_metric(
        name=IMAGES_BY_KEY_METRIC,
        unit=MetricUnit.Count,
        value=images,
        default_dimensions={"service": service, "key_id": key_id},
    ):
        pass


class _LazyStore:
    """The store built on first use, so a cold start pays nothing until a key is checked."""

    def __init__(self, build: Callable[[], KeyStore]) -> None:
        self._store = PerContainer(build)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store.get(), name)


def build_key_service(
    settings: Settings, client_factory: ClientFactory, legacy_check: LegacyCheck, data_dir: str | Path | None = None
) -> KeyService:
    store: Any
    token_secret: TokenSecret
    if settings.keys_table_name:
        table = settings.keys_table_name

        def dynamodb_store() -> KeyStore:
            from tryon_api.keys.dynamodb_store import DynamoDbKeyStore

            return DynamoDbKeyStore(client_factory("dynamodb"), table)

        store = _LazyStore(dynamodb_store)
        if not settings.token_secret_id:
            from tryon_api.settings import SettingsError

            raise SettingsError("TRYON_TOKEN_SECRET_ID is required with TRYON_KEYS_TABLE_NAME")
        token_secret = secrets_manager_token_secret(
            client_factory, settings.token_secret_id, settings.secret_max_age_seconds
        )
    else:
        folder = Path(data_dir or settings.jobs_data_dir)
        store = _LazyStore(lambda: local_key_store(folder))
        token_secret = local_token_secret(folder)
    return KeyService(
        store,
        legacy_check,
        token_secret,
        record_max_age_seconds=settings.key_record_max_age_seconds,
        on_images=emit_images_metric,
    )

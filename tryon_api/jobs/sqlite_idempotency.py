"""Powertools' idempotency records in SQLite: the local persistence layer beside DynamoDB's.

Powertools' idempotency utility decides what a retried submit gets (the first answer, or "still
in progress", or a refusal when the payload differs); this layer only stores its records, with
the same rules as its DynamoDB layer: a put succeeds when no record exists, or the existing one
has expired, or its in-progress time has passed.
"""

from __future__ import annotations

import time
from pathlib import Path

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from tryon_api.jobs.sqlite_db import SqliteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    expires_at INTEGER,
    in_progress_expires_at INTEGER,
    response_data TEXT,
    payload_hash TEXT
);
"""


class SqliteIdempotencyLayer(BasePersistenceLayer):
    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.db = SqliteDatabase(path, SCHEMA)

    def _get_record(self, idempotency_key: str) -> DataRecord:
        row = (
            self.db.connection()
            .execute(
                "SELECT key, status, expires_at, in_progress_expires_at, response_data, payload_hash "
                "FROM idempotency WHERE key = ?",
                (idempotency_key,),
            )
            .fetchone()
        )
        if row is None:
            raise IdempotencyItemNotFoundError
        return DataRecord(
            idempotency_key=row["key"],
            status=row["status"],
            expiry_timestamp=row["expires_at"],
            in_progress_expiry_timestamp=row["in_progress_expires_at"],
            response_data=row["response_data"] or "",
            payload_hash=row["payload_hash"] or "",
        )

    def _put_record(self, data_record: DataRecord) -> None:
        now = time.time()
        with self.db.write() as db:
            row = db.execute(
                "SELECT status, expires_at, in_progress_expires_at FROM idempotency WHERE key = ?",
                (data_record.idempotency_key,),
            ).fetchone()
            if row is not None:
                expired = row["expires_at"] is not None and row["expires_at"] < int(now)
                stale = (
                    row["status"] == "INPROGRESS"
                    and row["in_progress_expires_at"] is not None
                    and row["in_progress_expires_at"] < int(now * 1000)
                )
                if not (expired or stale):
                    raise IdempotencyItemAlreadyExistsError
            db.execute(
                "INSERT OR REPLACE INTO idempotency (key, status, expires_at, in_progress_expires_at, response_data,"
                " payload_hash) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    data_record.idempotency_key,
                    data_record.status,
                    data_record.expiry_timestamp,
                    data_record.in_progress_expiry_timestamp,
                    data_record.response_data,
                    data_record.payload_hash,
                ),
            )

    def _update_record(self, data_record: DataRecord) -> None:
        with self.db.write() as db:
            db.execute(
                "UPDATE idempotency SET status = ?, expires_at = ?, response_data = ?, payload_hash = ? WHERE key = ?",
                (
                    data_record.status,
                    data_record.expiry_timestamp,
                    data_record.response_data,
                    data_record.payload_hash,
                    data_record.idempotency_key,
                ),
            )

    def _delete_record(self, data_record: DataRecord) -> None:
        with self.db.write() as db:
            db.execute("DELETE FROM idempotency WHERE key = ?", (data_record.idempotency_key,))

    def sweep(self, now: float | None = None) -> int:
        cutoff = int(time.time() if now is None else now)
        with self.db.write() as db:
            return int(db.execute("DELETE FROM idempotency WHERE expires_at < ?", (cutoff,)).rowcount)

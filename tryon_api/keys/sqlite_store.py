"""Key records and counters in SQLite (local runs): each counter change is one write
transaction holding SQLite's write lock, so the check and the increment are one step."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tryon_api.jobs.sqlite_db import SqliteDatabase
from tryon_api.keys.interface import CounterStoreUnavailable, KeyRecord, MonthUsage, QuotaRefused

TOKEN_ROW_GRACE_SECONDS = 3600
SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    per_minute INTEGER,
    per_month INTEGER,
    state TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS key_minutes (
    key_id TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    PRIMARY KEY (key_id, window_start)
);
CREATE TABLE IF NOT EXISTS key_months (
    key_id TEXT NOT NULL,
    month TEXT NOT NULL,
    images INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, month)
);
CREATE TABLE IF NOT EXISTS token_images (
    token_id TEXT PRIMARY KEY,
    images INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
"""


def _record(row: sqlite3.Row) -> KeyRecord:
    return KeyRecord(
        id=row["id"],
        name=row["name"],
        secret_sha256=row["secret_sha256"],
        per_minute=row["per_minute"],
        per_month=row["per_month"],
        state=row["state"],
        created_at=row["created_at"],
    )


class SqliteKeyStore:
    def __init__(self, path: str | Path) -> None:
        try:
            self._db = SqliteDatabase(path, SCHEMA)
        except (sqlite3.Error, OSError) as exc:  # e.g. a read-only folder (sam local invoke's /var/task)
            raise CounterStoreUnavailable(type(exc).__name__) from None

    def create(self, record: KeyRecord) -> None:
        with self._db.write() as db:
            db.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.name,
                    record.secret_sha256,
                    record.per_minute,
                    record.per_month,
                    record.state,
                    record.created_at,
                ),
            )

    def get(self, key_id: str) -> KeyRecord | None:
        try:
            row = self._db.connection().execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        except sqlite3.Error as exc:
            raise CounterStoreUnavailable(type(exc).__name__) from None
        return _record(row) if row else None

    def list_keys(self) -> list[KeyRecord]:
        rows = self._db.connection().execute("SELECT * FROM api_keys ORDER BY created_at, id").fetchall()
        return [_record(row) for row in rows]

    def revoke(self, key_id: str, now: float) -> bool:
        with self._db.write() as db:
            changed = db.execute("UPDATE api_keys SET state = 'revoked' WHERE id = ?", (key_id,)).rowcount
        return bool(changed)

    def count_request(self, key_id: str, window_start: int, limit: int | None) -> int | None:
        try:
            with self._db.write() as db:
                db.execute("DELETE FROM key_minutes WHERE key_id = ? AND window_start < ?", (key_id, window_start))
                row = db.execute(
                    "SELECT requests FROM key_minutes WHERE key_id = ? AND window_start = ?", (key_id, window_start)
                ).fetchone()
                used = row["requests"] if row else 0
                if limit is not None and used >= limit:
                    return None
                db.execute(
                    "INSERT INTO key_minutes VALUES (?, ?, 1) ON CONFLICT (key_id, window_start)"
                    " DO UPDATE SET requests = requests + 1",
                    (key_id, window_start),
                )
                return int(used + 1)
        except sqlite3.Error as exc:
            raise CounterStoreUnavailable(type(exc).__name__) from None

    def minute_count(self, key_id: str, window_start: int) -> int:
        try:
            row = (
                self._db.connection()
                .execute(
                    "SELECT requests FROM key_minutes WHERE key_id = ? AND window_start = ?", (key_id, window_start)
                )
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise CounterStoreUnavailable(type(exc).__name__) from None
        return int(row["requests"]) if row else 0

    def reserve_images(
        self,
        key_id: str,
        month: str,
        images: int,
        limit: int | None,
        token: tuple[str, int, int] | None = None,
    ) -> int:
        try:
            with self._db.write() as db:
                state = db.execute("SELECT state FROM api_keys WHERE id = ?", (key_id,)).fetchone()
                if state is not None and state["state"] != "active":
                    raise QuotaRefused("revoked")
                row = db.execute(
                    "SELECT images FROM key_months WHERE key_id = ? AND month = ?", (key_id, month)
                ).fetchone()
                used = int(row["images"]) if row else 0
                if limit is not None and used + images > limit:
                    raise QuotaRefused("quota")
                if token is not None:
                    token_id, max_images, expires_at = token
                    # Spent tokens' rows go once they have expired (DynamoDB's TTL does this on AWS).
                    db.execute(
                        "DELETE FROM token_images WHERE expires_at < ?", (time.time() - TOKEN_ROW_GRACE_SECONDS,)
                    )
                    spent = db.execute("SELECT images FROM token_images WHERE token_id = ?", (token_id,)).fetchone()
                    if (int(spent["images"]) if spent else 0) + images > max_images:
                        raise QuotaRefused("token")
                    db.execute(
                        "INSERT INTO token_images VALUES (?, ?, ?) ON CONFLICT (token_id)"
                        " DO UPDATE SET images = images + excluded.images",
                        (token_id, images, expires_at),
                    )
                db.execute(
                    "INSERT INTO key_months VALUES (?, ?, ?, 1) ON CONFLICT (key_id, month)"
                    " DO UPDATE SET images = images + excluded.images, requests = requests + 1",
                    (key_id, month, images),
                )
                return used + images
        except sqlite3.Error as exc:
            raise CounterStoreUnavailable(type(exc).__name__) from None

    def release_images(self, key_id: str, month: str, images: int, token_id: str | None = None) -> None:
        try:
            with self._db.write() as db:
                db.execute(
                    "UPDATE key_months SET images = MAX(0, images - ?) WHERE key_id = ? AND month = ?",
                    (images, key_id, month),
                )
                if token_id is not None:
                    db.execute(
                        "UPDATE token_images SET images = MAX(0, images - ?) WHERE token_id = ?", (images, token_id)
                    )
        except sqlite3.Error as exc:
            raise CounterStoreUnavailable(type(exc).__name__) from None

    def month_usage(self, key_id: str, month: str) -> MonthUsage:
        try:
            row = (
                self._db.connection()
                .execute("SELECT images, requests FROM key_months WHERE key_id = ? AND month = ?", (key_id, month))
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise CounterStoreUnavailable(type(exc).__name__) from None
        return MonthUsage(month, int(row["images"]) if row else 0, int(row["requests"]) if row else 0)

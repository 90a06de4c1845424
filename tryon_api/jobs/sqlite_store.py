"""The local job store: job records in SQLite, with the in-flight limit and the expiry sweep.

A record's indexed columns (owner, status, expiry) sit beside its JSON (``records``); every
read-then-write runs in one write transaction, so two workers never claim one job and two
submits never both take an owner's last in-flight slot. Expired records are invisible at once
and removed by ``sweep`` (the local stand-in for DynamoDB's TTL).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from tryon_api.jobs.interface import FINISHED, Job, JobLimitReached
from tryon_api.jobs.records import job_from_data, job_to_data
from tryon_api.jobs.sqlite_db import SqliteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_owner_status ON jobs (owner, status);
CREATE INDEX IF NOT EXISTS jobs_expiry ON jobs (expires_at);
"""


class SqliteJobStore:
    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time) -> None:
        self.db = SqliteDatabase(path, SCHEMA)
        self.clock = clock

    def create(self, job: Job, *, max_in_flight: int) -> None:
        with self.db.write() as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM jobs WHERE owner = ? AND status IN ('queued', 'running') AND expires_at > ?",
                (job.owner, int(self.clock())),
            ).fetchone()
            if count >= max_in_flight:
                raise JobLimitReached()
            db.execute(
                "INSERT INTO jobs (id, owner, status, expires_at, record) VALUES (?, ?, ?, ?, ?)",
                (job.id, job.owner, job.status, job.expires_at, json.dumps(job_to_data(job))),
            )

    def get(self, job_id: str) -> Job | None:
        row = (
            self.db.connection()
            .execute("SELECT record FROM jobs WHERE id = ? AND expires_at > ?", (job_id, int(self.clock())))
            .fetchone()
        )
        return job_from_data(json.loads(row["record"])) if row else None

    def claim(self, job_id: str, now: float) -> Job | None:
        with self.db.write() as db:
            row = db.execute("SELECT record FROM jobs WHERE id = ? AND expires_at > ?", (job_id, int(now))).fetchone()
            if row is None:
                return None
            job = job_from_data(json.loads(row["record"]))
            if job.status in FINISHED:
                return None
            claimed = replace(job, status="running", updated_at=now, attempts=job.attempts + 1)
            self._write(db, claimed)
            return claimed

    def finish(self, job: Job) -> None:
        with self.db.write() as db:
            if db.execute("SELECT 1 FROM jobs WHERE id = ?", (job.id,)).fetchone() is not None:
                self._write(db, job)  # a job deleted while it ran stays deleted

    def delete(self, job_id: str) -> None:
        with self.db.write() as db:
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def sweep(self, now: float | None = None) -> list[Job]:
        """Remove the expired records; the jobs removed (so their blobs can go too)."""
        cutoff = int(self.clock() if now is None else now)
        with self.db.write() as db:
            rows = db.execute("SELECT record FROM jobs WHERE expires_at <= ?", (cutoff,)).fetchall()
            db.execute("DELETE FROM jobs WHERE expires_at <= ?", (cutoff,))
        return [job_from_data(json.loads(row["record"])) for row in rows]

    def running_job_ids(self) -> list[str]:
        rows = self.db.connection().execute("SELECT id FROM jobs WHERE status = 'running'").fetchall()
        return [str(row["id"]) for row in rows]

    @staticmethod
    def _write(db: sqlite3.Connection, job: Job) -> None:
        db.execute(
            "UPDATE jobs SET status = ?, expires_at = ?, record = ? WHERE id = ?",
            (job.status, job.expires_at, json.dumps(job_to_data(job)), job.id),
        )

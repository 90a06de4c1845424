"""The local job queue: SQS's semantics over SQLite, so a restart of the dev server loses nothing.

A message is invisible while a worker holds it (the visibility timeout) and deleted only when
the worker acknowledges it; a worker that dies leaves it to reappear, and a restart makes every
held message visible at once. Delays (webhook retries) are a later visibility, as SQS's
DelaySeconds. A message received ``max_receives`` times without success goes to the dead
letters table, as SQS's redrive policy moves it to the dead-letter queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tryon_api.jobs.interface import QueueMessage
from tryon_api.jobs.messages import MalformedQueueMessage, decode_message, encode_message
from tryon_api.jobs.sqlite_db import SqliteDatabase

MAX_DELAY_SECONDS = 900  # SQS's own bound on DelaySeconds

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    visible_at REAL NOT NULL,
    receives INTEGER NOT NULL DEFAULT 0,
    held INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (visible_at);
CREATE TABLE IF NOT EXISTS dead_messages (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    receives INTEGER NOT NULL,
    dead_at REAL NOT NULL
);
"""


def message_body(message: QueueMessage) -> str:
    """The message as its JSON body (the same body SQS carries)."""
    return encode_message(message)


def message_from_body(body: str) -> QueueMessage:
    try:
        return decode_message(body)
    except MalformedQueueMessage as error:
        raise ValueError("not a job queue message") from error


@dataclass(frozen=True)
class ReceivedMessage:
    receipt: int
    body: str
    receives: int


class SqliteJobQueue:
    def __init__(
        self,
        path: str | Path,
        *,
        visibility_timeout_seconds: float = 900.0,
        max_receives: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = SqliteDatabase(path, SCHEMA)
        self.visibility_timeout_seconds = visibility_timeout_seconds
        self.max_receives = max_receives
        self.clock = clock

    def send(self, message: QueueMessage, delay_seconds: int = 0) -> None:
        if not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
            raise ValueError(f"delay_seconds must be 0 to {MAX_DELAY_SECONDS}")
        with self.db.write() as db:
            db.execute(
                "INSERT INTO messages (body, visible_at) VALUES (?, ?)",
                (message_body(message), self.clock() + delay_seconds),
            )

    def receive(self) -> ReceivedMessage | None:
        """The oldest visible message, now held for the visibility timeout; None when none is due.
        A message past its last receive goes to the dead letters instead."""
        now = self.clock()
        with self.db.write() as db:
            while True:
                row = db.execute(
                    "SELECT id, body, receives FROM messages WHERE visible_at <= ? ORDER BY visible_at, id LIMIT 1",
                    (now,),
                ).fetchone()
                if row is None:
                    return None
                if row["receives"] >= self.max_receives:
                    db.execute(
                        "INSERT OR REPLACE INTO dead_messages (id, body, receives, dead_at) VALUES (?, ?, ?, ?)",
                        (row["id"], row["body"], row["receives"], now),
                    )
                    db.execute("DELETE FROM messages WHERE id = ?", (row["id"],))
                    continue
                db.execute(
                    "UPDATE messages SET visible_at = ?, receives = receives + 1, held = 1 WHERE id = ?",
                    (now + self.visibility_timeout_seconds, row["id"]),
                )
                return ReceivedMessage(int(row["id"]), str(row["body"]), int(row["receives"]) + 1)

    def acknowledge(self, receipt: int) -> None:
        with self.db.write() as db:
            db.execute("DELETE FROM messages WHERE id = ?", (receipt,))

    def release(self, receipt: int, delay_seconds: float) -> None:
        """A failed message: visible again after ``delay_seconds`` (SQS: its visibility timeout)."""
        with self.db.write() as db:
            db.execute(
                "UPDATE messages SET visible_at = ?, held = 0 WHERE id = ?", (self.clock() + delay_seconds, receipt)
            )

    def release_held(self) -> int:
        """At start-up: messages a stopped server held are visible again now (none is being worked on)."""
        with self.db.write() as db:
            cursor = db.execute("UPDATE messages SET visible_at = ?, held = 0 WHERE held = 1", (self.clock(),))
            return int(cursor.rowcount)

    def next_visible_in(self) -> float | None:
        """Seconds until the next message is due (0 when one is), None when the queue is empty."""
        row = self.db.connection().execute("SELECT MIN(visible_at) AS due FROM messages").fetchone()
        if row is None or row["due"] is None:
            return None
        return max(0.0, float(row["due"]) - self.clock())

    def counts(self) -> dict[str, int]:
        db = self.db.connection()
        (waiting,) = db.execute("SELECT COUNT(*) FROM messages").fetchone()
        (dead,) = db.execute("SELECT COUNT(*) FROM dead_messages").fetchone()
        return {"messages": int(waiting), "dead": int(dead)}

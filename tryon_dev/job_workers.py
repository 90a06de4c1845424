"""The dev server's job workers: threads that take messages from the local SQLite queue and run
``tryon_api.jobs.worker.handle_message``, the function the SQS worker Lambda runs on AWS.

As SQS with a Lambda trigger does: a message is held while it is worked on and deleted once done;
one that raises comes back later (with a growing wait), and after the queue's receive limit it goes
to the dead letters. At start-up the messages a stopped server held are visible again, so a job
that was running is picked up again. A sweeper removes expired jobs and their files (DynamoDB's
TTL and S3's lifecycle rules on AWS). Metrics are printed as EMF lines, as Lambda prints them.
"""

from __future__ import annotations

import threading

from aws_lambda_powertools import Logger

from tryon_api.jobs.dependencies import JobDependencies
from tryon_api.jobs.local_queue import SqliteJobQueue, message_from_body
from tryon_api.jobs.submission import sweep_expired
from tryon_api.jobs.worker import handle_message, metrics
from tryon_dev.invoke import print_metrics

logger = Logger(child=True)

IDLE_POLL_SECONDS = 0.25
SWEEP_INTERVAL_SECONDS = 60.0
MAX_RETRY_WAIT_SECONDS = 60.0


class LocalJobWorkers:
    def __init__(self, deps: JobDependencies, workers: int, *, idle_poll_seconds: float = IDLE_POLL_SECONDS) -> None:
        if not isinstance(deps.queue, SqliteJobQueue):
            raise TypeError("the local workers read the local queue")
        self.deps = deps
        self.queue: SqliteJobQueue = deps.queue
        self.workers = workers
        self.idle_poll_seconds = idle_poll_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> int:
        """Start the threads; the number of held messages made visible again (a restart's leftovers)."""
        released = self.queue.release_held()
        sweep_expired(self.deps)
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"job-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        sweeper = threading.Thread(target=self._sweep, name="job-sweeper", daemon=True)
        sweeper.start()
        self._threads.append(sweeper)
        return released

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout)
        self._threads.clear()

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                received = self.queue.receive()
            except Exception as exc:  # noqa: BLE001 - a locked or busy database: try again shortly
                logger.warning("job queue unavailable", extra={"error_type": type(exc).__name__})
                self._stop.wait(1.0)
                continue
            if received is None:
                due = self.queue.next_visible_in()
                self._stop.wait(self.idle_poll_seconds if due is None else min(self.idle_poll_seconds, max(due, 0.01)))
                continue
            try:
                handle_message(message_from_body(received.body), self.deps)
            except Exception as exc:  # noqa: BLE001 - the message comes back, as SQS redelivers it
                wait = min(MAX_RETRY_WAIT_SECONDS, 2.0**received.receives)
                logger.warning(
                    "job message failed, retried later",
                    extra={"error_type": type(exc).__name__, "receives": received.receives, "retry_in_seconds": wait},
                )
                self.queue.release(received.receipt, wait)
            else:
                self.queue.acknowledge(received.receipt)
            finally:
                print_metrics(metrics)

    def _sweep(self) -> None:
        while not self._stop.wait(SWEEP_INTERVAL_SECONDS):
            try:
                removed = sweep_expired(self.deps)
            except Exception as exc:  # noqa: BLE001 - the next sweep tries again
                logger.warning("expiry sweep failed", extra={"error_type": type(exc).__name__})
                continue
            if removed:
                logger.info("expired jobs removed", extra={"count": removed})

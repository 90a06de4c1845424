"""A burst of jobs above the worker pool's concurrency against the dev server: all finish, none lost.

Starts ``python -m tryon_dev serve`` (embedded backend, a fresh data folder, N workers) on a free
loopback port, submits a burst of jobs from concurrent clients (several times the workers, a mix of
1-4 samples, half with a webhook to a loopback receiver), optionally kills the server mid-burst and
starts it again on the same data folder (--restart), then polls every job to its end. Prints:
submits and their statuses, jobs succeeded / failed / lost, the wait in the queue and the time to
finish (p50/p95/max), images per second, webhooks delivered and verified, and what is left in the
queue and dead letters. Exits non-zero if a job was lost, failed, or a webhook is missing.

    python scripts/load_jobs.py [--jobs 24] [--workers 2] [--clients 8] [--restart]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from standardwebhooks import Webhook  # noqa: E402
from standardwebhooks.webhooks import WebhookVerificationError  # noqa: E402

from scripts.load import ServerProcess, free_port, percentile  # noqa: E402
from tests.loopback import WebhookReceiver  # noqa: E402
from tests.photos import b64, selfie_jpeg  # noqa: E402

API_KEY = "load-jobs-key"
SECRET = "whsec_bG9hZC1qb2JzLXdlYmhvb2stc2VjcmV0"  # noqa: S105 - a local run's value
FINISHED = ("succeeded", "failed")


def submit(base: str, index: int, selfie: str, webhook: str) -> tuple[int, str | None, int]:
    samples = 1 + index % 4
    body: dict[str, Any] = {
        "selfie_base64": selfie,
        "clothing_description": f"a jacket, variant {index}",
        "mode": "studio" if index % 2 else "environment",
        "num_samples": samples,
        "seed": 1000 + index,
    }
    if index % 2 == 0:
        body["webhook_url"] = webhook
    answer = requests.post(f"{base}/jobs", json=body, headers={"X-API-Key": API_KEY}, timeout=60)
    job_id = answer.json().get("id") if answer.status_code == 202 else None
    return answer.status_code, job_id, samples


def poll_all(base: str, job_ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(job_ids) and time.monotonic() < deadline:
        for job_id in job_ids:
            if job_id in done:
                continue
            answer = requests.get(f"{base}/jobs/{job_id}", headers={"X-API-Key": API_KEY}, timeout=60)
            if answer.status_code == 200 and answer.json()["status"] in FINISHED:
                done[job_id] = {**answer.json(), "seen_at": time.time()}
        time.sleep(0.5)
    return done


def run(args: argparse.Namespace) -> int:
    data = Path(tempfile.mkdtemp(prefix="tryon-load-jobs-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRYON_", "AWS_ENDPOINT_URL"))}
    env.update(
        {
            "TRYON_JOBS_DATA_DIR": str(data),
            "TRYON_JOBS_LOCAL_WORKERS": str(args.workers),
            "TRYON_JOBS_MAX_IN_FLIGHT_PER_KEY": str(max(args.jobs, 1)),
            "TRYON_WEBHOOK_SECRET": SECRET,
            "TRYON_ALLOW_PRIVATE_GARMENT_URLS": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    receiver = WebhookReceiver()
    server = ServerProcess(port, API_KEY, env)
    selfie = b64(selfie_jpeg())
    started = time.time()
    try:
        with ThreadPoolExecutor(args.clients) as pool:
            submits = list(pool.map(lambda i: submit(base, i, selfie, receiver.url), range(args.jobs)))
        submitted_in = time.time() - started
        job_ids = [job_id for _, job_id, _ in submits if job_id]
        samples = {job_id: n for _, job_id, n in submits if job_id}
        statuses = Counter(status for status, _, _ in submits)
        print(f"submitted {args.jobs} jobs from {args.clients} clients in {submitted_in:.1f} s: {dict(statuses)}")
        print(f"  {sum(samples.values())} images asked of {args.workers} workers")
        if args.restart:
            time.sleep(args.restart_after)
            server.process.send_signal(signal.SIGKILL)  # a crash mid-burst: nothing tidied up
            server.process.wait(timeout=15)
            print(f"  server killed {args.restart_after:.0f} s into the burst; started again on the same data folder")
            server = ServerProcess(port, API_KEY, env)
        finished = poll_all(base, job_ids, args.timeout)
        elapsed = time.time() - started
        receiver.wait_for(sum(1 for i in range(args.jobs) if i % 2 == 0 and submits[i][1]), timeout=30)
    finally:
        server.stop()
        receiver.close()

    database = sqlite3.connect(data / "jobs.sqlite3")
    records = {row[0]: json.loads(row[1]) for row in database.execute("SELECT id, record FROM jobs")}
    left = database.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    dead = database.execute("SELECT COUNT(*) FROM dead_messages").fetchone()[0]
    outcome = Counter(job["status"] for job in finished.values())
    lost = [job_id for job_id in job_ids if job_id not in finished]
    waits = [records[i]["updated_at"] - records[i]["created_at"] for i in finished if i in records]
    ends = [job["seen_at"] - started for job in finished.values()]
    images = sum(len(job.get("images") or ()) for job in finished.values())
    reruns = sum(1 for record in records.values() if record["attempts"] > 1)
    webhook_ids = {}
    verified = 0
    for headers, body in receiver.deliveries:
        try:
            event = Webhook(SECRET).verify(body, headers)
        except WebhookVerificationError:
            continue
        verified += 1
        webhook_ids[event["data"]["id"]] = True
    expected_hooks = {submits[i][1] for i in range(args.jobs) if i % 2 == 0 and submits[i][1]}
    wrong_seeds = [
        job_id
        for job_id, job in finished.items()
        if job["status"] == "succeeded"
        and [image["seed"] for image in job["images"]] != [job["seed"] + n for n in range(samples[job_id])]
    ]
    print(f"jobs: {dict(outcome)}; lost {len(lost)}; run again after the crash: {reruns}")
    print(
        f"  time from submit to end (s): p50 {percentile(waits, 50):.1f}, p95 {percentile(waits, 95):.1f}, "
        f"max {max(waits, default=0):.1f}; last job seen finished at {max(ends, default=0):.1f} s"
    )
    print(f"  {images} images in {elapsed:.1f} s: {images / elapsed:.2f} images/s with {args.workers} workers")
    print(
        f"  webhooks: {len(receiver.deliveries)} delivered, {verified} verified, "
        f"{len(expected_hooks - set(webhook_ids))} missing of {len(expected_hooks)}"
    )
    print(f"  queue after the burst: {left} messages, {dead} dead letters; seeds wrong: {len(wrong_seeds)}")
    ok = (
        not lost
        and statuses == Counter({202: args.jobs})
        and outcome.get("failed", 0) == 0
        and not (expected_hooks - set(webhook_ids))
        and not wrong_seeds
        and dead == 0
    )
    print("OK: every job finished, none lost" if ok else "FAILED")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for every job to end")
    parser.add_argument("--restart", action="store_true", help="kill the server mid-burst and start it again")
    parser.add_argument("--restart-after", type=float, default=5.0)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

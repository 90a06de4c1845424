"""The whole chain as a developer runs it: ``python -m tryon_dev serve`` (embedded backend, its
worker pool) over real HTTP; a job with a webhook to a loopback receiver, the delivery verified
with the documented check, then poll and delete; and a restart that loses no job (a finished one
is kept, a queued one runs, and one that was running when the server was killed runs again)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.models.helpers import garment_photo
from tests.live_server import ROOT, dev_server_process
from tests.loopback import file_host, webhook_receiver
from tests.photos import b64, selfie_jpeg
from tests.webhook_doc import documented_verifier

# Long (servers, subprocesses, many requests): a larger limit than the suite's default (pyproject.toml).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
KEY = "chain-key-5d1e"
SECRET = "whsec_Y2hhaW4td2ViaG9vay1zZWNyZXQtOWIzZg=="


def submit(url: str, **fields: Any) -> str:
    body = {"selfie_base64": b64(selfie_jpeg()), "clothing_description": "a navy blazer", "mode": "studio", **fields}
    response = requests.post(f"{url}/jobs", json=body, headers={"X-API-Key": KEY}, timeout=60)
    assert response.status_code == 202, response.text[:300]
    assert response.headers["Location"] == f"/jobs/{response.json()['id']}"
    return str(response.json()["id"])


def poll(
    url: str, job_id: str, until: tuple[str, ...] = ("succeeded", "failed"), timeout: float = 240
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = requests.get(f"{url}/jobs/{job_id}", headers={"X-API-Key": KEY}, timeout=30)
        assert response.status_code == 200, response.text[:300]
        if response.json()["status"] in until:
            return dict(response.json())
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not reach {until} in {timeout} s")


def test_submit_run_webhook_verify_poll_and_delete(tmp_path: Path) -> None:
    verify = documented_verifier()
    env = {"TRYON_WEBHOOK_SECRET": SECRET, "TRYON_ALLOW_PRIVATE_GARMENT_URLS": "true"}
    with webhook_receiver() as receiver, dev_server_process("--api-key", KEY, env=env) as (url, banner):
        assert any("webhook secret: TRYON_WEBHOOK_SECRET" in line for line in banner)
        job_id = submit(url, num_samples=2, seed=1234, webhook_url=receiver.url)
        deliveries = receiver.wait_for(1, timeout=240)
        assert len(deliveries) == 1
        headers, body = deliveries[0]
        event = verify(SECRET, body, headers)
        assert event is not None and event["type"] == "job.succeeded"
        assert verify("whsec_" + "QW5vdGhlclNlY3JldEFub3RoZXJTZWNyZXQ=", body, headers) is None
        delivered = event["data"]
        assert delivered["id"] == job_id and delivered["status"] == "succeeded"
        assert [image["seed"] for image in delivered["images"]] == [1234, 1235]
        fetched = [requests.get(image["url"], timeout=30) for image in delivered["images"]]  # the links work
        assert [answer.status_code for answer in fetched] == [200, 200]
        assert fetched[0].content != fetched[1].content  # the seeds differ

        polled = poll(url, job_id)
        assert [image["seed"] for image in polled["images"]] == [1234, 1235]
        gone = requests.delete(f"{url}/jobs/{job_id}", headers={"X-API-Key": KEY}, timeout=30)
        assert gone.status_code == 204 and gone.content == b""
        assert requests.get(polled["images"][0]["url"], timeout=30).status_code == 403  # its links died with it
        after = requests.get(f"{url}/jobs/{job_id}", headers={"X-API-Key": KEY}, timeout=30)
        assert (after.status_code, after.json()) == (404, {"error": "job not found"})
        emf = [json.loads(line) for line in banner if '"_aws"' in line]
        names = {m["Name"] for blob in emf for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
        assert {"JobsSubmitted", "JobsSucceeded", "JobDuration", "WebhookDeliveries"} <= names


def start(data_dir: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRYON_", "AWS_ENDPOINT_URL"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "tryon_dev", "serve", "--port", "0", "--api-key", KEY],
        cwd=ROOT,
        env={**clean, "TRYON_JOBS_DATA_DIR": str(data_dir), "TRYON_JOBS_LOCAL_WORKERS": "1", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    for _ in range(50):
        line = process.stdout.readline()
        if "listening on " in line:
            return process, line.split("listening on ")[1].strip()
    process.kill()
    raise AssertionError("the dev server did not start")


def test_a_restart_loses_no_job_and_a_killed_run_is_picked_up_again(tmp_path: Path) -> None:
    """The run is killed while it is surely running: its garment fetch is held by the garment host
    until the server is gone, so no fast run can finish before the kill."""
    release = threading.Event()
    with file_host() as garments:
        garment = garments.publish("/held.jpg", garment_photo(), hold=release)
        # Private garment URLs (the host is on 127.0.0.1), and the longest fetch the settings allow.
        fetching = {"TRYON_ALLOW_PRIVATE_GARMENT_URLS": "1", "TRYON_GARMENT_FETCH_TIMEOUT_SECONDS": "60"}
        first, url = start(tmp_path, fetching)
        try:
            finished = submit(url)
            assert poll(url, finished)["status"] == "succeeded"
            interrupted = submit(url, num_samples=2, clothing_image_url=garment)
            queued = submit(url)
            assert garments.requested["/held.jpg"].wait(120), "the job never fetched its garment"
            assert poll(url, interrupted, until=("running",))["status"] == "running"
        finally:
            first.send_signal(signal.SIGKILL)  # a crash: nothing is tidied up
            first.wait(timeout=10)
        assert sqlite3.connect(tmp_path / "jobs.sqlite3").execute(
            "SELECT status FROM jobs WHERE id = ?", (interrupted,)
        ).fetchone() == ("running",)

        release.set()  # the garment host answers the restarted run at once
        second, url = start(tmp_path, fetching)
        try:
            assert poll(url, finished)["status"] == "succeeded"  # kept across the restart
            for job_id in (interrupted, queued):
                done = poll(url, job_id)
                assert done["status"] == "succeeded", done
            assert len(poll(url, interrupted)["images"]) == 2
        finally:
            second.terminate()
            second.wait(timeout=10)
    record = (
        sqlite3.connect(tmp_path / "jobs.sqlite3")
        .execute("SELECT record FROM jobs WHERE id = ?", (interrupted,))
        .fetchone()
    )
    assert json.loads(record[0])["attempts"] == 2  # run again from the start after the crash
    assert not list((tmp_path / "blobs").rglob("selfie"))  # every input deleted once its job ended

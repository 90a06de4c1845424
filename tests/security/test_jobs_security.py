"""Jobs against hostile callers: another key's job is invisible, a webhook URL that points inside
is refused (at submit and again at delivery, where DNS may answer differently), and a replayed or
forged webhook fails the verification docs/API.md shows."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.jobs_fixtures import WEBHOOK_SECRET, local_jobs
from tests.live_server import LiveServer, live_server
from tests.loopback import webhook_receiver
from tests.photos import b64, selfie_jpeg
from tests.webhook_doc import documented_verifier
from tryon_api.jobs.webhooks import signed_headers
from tryon_api.tryon.garment_url import PRIVATE_ADDRESS

pytestmark = pytest.mark.integration
OWNER_KEY, OTHER_KEY = "owner-key-7a1c", "other-key-2e9b"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(f"{OWNER_KEY},{OTHER_KEY}", env={"TRYON_JOBS_DATA_DIR": str(tmp_path)}) as running:
        yield running


def job_body(**extra: Any) -> dict[str, Any]:
    return {"selfie_base64": b64(selfie_jpeg()), "clothing_description": "a grey coat", "mode": "studio", **extra}


def send(server: LiveServer, method: str, path: str, key: str, body: Any = None) -> requests.Response:
    return requests.request(method, server.url + path, json=body, headers={"X-API-Key": key}, timeout=30)


def test_another_keys_job_is_a_404_like_an_unknown_one(server: LiveServer) -> None:
    job_id = send(server, "POST", "/jobs", OWNER_KEY, job_body()).json()["id"]
    for method in ("GET", "DELETE"):
        theirs = send(server, method, f"/jobs/{job_id}", OTHER_KEY)
        unknown = send(server, method, "/jobs/" + "Q" * 22, OTHER_KEY)
        assert (
            (theirs.status_code, theirs.json())
            == (unknown.status_code, unknown.json())
            == (
                404,
                {"error": "job not found"},
            )
        )
    assert send(server, "GET", f"/jobs/{job_id}", OWNER_KEY).status_code == 200  # the other key deleted nothing
    assert send(server, "GET", f"/jobs/{job_id}", "not-a-key").status_code == 401


INSIDE = [
    "http://127.0.0.1/hook",
    "http://localhost/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/hook",
    "http://192.168.1.10/hook",
    "http://[::1]/hook",
    "http://[::ffff:169.254.169.254]/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one number
    "http://0x7f.1/hook",
    "http://metadata.internal.test/hook",  # a name that resolves inside (patched DNS below)
    "https://hooks.example.test:8443/hook",  # a port other than 80 and 443
]


@pytest.mark.parametrize("url", INSIDE)
def test_a_webhook_url_pointing_inside_is_refused_before_anything_is_queued(
    server: LiveServer, url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "metadata.internal.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]
        if host == "hooks.example.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answer = send(server, "POST", "/jobs", OWNER_KEY, job_body(webhook_url=url))
    reason = "port 8443 is not allowed (use 80 or 443)" if ":8443" in url else PRIVATE_ADDRESS
    assert (answer.status_code, answer.json()) == (400, {"error": f"webhook_url is not allowed: {reason}"})
    assert "10.1.2.3" not in answer.text  # never what an inside name resolved to
    assert list(tmp_path.rglob("selfie")) == []


def test_a_name_that_resolves_inside_at_delivery_is_not_delivered_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: public when submitted, loopback when the webhook is sent: nothing is sent."""
    with webhook_receiver() as receiver:
        deps, _ = local_jobs(tmp_path, allow_private_garment_urls=False)
        port = receiver.server.server_address[1]
        deps.webhook_guard.fetcher.allowed_ports = frozenset({port})

        def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        result = deps.webhook_sender.deliver(f"http://rebinding.example.test:{port}/hook", "msg_x", b"{}")
    assert not result.delivered and result.reason == f"webhook_url is not allowed: {PRIVATE_ADDRESS}"
    assert receiver.deliveries == []


def test_a_fresh_genuine_delivery_passes_the_documented_verification() -> None:
    verify = documented_verifier()
    body = b'{"type":"job.succeeded","data":{"id":"x","status":"succeeded"}}'
    headers = signed_headers(WEBHOOK_SECRET, "msg_x", body)
    assert verify(WEBHOOK_SECRET, body, headers) == json.loads(body)


def test_a_replayed_or_forged_delivery_fails_the_documented_verification() -> None:
    verify = documented_verifier()
    body = b'{"type":"job.succeeded","data":{"id":"x","status":"succeeded"}}'
    now = int(time.time())
    tolerance = 300  # the standardwebhooks verifier's window
    # A captured delivery replayed later: its own genuine signature, but an old timestamp.
    assert verify(WEBHOOK_SECRET, body, signed_headers(WEBHOOK_SECRET, "msg_x", body, now - tolerance - 5)) is None
    assert verify(WEBHOOK_SECRET, body, signed_headers(WEBHOOK_SECRET, "msg_x", body, now + tolerance + 5)) is None
    genuine = signed_headers(WEBHOOK_SECRET, "msg_x", body, now)
    old = signed_headers(WEBHOOK_SECRET, "msg_x", body, now - tolerance - 5)
    # The old delivery with a fresh timestamp pasted in: the signature no longer matches.
    assert verify(WEBHOOK_SECRET, body, {**old, "webhook-timestamp": str(now)}) is None
    # Forged: another secret, an altered body, another id, a bare or missing signature.
    other = "whsec_" + base64.b64encode(b"a guessed secret of 24 b").decode()
    assert verify(WEBHOOK_SECRET, body, signed_headers(other, "msg_x", body, now)) is None
    assert verify(WEBHOOK_SECRET, body.replace(b"succeeded", b"failed"), genuine) is None
    assert verify(WEBHOOK_SECRET, body, {**genuine, "webhook-id": "msg_y"}) is None
    bare = genuine["webhook-signature"].removeprefix("v1,")
    assert verify(WEBHOOK_SECRET, body, {**genuine, "webhook-signature": bare}) is None
    assert verify(WEBHOOK_SECRET, body, {k: v for k, v in genuine.items() if k != "webhook-signature"}) is None
    assert verify(WEBHOOK_SECRET, body, {k: v for k, v in genuine.items() if k != "webhook-timestamp"}) is None
    assert verify(WEBHOOK_SECRET, body, genuine) is not None  # and the genuine one passes

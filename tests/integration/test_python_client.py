"""The Python client (clients/python, import name tryon_client) against the dev server as
``make run`` starts it, over real HTTP: generate, the five-line submit/wait/download script, typed
errors with status, message and X-Request-Id, webhook verification by standardwebhooks, bounded
retries of 429 and 503 honouring Retry-After, and ``pip install ./clients/python``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import ROOT, dev_server_process
from tests.loopback import webhook_receiver
from tests.photos import selfie_jpeg

sys.path.insert(0, str(ROOT / "clients" / "python"))  # the client as its source; its install is tested below

import tryon_client
from tryon_client import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    ServiceUnavailableError,
    TryOnClient,
    WebhookVerificationError,
    verify_webhook,
)

pytestmark = pytest.mark.integration
KEY = "client-key-8e2a"
SECRET = "whsec_Y2xpZW50LXRlc3Qtd2ViaG9vay1zZWNyZXQ="


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    env = {"TRYON_WEBHOOK_SECRET": SECRET, "TRYON_ALLOW_PRIVATE_GARMENT_URLS": "true"}
    with dev_server_process("--api-key", KEY, env=env) as (url, _):
        yield url


def test_generate_takes_bytes_or_a_path_and_answers_bytes_and_a_mime_type(server_url: str, tmp_path: Path) -> None:
    client = TryOnClient(server_url, api_key=KEY)
    image = client.generate(selfie_jpeg(), "a red wool sweater", "studio")
    assert image.mime_type == "image/jpeg" and image.data.startswith(b"\xff\xd8")
    path = tmp_path / "selfie.jpg"
    path.write_bytes(selfie_jpeg())
    png = client.generate(str(path), "a red wool sweater", "studio", output_format="png", garment_category="tops")
    assert png.mime_type == "image/png" and png.data.startswith(b"\x89PNG")


def test_the_five_line_script_submits_waits_and_downloads(server_url: str) -> None:
    client = TryOnClient(server_url, api_key=KEY)
    job = client.submit_job(selfie_jpeg(), "a navy blazer", "studio", num_samples=2, seed=77)
    done = client.wait(job.id, timeout=240)
    files = [client.download(image) for image in done.images]
    assert done.status == "succeeded" and [image.seed for image in done.images] == [77, 78]
    assert all(data.startswith(b"\xff\xd8") for data in files) and files[0] != files[1]
    assert all(image.url and image.mime_type == "image/jpeg" for image in done.images)
    inline = client.get_job(job.id, inline_images=True)
    assert [client.download(image)[:2] for image in inline.images] == [b"\xff\xd8", b"\xff\xd8"]
    client.delete_job(job.id)
    with pytest.raises(NotFoundError) as gone:
        client.get_job(job.id)
    assert (gone.value.status, gone.value.message) == (404, "job not found") and gone.value.request_id


def test_documented_errors_are_typed_with_status_message_and_request_id(server_url: str) -> None:
    with pytest.raises(BadRequestError) as bad:
        TryOnClient(server_url, api_key=KEY).generate(selfie_jpeg(), "a coat", "beach")
    assert bad.value.status == 400 and bad.value.message == 'mode must be "studio" or "environment"'
    assert bad.value.request_id and bad.value.request_id in str(bad.value)
    with pytest.raises(BadRequestError) as fmt:
        TryOnClient(server_url, api_key=KEY).generate(selfie_jpeg(), "a coat", "studio", output_format="gif")
    assert fmt.value.message == 'output_format must be one of "jpeg", "png", "webp"'
    with pytest.raises(AuthenticationError) as unauthorised:
        TryOnClient(server_url, api_key="not-the-key").get_job("A" * 22)
    assert unauthorised.value.status == 401 and unauthorised.value.request_id


def test_a_webhook_delivery_verifies_with_the_client_and_a_changed_byte_does_not(server_url: str) -> None:
    client = TryOnClient(server_url, api_key=KEY)
    with webhook_receiver() as receiver:
        job = client.submit_job(selfie_jpeg(), "a grey coat", "studio", webhook_url=receiver.url)
        ((headers, body),) = receiver.wait_for(1, timeout=240)
    event = verify_webhook(body, headers, SECRET)
    assert event["type"] == "job.succeeded" and event["data"]["id"] == job.id
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body[:-2] + b" }", headers, SECRET)


class ScriptedServer:
    """A loopback server answering a script of (status, headers) in turn, then 200 {}."""

    def __init__(self, script: list[tuple[int, dict[str, str]]]) -> None:
        self.script = list(script)
        self.calls = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.calls += 1
                status, headers = owner.script.pop(0) if owner.script else (200, {})
                body = b'{"error": "slow down"}' if status >= 400 else b'{"id": "x", "status": "queued"}'
                self.send_response(status)
                for name, value in {**headers, "X-Request-Id": f"req-{owner.calls}"}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def test_429_and_503_are_retried_honouring_retry_after_within_a_bound() -> None:
    waits: list[float] = []
    server = ScriptedServer([(429, {"Retry-After": "2"}), (503, {"Retry-After": "600"}), (503, {})])
    try:
        client = TryOnClient(server.url, api_key="k", sleep=waits.append, max_retries=3, max_retry_wait=30)
        assert client.get_job("x").status == "queued" and server.calls == 4
        assert waits == [2.0, 30.0, 4.0]  # as asked; capped at max_retry_wait; backoff without a hint
    finally:
        server.close()
    waits.clear()
    server = ScriptedServer([(429, {"Retry-After": "1"})] * 10)
    try:
        client = TryOnClient(server.url, api_key="k", sleep=waits.append, max_retries=2)
        with pytest.raises(RateLimitError) as limited:
            client.get_job("x")
        assert server.calls == 3 and waits == [1.0, 1.0]  # the bound: 2 retries, then the error
        assert (limited.value.status, limited.value.retry_after, limited.value.request_id) == (429, 1.0, "req-3")
    finally:
        server.close()
    server = ScriptedServer([(503, {})] * 3)
    try:
        with pytest.raises(ServiceUnavailableError):
            TryOnClient(server.url, sleep=waits.append, max_retries=0).get_job("x")
        assert server.calls == 1
    finally:
        server.close()


def test_pip_installs_the_client_as_a_typed_package(tmp_path: Path) -> None:
    target = tmp_path / "site"
    # From a copy: setuptools builds in the source folder (build/, *.egg-info), never in the repository.
    source = shutil.copytree(
        ROOT / "clients/python", tmp_path / "client", ignore=shutil.ignore_patterns("build", "*.egg-info")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = "import tryon_client, pathlib; print(tryon_client.__file__, tryon_client.TryOnClient.__name__)"
    shown = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env={"PYTHONPATH": str(target)}, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr[-500:]
    assert shown.stdout.split()[0].startswith(str(target)) and shown.stdout.split()[1] == "TryOnClient"
    assert (target / "tryon_client" / "py.typed").exists()
    assert [p.name for p in target.glob("tryon_client-*.dist-info")] == [
        f"tryon_client-{tryon_client.__version__}.dist-info"
    ]


def test_the_readmes_five_line_script_runs_against_the_dev_server(server_url: str, tmp_path: Path) -> None:
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    script = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.DOTALL) if "TryOnClient" in b)
    assert len(script.strip().splitlines()) == 5
    script = script.replace('"http://127.0.0.1:3000"', repr(server_url)).replace('api_key="..."', f"api_key={KEY!r}")
    (tmp_path / "me.jpg").write_bytes(selfie_jpeg())
    for name in ("me.jpg", "out.jpg"):  # the files, in this test's own folder
        script = script.replace(f'"{name}"', repr(str(tmp_path / name)))
    namespace: dict[str, Any] = {}
    exec(compile(script, "README.md", "exec"), namespace)
    assert (tmp_path / "out.jpg").read_bytes().startswith(b"\xff\xd8")
    assert namespace["job"].status == "succeeded" and len(namespace["samples"]) == 4
    assert all(sample.startswith(b"\xff\xd8") for sample in namespace["samples"])

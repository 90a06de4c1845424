"""The dev server in a background thread on an ephemeral loopback port: the one way tests run it.

The environment it reads (keys, backend, ...) is set for the server's lifetime and restored
after, and the container's wiring is rebuilt from it on the first request.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tryon_api.entrypoints import wiring
from tryon_dev.server import LocalServer, make_server

TEST_API_KEY = "fuzz-key-3f9a1c7e5b2d4068"
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class LiveServer:
    url: str
    api_key: str
    server: LocalServer


@contextmanager
def serving(server: LocalServer, poll_interval: float = 0.05) -> Iterator[str]:
    """Serve ``server`` on a thread; its base URL while it runs; stopped and joined after."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def live_server(
    api_key: str = TEST_API_KEY, env: Mapping[str, str] | None = None, **server_options: Any
) -> Iterator[LiveServer]:
    """The dev server with ``TRYON_API_KEYS=api_key`` and ``env``; ``server_options`` go to make_server."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRYON_API_KEYS", api_key)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        wiring.reset()
        server = make_server("127.0.0.1", 0, **server_options)
        try:
            with serving(server) as url:
                yield LiveServer(url, api_key, server)
        finally:
            wiring.reset()


@contextmanager
def dev_server_process(
    *options: str, env: Mapping[str, str] | None = None, output: list[str] | None = None
) -> Iterator[tuple[str, list[str]]]:
    """``python -m tryon_dev serve --port 0 OPTIONS`` in a subprocess, as a developer starts it: its
    URL and the banner lines printed up to it; the lines after it keep arriving in the same list
    (read on a thread, so the server never blocks on a full pipe). ``output``: every line the
    server prints, stdout and stderr together, is appended to it instead (the banner included; the
    whole log once the block ends). No TRYON_ or AWS endpoint variable leaks in; the jobs' data
    folder is a fresh temporary one unless ``env`` names one."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRYON_", "AWS_ENDPOINT_URL"))}
    data_dir = tempfile.TemporaryDirectory(prefix="tryon-jobs-")
    process = subprocess.Popen(
        [sys.executable, "-m", "tryon_dev", "serve", "--port", "0", *options],
        cwd=ROOT,
        env={**clean, "TRYON_JOBS_DATA_DIR": data_dir.name, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL if output is None else subprocess.STDOUT,
        text=True,
    )
    reader: threading.Thread | None = None
    try:
        assert process.stdout is not None
        banner: list[str] = []
        url = None
        while url is None and len(banner) < 50:  # the banner comes within a few lines
            banner.append(process.stdout.readline())
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner[-1])
            url = match.group(1) if match else None
        assert url, f"the dev server did not start: {banner}"
        lines = banner
        if output is not None:
            output.extend(banner)
            lines = output
        stream = process.stdout
        reader = threading.Thread(target=lambda: lines.extend(iter(stream.readline, "")), daemon=True)
        reader.start()
        yield url, banner
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if reader is not None:
            reader.join(timeout=10)
        data_dir.cleanup()

"""A tiny HTTP file host on 127.0.0.1 for tests and benchmarks that need a garment URL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FileHost:
    """Serves ``publish``-ed bodies by path; anything else is a 404."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str, int]] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body, content_type, status = files.get(self.path, (b"missing", "text/plain", 404))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def publish(self, path: str, body: bytes, content_type: str = "image/jpeg", status: int = 200) -> str:
        self.files[path] = (body, content_type, status)
        return self.base_url + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def file_host() -> Iterator[FileHost]:
    host = FileHost()
    try:
        yield host
    finally:
        host.close()

"""What broken clients send the dev server, over real HTTP: always JSON, never HTML or a 5xx."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.live_server import LiveServer, live_server

pytestmark = pytest.mark.integration


@pytest.fixture
def server() -> Iterator[LiveServer]:
    with live_server() as running:
        yield running


def request(server: LiveServer, method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        headers = {"X-API-Key": server.api_key, "Content-Type": "application/json"}
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "FOO"])
def test_any_method_gets_the_apis_json_405(server: LiveServer, method: str) -> None:
    status, headers, body = request(server, method, "/generate_image")
    assert status == 405
    assert headers["Allow"] == "POST"
    assert json.loads(body) == {"error": "method not allowed"}


def test_undecodable_json_bytes_are_a_400(server: LiveServer) -> None:
    status, _, body = request(server, "POST", "/generate_image", b'{"selfie_base64": "\xff\xfe"}')
    assert status == 400
    assert json.loads(body) == {"error": "request body is not valid JSON"}


def test_a_malformed_request_line_is_answered_in_json(server: LiveServer) -> None:
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as raw:
        raw.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") or head.startswith(b"HTTP/1.0 400 ")
    assert b"Content-Type: application/json" in head
    assert json.loads(body) == {"error": "bad request"}  # nothing of the request line echoed

"""The local server's HTTP framing over raw sockets on 127.0.0.1: HEAD answers without a body,
paths taken as sent (as a function URL passes ``rawPath``), and HTTP versions it does not speak
refused with 505 in the API's shape."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.live_server import LiveServer, live_server
from tryon_api.http.app import handle_event
from tryon_dev.events import function_url_event
from tryon_dev.lambda_context import new_context

pytestmark = pytest.mark.integration
WAIT_SECONDS = 30


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with live_server() as running:
        yield running


def connect(server: LiveServer) -> socket.socket:
    host, port = server.server.server_address
    return socket.create_connection((host, port), timeout=WAIT_SECONDS)


def read_answer(
    conn: socket.socket, buffered: bytearray, *, head_request: bool = False
) -> tuple[str, dict[str, str], bytes]:
    """One answer off a kept-alive connection: the status line, headers, and exactly the body its
    Content-Length announces (none after a HEAD). Bytes past it stay in ``buffered``."""
    while b"\r\n\r\n" not in buffered:
        chunk = conn.recv(65536)
        assert chunk, "the connection closed before a whole answer"
        buffered += chunk
    head, _, rest = bytes(buffered).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    length = 0 if head_request else int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = conn.recv(65536)
        assert chunk, "the connection closed inside a body"
        rest += chunk
    buffered[:] = rest[length:]
    return lines[0], headers, rest[:length]


def request_bytes(method: str, target: str, key: str, *, version: str = "HTTP/1.1", body: bytes = b"") -> bytes:
    lines = [f"{method} {target} {version}".rstrip(), "Host: 127.0.0.1", f"X-API-Key: {key}"]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@pytest.mark.parametrize("target", ["/", "/generate_image", "/nowhere"])
def test_a_head_answer_has_no_body_and_the_next_answer_on_the_connection_is_intact(
    server: LiveServer, target: str
) -> None:
    with connect(server) as conn:
        buffered = bytearray()
        conn.sendall(request_bytes("HEAD", target, server.api_key))
        status_line, headers, _ = read_answer(conn, buffered, head_request=True)
        assert status_line.startswith("HTTP/1.1 ")
        assert headers["x-request-id"]
        conn.sendall(request_bytes("GET", "/nowhere", server.api_key))
        conn.settimeout(2)
        status_line, headers, body = read_answer(conn, buffered)
        # Had the HEAD answer carried a body, its bytes would be read here as the status line.
        assert status_line == "HTTP/1.1 404 Not Found", status_line
        assert json.loads(body) == {"error": "not found"}
        assert headers["x-request-id"]
        assert not buffered


@pytest.mark.parametrize("target", ["//generate_image", "//generate_image?x=1", "///generate_image", "//"])
def test_a_path_with_a_doubled_slash_is_not_found_as_in_the_handler(server: LiveServer, target: str) -> None:
    with connect(server) as conn:
        buffered = bytearray()
        conn.sendall(request_bytes("POST", target, server.api_key, body=b"{}"))
        status_line, headers, body = read_answer(conn, buffered)
    assert status_line == "HTTP/1.1 404 Not Found"
    assert json.loads(body) == {"error": "not found"}
    assert "allow" not in headers
    # The handler, given the function URL's event (rawPath exactly as sent), answers the same.
    event = function_url_event("POST", target, {"X-API-Key": server.api_key, "Content-Type": "application/json"}, b"{}")
    assert event["rawPath"] == target.partition("?")[0]
    response = handle_event(event, new_context(30))
    assert (response["statusCode"], json.loads(response["body"])) == (404, {"error": "not found"})


@pytest.mark.parametrize("version", ["HTTP/2.0", "HTTP/0.9", "HTTP/1.2", "HTTP/3.0", ""])
def test_an_http_version_other_than_1_0_or_1_1_is_505(server: LiveServer, version: str) -> None:
    with connect(server) as conn:
        conn.sendall(request_bytes("POST", "/generate_image", server.api_key, version=version, body=b"{}"))
        answer = b""
        while chunk := conn.recv(65536):  # the server closes after the refusal
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    assert lines[0].split(" ", 1)[1] == "505 HTTP Version Not Supported"
    assert not lines[0].startswith("HTTP/1.1")  # never framed as 1.1 for a client that did not speak it
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"]
    assert json.loads(body) == {"error": "http version not supported: use HTTP/1.1"}


@pytest.mark.parametrize("version", ["HTTP/1.0", "HTTP/1.1"])
def test_http_1_0_and_1_1_are_served(server: LiveServer, version: str) -> None:
    with connect(server) as conn:
        buffered = bytearray()
        conn.sendall(request_bytes("POST", "/nowhere", server.api_key, version=version, body=b"{}"))
        status_line, _, body = read_answer(conn, buffered)
    assert status_line == f"{version} 404 Not Found"
    assert json.loads(body) == {"error": "not found"}

"""Hostile inputs against the local server over real HTTP: every answer documented, the server unharmed.

Scan bombs and decompression bombs in every accepted format (as the selfie, and as a garment
served by a loopback host), concurrent declared-huge uploads against the server's peak RSS,
bodies that trickle, stall or come chunked, repeated and control-character API keys, oversized
request lines and headers, and a garment host that drips its headers. Every answer has a
documented status and the ``{"error": ...}`` shape, arrives within a bounded wait (the socket
timeout), and the server still generates an image afterwards. The long versions (the issue's
full-size bombs, 30 stalled uploads at the body limit) are marked slow and run in ``make fuzz``.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.fuzz.log_capture import assert_nothing_leaks
from tests.hostile_images import (
    declared_huge_heic,
    declared_huge_jpeg,
    declared_huge_webp,
    scan_bomb_jpeg,
    zero_png,
)
from tests.live_server import live_server
from tests.loopback import FileHost, file_host
from tests.photos import b64, selfie_jpeg
from tryon_api.http.body_limit import body_too_large
from tryon_api.settings import MAX_EVENT_BODY_BYTES

pytestmark = pytest.mark.integration

API_KEY = "hostile-key-5d1e9a3c7b"
TOO_LARGE = body_too_large(MAX_EVENT_BODY_BYTES).message
DOCUMENTED = {400, 401, 404, 405, 413, 422, 429, 500, 502, 503, 504, 505}
ANSWER_WAIT_SECONDS = 30  # the most any answer below may take before the test fails
READ_TIMEOUT_SECONDS = 2.0
IDLE_TIMEOUT_SECONDS = 1
# Sixteen concurrent declared-huge uploads may raise the server's peak RSS by less than this
# (one 1 MP render of the embedded backend takes about 160 MB; scripts/benchmark_decoding.py prints both).
CONCURRENT_BOMBS_RSS_BOUND_MB = 64


@dataclass
class Server:
    url: str
    host: str
    port: int
    garments: FileHost


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    env = {
        "TRYON_BACKEND": "embedded",
        "TRYON_ALLOW_PRIVATE_GARMENT_URLS": "1",
        "TRYON_GARMENT_FETCH_TIMEOUT_SECONDS": "2",
    }
    with (
        live_server(
            API_KEY, env=env, read_timeout_seconds=READ_TIMEOUT_SECONDS, idle_timeout_seconds=IDLE_TIMEOUT_SECONDS
        ) as running,
        file_host() as garments,
    ):
        host, port = running.server.server_address
        yield Server(running.url, host, port, garments)


def post(server: Server, body: dict[str, object], key: str = API_KEY) -> requests.Response:
    return requests.post(
        f"{server.url}/generate_image",
        data=json.dumps(body),
        headers={"X-API-Key": key, "Content-Type": "application/json"},
        timeout=ANSWER_WAIT_SECONDS,
    )


def assert_documented(response: requests.Response, status: int) -> str:
    assert response.status_code == status, response.text[:300]
    assert response.status_code in DOCUMENTED
    payload = response.json()
    assert set(payload) == {"error"} and isinstance(payload["error"], str)
    assert response.headers["X-Request-Id"]
    return str(payload["error"])


def selfie_request(selfie: bytes, **extra: object) -> dict[str, object]:
    return {"selfie_base64": b64(selfie), "clothing_description": "red hoodie", "mode": "studio", **extra}


def raw_exchange(server: Server, data: bytes, *, pause: float = 0.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` on a fresh connection (in one go, or byte by byte with ``pause``) and read
    the answer until the server closes; the socket timeout bounds the wait."""
    with socket.create_connection((server.host, server.port), timeout=ANSWER_WAIT_SECONDS) as conn:
        if pause:
            conn.settimeout(pause)
            for index in range(len(data)):
                try:
                    conn.sendall(data[index : index + 1])
                    if conn.recv(1, socket.MSG_PEEK):
                        break  # the server answered before the request was complete
                except TimeoutError:
                    continue
                except OSError:
                    break
            conn.settimeout(ANSWER_WAIT_SECONDS)
        else:
            conn.sendall(data)
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def assert_raw_documented(answer: tuple[int, dict[str, str], bytes], status: int) -> str:
    got, headers, body = answer
    assert got == status, body[:300]
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"]
    payload = json.loads(body)
    assert set(payload) == {"error"}
    return str(payload["error"])


# --- Bombs in every accepted format -------------------------------------------------------------

BOMBS: dict[str, tuple[Callable[[], bytes], str]] = {
    "jpeg-scan-bomb": (lambda: scan_bomb_jpeg((2000, 2000), 600), "is a progressive JPEG with 600 scans"),
    "jpeg-declared-huge": (declared_huge_jpeg, "declares 6300x6300 pixels"),
    "png-zero-bomb": (lambda: zero_png((4000, 4000)), "declares 4000x4000 pixels"),
    "webp-declared-huge": (lambda: declared_huge_webp((4000, 4000)), "declares 4000x4000 pixels"),
    "heic-declared-huge": (declared_huge_heic, "declares 6000x6000 pixels"),
    "webp-over-the-pixel-limit": (lambda: declared_huge_webp((5000, 5000)), "is too large: at most 20 megapixels"),
    "jpeg-over-the-pixel-limit": (lambda: declared_huge_jpeg((8000, 6000)), "is too large: at most 40 megapixels"),
}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_bomb_as_the_selfie_is_a_400_naming_what_is_wrong(server: Server, kind: str) -> None:
    build, expected = BOMBS[kind]
    error = assert_documented(post(server, selfie_request(build())), 400)
    assert error.startswith(f"selfie_base64 {expected}")


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_bomb_as_the_garment_is_a_422_naming_what_is_wrong(server: Server, kind: str) -> None:
    build, expected = BOMBS[kind]
    url = server.garments.publish(f"/bomb-{kind}", build(), "image/jpeg")
    error = assert_documented(post(server, selfie_request(selfie_jpeg(), clothing_image_url=url)), 422)
    assert error.startswith(f"clothing_image_url {expected}")


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/self/status")


def _reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux 4.0+)


def test_sixteen_concurrent_declared_huge_jpegs_barely_move_the_servers_peak_rss(server: Server) -> None:
    """The issue measured +4.9 GB for this (about 300 MB each, decoded at once); now the header
    alone refuses them, and decoding would wait for a slot anyway."""
    body = selfie_request(declared_huge_jpeg())
    assert_documented(post(server, body), 400)  # warm: the services and the request path are loaded
    _reset_peak_rss()
    before = _rss_kb("VmRSS")
    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda _: post(server, body), range(16)))
    peak_rise_mb = (_rss_kb("VmHWM") - before) / 1024
    for response in responses:
        assert_documented(response, 400)
    assert peak_rise_mb < CONCURRENT_BOMBS_RSS_BOUND_MB


# --- The HTTP layer -----------------------------------------------------------------------------


def request_head(method: str = "POST", path: str = "/generate_image", *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def test_a_stalled_body_is_answered_400_and_closed_after_the_idle_timeout(server: Server) -> None:
    head = request_head("POST", "/generate_image", f"X-API-Key: {API_KEY}", f"Content-Length: {MAX_EVENT_BODY_BYTES}")
    error = assert_raw_documented(raw_exchange(server, head + b"x" * 100_000), 400)
    assert error == "request was not received in time"


def test_a_trickling_request_is_cut_off_at_the_read_timeout(server: Server) -> None:
    """One byte every 0.1 s keeps the connection busy; only the read timeout can end it."""
    head = request_head("POST", "/generate_image", f"X-API-Key: {API_KEY}", "Content-Length: 300")
    answer = raw_exchange(server, head + b"y" * 300, pause=0.1)
    assert assert_raw_documented(answer, 400) == "request was not received in time"


def test_several_incomplete_uploads_are_all_answered_and_the_server_recovers(server: Server) -> None:
    head = request_head("POST", "/generate_image", f"X-API-Key: {API_KEY}", f"Content-Length: {MAX_EVENT_BODY_BYTES}")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: raw_exchange(server, head + b"z" * 200_000), range(8)))
    for answer in answers:
        assert assert_raw_documented(answer, 400) == "request was not received in time"
    assert requests.get(f"{server.url}/openapi.json", timeout=ANSWER_WAIT_SECONDS).status_code == 200


def chunked(body: bytes, size: int = 7) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"


def test_a_chunked_body_is_decoded_and_answered_once(server: Server) -> None:
    head = request_head(
        "POST",
        "/generate_image",
        f"X-API-Key: {API_KEY}",
        "Content-Type: application/json",
        "Transfer-Encoding: chunked",
        "Connection: close",
    )
    status, _, body = raw_exchange(server, head + chunked(b'{"clothing_description": "red hoodie"}'))
    assert (status, json.loads(body)) == (400, {"error": "selfie_base64 is required"})
    assert body.count(b"{") == 1  # one answer: no chunk read as a second request


def test_a_chunked_body_over_the_limit_is_a_413_while_it_is_read(server: Server) -> None:
    head = request_head("POST", "/generate_image", f"X-API-Key: {API_KEY}", "Transfer-Encoding: chunked")
    payload = chunked(b"a" * (6 * 1024 * 1024 + 64 * 1024), 64 * 1024)
    error = assert_raw_documented(raw_exchange(server, head + payload), 413)
    assert error == TOO_LARGE


@pytest.mark.parametrize(
    ("headers", "body", "status", "error"),
    [
        (("Transfer-Encoding: chunked",), b"zz\r\n{}\r\n0\r\n\r\n", 400, "bad request"),
        (("Transfer-Encoding: gzip",), b"", 400, "transfer-encoding is not supported"),
        (("Content-Length: 7000000",), b"", 413, TOO_LARGE),
        ((f"X-Big: {'a' * 20_000}",), b"", 400, "request line or headers are too large"),
    ],
)
def test_refusals_of_the_http_layer_are_documented(
    server: Server, headers: tuple[str, ...], body: bytes, status: int, error: str
) -> None:
    answer = raw_exchange(server, request_head("POST", "/generate_image", f"X-API-Key: {API_KEY}", *headers) + body)
    assert assert_raw_documented(answer, status).startswith(error)


def test_an_over_long_request_line_is_a_400(server: Server) -> None:
    answer = raw_exchange(server, request_head("GET", "/" + "a" * 20_000))
    assert assert_raw_documented(answer, 400) == "request line or headers are too large"


def test_an_http_2_request_line_gets_a_documented_answer(server: Server) -> None:
    """Not served as HTTP/1.1: the local server refuses the version itself (505), key or no key."""
    answer = raw_exchange(server, b"POST /generate_image HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n")
    assert assert_raw_documented(answer, 505) == "http version not supported: use HTTP/1.1"


@pytest.mark.parametrize(
    "key_lines",
    [
        ("X-API-Key: wrong", f"X-API-Key: {API_KEY}"),
        (f"X-API-Key: {API_KEY}", "x-api-key: wrong"),
        (f"X-API-Key: {API_KEY}", f"x-api-key: {API_KEY}"),
        (f"X-API-Key: wrong,{API_KEY}",),
        (f"X-API-Key: {API_KEY}\xa0",),
        (f"X-API-Key: {API_KEY}\x85",),
    ],
)
def test_repeated_joined_or_padded_keys_are_401(server: Server, key_lines: tuple[str, ...]) -> None:
    answer = raw_exchange(server, request_head("POST", "/generate_image", *key_lines, "Content-Length: 2") + b"{}")
    assert assert_raw_documented(answer, 401) == "missing or invalid api key"


@pytest.mark.parametrize("character", ["\x0b", "\x0c", "\x1c", "\x1f", "\x00"])
def test_control_characters_in_the_key_header_never_authenticate(server: Server, character: str) -> None:
    """waitress refuses control characters in a header value as malformed (400); either way, no key."""
    answer = raw_exchange(
        server, request_head("POST", "/generate_image", f"X-API-Key: {API_KEY}{character}", "Content-Length: 2") + b"{}"
    )
    assert answer[0] in (400, 401)
    assert assert_raw_documented(answer, answer[0]) in ("bad request", "missing or invalid api key")


def test_space_and_tab_around_the_key_are_trimmed(server: Server) -> None:
    answer = raw_exchange(
        server, request_head("POST", "/generate_image", f"X-API-Key: \t{API_KEY} \t", "Content-Length: 2") + b"{}"
    )
    assert assert_raw_documented(answer, 400) == "selfie_base64 is required"


# --- A garment host that drips its headers --------------------------------------------------------


@pytest.fixture
def dripping_host() -> Iterator[str]:
    """Answers the status line, then one header byte every 0.1 s, for at most 20 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                    for _ in range(200):
                        conn.sendall(b"a")
                        if stop.wait(0.1):
                            break
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/drip.jpg"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_a_garment_host_dripping_its_headers_is_a_504(server: Server, dripping_host: str) -> None:
    response = post(server, selfie_request(selfie_jpeg(), clothing_image_url=dripping_host))
    assert assert_documented(response, 504) == "clothing_image_url did not answer in time"


# --- Logs, and health afterwards ------------------------------------------------------------------


def test_a_client_that_hangs_up_leaves_json_lines_without_tracebacks(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    body = json.dumps(selfie_request(selfie_jpeg())).encode()
    head = request_head(
        "POST",
        "/generate_image",
        f"X-API-Key: {API_KEY}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    )
    for _ in range(3):
        with socket.create_connection((server.host, server.port), timeout=ANSWER_WAIT_SECONDS) as conn:
            conn.sendall(head + body)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    # The server is still healthy, and has written its answers (to nobody) by now.
    response = post(server, selfie_request(selfie_jpeg()))
    assert response.status_code == 200
    out = capsys.readouterr()
    for line in out.out.splitlines():
        if line.startswith("{"):
            json.loads(line)
    assert_nothing_leaks(out.out + out.err)


def test_the_server_still_generates_after_everything_above(server: Server) -> None:
    response = post(server, selfie_request(selfie_jpeg()))
    assert response.status_code == 200
    assert base64.b64decode(response.json()["image_base64"])[:2] == b"\xff\xd8"


# --- Long versions (make fuzz) -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("as_garment", [False, True])
def test_the_issues_full_size_scan_bomb_is_refused(server: Server, as_garment: bool) -> None:
    bomb = scan_bomb_jpeg((6000, 6000), 3900)  # about 370 KB, as in the issue
    if as_garment:
        url = server.garments.publish("/full-scan-bomb.jpg", bomb)
        assert_documented(post(server, selfie_request(selfie_jpeg(), clothing_image_url=url)), 422)
    else:
        assert_documented(post(server, selfie_request(bomb)), 400)


@pytest.mark.slow
def test_thirty_stalled_six_megabyte_uploads_are_all_answered(server: Server) -> None:
    head = request_head("POST", "/generate_image", f"X-API-Key: {API_KEY}", f"Content-Length: {MAX_EVENT_BODY_BYTES}")
    with ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(lambda _: raw_exchange(server, head + b"q" * (MAX_EVENT_BODY_BYTES - 1)), range(30)))
    for answer in answers:
        assert assert_raw_documented(answer, 400) == "request was not received in time"


@pytest.mark.slow
def test_sixteen_concurrent_zero_pngs_are_refused(server: Server) -> None:
    body = selfie_request(zero_png((6000, 6000)))
    with ThreadPoolExecutor(16) as pool:
        for response in pool.map(lambda _: post(server, body), range(16)):
            assert_documented(response, 400)

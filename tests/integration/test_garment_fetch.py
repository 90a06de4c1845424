"""Garment fetching against real loopback HTTP(S) servers: every answer the fetcher can give.

Servers bind 127.0.0.1 only, and every slow route waits on an event with a bounded timeout, so
nothing outlives its test.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image

from tests.photos import image_bytes
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import BadRequest, UnusableGarmentImage, UpstreamTimeout
from tryon_api.tryon.garment_fetch import GarmentImageFetcher
from tryon_api.tryon.garment_url import BAD_SCHEME, NOT_ALLOWED, PRIVATE_ADDRESS, IPAddress, is_public_address

pytestmark = pytest.mark.integration

CAP = 64 * 1024
GARMENT = image_bytes(Image.new("RGB", (120, 160), (30, 60, 200)), "PNG")
LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


@dataclass
class ServerState:
    port: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    hosts: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    trickle_client_closed: threading.Event = field(default_factory=threading.Event)
    sni: list[str | None] = field(default_factory=list)


def make_handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class GarmentHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def send(self, status: int, body: bytes, content_type: str = "image/png", **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            with contextlib.suppress(OSError):  # the client may have given up (the slow route)
                self.wfile.write(body)

        def redirect(self, location: str) -> None:
            self.send(302, b"", "text/plain", Location=location)

        def do_GET(self) -> None:
            state.hosts.append(self.headers.get("Host", ""))
            state.paths.append(self.path)
            path = self.path
            if path == "/garment.png":
                self.send(200, GARMENT)
            elif path == "/octet":
                self.send(200, GARMENT, "application/octet-stream")
            elif path.startswith("/hops/"):
                left = int(path.rsplit("/", 1)[1])
                self.redirect(f"/hops/{left - 1}" if left > 1 else "/garment.png")
            elif path == "/declared-too-large":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(CAP + 1))
                self.end_headers()
                self.wfile.write(GARMENT)  # the client must give up on the header alone
            elif path == "/declared-15mb":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(15 * 1024 * 1024 + 1))
                self.end_headers()
                self.wfile.write(GARMENT)
            elif path == "/streamed-too-large":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for _ in range(40):  # 40 x 8 KB: five times the cap, then stop
                        self.wfile.write(GARMENT[:8] + b"\x00" * 8184)
                except OSError:
                    pass
                self.close_connection = True
            elif path == "/page.html":
                self.send(200, b"<html><body>a shirt</body></html>" * 4, "text/html; charset=utf-8")
            elif path == "/slow":
                state.release.wait(5)  # far beyond the fetcher's budget; released at teardown
                self.send(200, GARMENT)
            elif path == "/trickle":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(GARMENT)))
                self.end_headers()
                try:
                    for index in range(200):  # one byte every 50 ms: 10 s if nobody hangs up
                        self.wfile.write(GARMENT[index : index + 1])
                        self.wfile.flush()
                        if state.release.wait(0.05):
                            return
                except OSError:
                    state.trickle_client_closed.set()
                self.close_connection = True
            elif path == "/header-drip":
                # The status line, then a header one byte at a time: the headers never end.
                try:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    self.wfile.flush()
                    for byte in b"X-Drip: " + b"a" * 200:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        if state.release.wait(0.05):
                            return
                except OSError:
                    state.trickle_client_closed.set()
                self.close_connection = True
            elif path == "/to-metadata":
                self.redirect("http://169.254.169.254/latest/meta-data/iam/security-credentials/")
            elif path == "/to-loopback-v6":
                self.redirect(f"http://[::1]:{state.port}/garment.png")
            elif path == "/to-other-loopback":
                self.redirect(f"http://127.0.0.2:{state.port}/garment.png")
            elif path == "/to-decimal-loopback":
                self.redirect(f"http://2130706434:{state.port}/garment.png")
            elif path == "/to-private":
                self.redirect("http://10.0.0.1/garment.png")
            elif path == "/to-file":
                self.redirect("file:///etc/passwd")
            else:
                self.send(404, b'{"error":"not found"}', "application/json")

    return GarmentHandler


@pytest.fixture
def server() -> Iterator[ServerState]:
    state = ServerState()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    httpd.daemon_threads = True
    state.port = int(httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    state.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def dev_fetcher(**overrides: Any) -> GarmentImageFetcher:
    options: dict[str, Any] = {"allow_private": True, "timeout_seconds": 5.0, "max_bytes": CAP}
    options.update(overrides)
    return GarmentImageFetcher(**options)


def url(state: ServerState, path: str) -> str:
    return f"http://127.0.0.1:{state.port}{path}"


# --- allow_private on (local development): every outcome ---------------------------------------


def test_image_is_fetched(server: ServerState) -> None:
    assert dev_fetcher()(url(server, "/garment.png"), Deadline.after(10)) == GARMENT


def test_bytes_that_sniff_as_an_image_are_accepted_whatever_the_content_type(server: ServerState) -> None:
    assert dev_fetcher()(url(server, "/octet"), Deadline.after(10)) == GARMENT


def test_three_redirects_are_followed(server: ServerState) -> None:
    assert dev_fetcher()(url(server, "/hops/3"), Deadline.after(10)) == GARMENT
    assert server.paths == ["/hops/3", "/hops/2", "/hops/1", "/garment.png"]


def test_four_redirects_are_refused(server: ServerState) -> None:
    with pytest.raises(UnusableGarmentImage) as raised:
        dev_fetcher()(url(server, "/hops/4"), Deadline.after(10))
    assert raised.value.status == 422
    assert raised.value.message == "clothing_image_url redirected more than 3 times"
    assert "/garment.png" not in server.paths


@pytest.mark.parametrize("path", ["/declared-too-large", "/streamed-too-large"])
def test_too_large_is_refused(server: ServerState, path: str) -> None:
    with pytest.raises(UnusableGarmentImage) as raised:
        dev_fetcher()(url(server, path), Deadline.after(10))
    assert raised.value.message == "clothing_image_url is larger than 64 KB"


def test_declared_length_over_15_mb_is_refused_before_the_body(server: ServerState) -> None:
    fetcher = dev_fetcher(max_bytes=15 * 1024 * 1024)
    with pytest.raises(UnusableGarmentImage) as raised:
        fetcher(url(server, "/declared-15mb"), Deadline.after(10))
    assert raised.value.message == "clothing_image_url is larger than 15 MB"


def test_wrong_content_type_is_refused(server: ServerState) -> None:
    with pytest.raises(UnusableGarmentImage) as raised:
        dev_fetcher()(url(server, "/page.html"), Deadline.after(10))
    assert raised.value.message == "clothing_image_url did not return an image"


def test_not_found_is_422(server: ServerState) -> None:
    with pytest.raises(UnusableGarmentImage) as raised:
        dev_fetcher()(url(server, "/missing.png"), Deadline.after(10))
    assert raised.value.status == 422
    assert raised.value.message == "clothing_image_url answered with status 404"


def test_slow_server_is_a_504(server: ServerState) -> None:
    with pytest.raises(UpstreamTimeout) as raised:
        dev_fetcher(timeout_seconds=0.5)(url(server, "/slow"), Deadline.after(10))
    assert raised.value.status == 504
    assert raised.value.message == "clothing_image_url did not answer in time"


def test_the_lambdas_remaining_time_bounds_the_fetch(server: ServerState) -> None:
    with pytest.raises(UpstreamTimeout):
        dev_fetcher(timeout_seconds=10)(url(server, "/slow"), Deadline.after(0.4))


def test_trickling_server_is_cut_off_at_the_deadline(server: ServerState) -> None:
    """Each byte arrives well within any read timeout; only the total budget can stop it."""
    with pytest.raises(UpstreamTimeout):
        dev_fetcher(timeout_seconds=0.5)(url(server, "/trickle"), Deadline.after(10))
    # The server saw the connection closed long before its 200 bytes were sent.
    assert server.trickle_client_closed.wait(5)


def test_a_header_drip_is_a_504_not_a_missing_image(server: ServerState) -> None:
    """The watchdog's shut-down socket ends the headers early: that is the deadline, not the image."""
    with pytest.raises(UpstreamTimeout) as raised:
        dev_fetcher(timeout_seconds=0.5)(url(server, "/header-drip"), Deadline.after(10))
    assert raised.value.message == "clothing_image_url did not answer in time"


def test_spent_deadline_fails_before_connecting(server: ServerState) -> None:
    with pytest.raises(UpstreamTimeout):
        dev_fetcher()(url(server, "/garment.png"), Deadline.after(0))
    assert server.paths == []


def test_unreachable_host_is_422() -> None:
    with pytest.raises(UnusableGarmentImage) as raised:
        dev_fetcher()("http://garments.invalid/shirt.png", Deadline.after(10))
    assert raised.value.status == 422
    assert raised.value.message == "clothing_image_url could not be reached"


def test_closed_port_is_422() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(UnusableGarmentImage) as raised:
            dev_fetcher()(f"http://127.0.0.1:{port}/garment.png", Deadline.after(10))
    assert raised.value.message == "clothing_image_url could not be reached"


def fake_dns(monkeypatch: pytest.MonkeyPatch, table: dict[str, str]) -> list[str]:
    lookups: list[str] = []

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        lookups.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "unknown host")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


def test_connection_goes_to_the_resolved_address_with_the_host_name_as_host_header(
    server: ServerState, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups = fake_dns(monkeypatch, {"garments.test": "127.0.0.1"})
    data = dev_fetcher()(f"http://garments.test:{server.port}/garment.png", Deadline.after(10))
    assert data == GARMENT
    assert lookups == ["garments.test"]  # resolved once
    assert server.hosts == [f"garments.test:{server.port}"]


# --- allow_private off: a loopback server standing in for a public one -------------------------


@pytest.fixture
def dialled(monkeypatch: pytest.MonkeyPatch, server: ServerState) -> list[Any]:
    """Record every connection; only the test server itself may actually be reached."""
    attempts: list[Any] = []
    real = socket.socket.connect

    def recording(self: socket.socket, address: Any) -> None:
        attempts.append(tuple(address[:2]))
        if tuple(address[:2]) != ("127.0.0.1", server.port):
            raise ConnectionRefusedError("only the test server may be reached")
        real(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording)
    return attempts


def strict_fetcher(state: ServerState) -> GarmentImageFetcher:
    """Production rules, except that the one test server counts as a public address."""

    def allowed(address: IPAddress) -> bool:
        return address == LOOPBACK or is_public_address(address)

    return GarmentImageFetcher(
        allow_private=False,
        timeout_seconds=5,
        max_bytes=CAP,
        allowed_ports=(80, 443, state.port),
        address_allowed=allowed,
    )


def test_strict_fetcher_reaches_the_stand_in_public_server(server: ServerState, dialled: list[Any]) -> None:
    assert strict_fetcher(server)(url(server, "/garment.png"), Deadline.after(10)) == GARMENT
    assert dialled == [("127.0.0.1", server.port)]


@pytest.mark.parametrize(
    "path", ["/to-metadata", "/to-loopback-v6", "/to-other-loopback", "/to-decimal-loopback", "/to-private", "/to-file"]
)
def test_redirect_to_a_private_target_is_refused_unconnected(
    server: ServerState, dialled: list[Any], path: str
) -> None:
    with pytest.raises(BadRequest) as raised:
        strict_fetcher(server)(url(server, path), Deadline.after(10))
    reason = BAD_SCHEME if path == "/to-file" else PRIVATE_ADDRESS
    assert raised.value.message == f"{NOT_ALLOWED}: it redirects to a URL that is not allowed ({reason})"
    assert dialled == [("127.0.0.1", server.port)]  # the first hop only


def test_loopback_is_refused_without_the_development_flag(server: ServerState, dialled: list[Any]) -> None:
    production = GarmentImageFetcher(
        allow_private=False, timeout_seconds=5, max_bytes=CAP, allowed_ports=(server.port,)
    )
    with pytest.raises(BadRequest):
        production(url(server, "/garment.png"), Deadline.after(10))
    assert dialled == []
    assert server.paths == []


# --- TLS: SNI and the certificate are checked against the host name, not the pinned address ----


def issue_certificate(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for ``host`` signed by it."""
    now = datetime.datetime.now(datetime.UTC)

    def build(subject: str, issuer: x509.Name, key: Any, signer: Any, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test ca")])
    ca_cert = build("test ca", ca_name, ca_key, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build(host, ca_name, key, ca_key, ca=False)
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[ServerState, Path]]:
    state = ServerState()
    ca_path, cert_path, key_path = issue_certificate(tmp_path, "garments.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)

    def record_sni(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        state.sni.append(name)

    context.sni_callback = record_sni  # type: ignore[assignment]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    state.port = int(httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state, ca_path
    state.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_tls_uses_the_host_name_for_sni_and_the_certificate(
    tls_server: tuple[ServerState, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, ca_path = tls_server
    fake_dns(monkeypatch, {"garments.test": "127.0.0.1", "wrong-name.test": "127.0.0.1"})
    fetcher = dev_fetcher(ca_bundle=str(ca_path))
    assert fetcher(f"https://garments.test:{state.port}/garment.png", Deadline.after(10)) == GARMENT
    assert state.sni == ["garments.test"]
    assert state.hosts == [f"garments.test:{state.port}"]
    # Same server, same address, but a name the certificate does not cover: refused.
    with pytest.raises(UnusableGarmentImage) as raised:
        fetcher(f"https://wrong-name.test:{state.port}/garment.png", Deadline.after(10))
    assert raised.value.message.startswith("clothing_image_url could not be reached")
    assert len(state.hosts) == 1  # no request was sent over the unverified connection

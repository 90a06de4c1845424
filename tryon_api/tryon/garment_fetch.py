"""Fetch the reference garment image named by ``clothing_image_url`` without ever reaching inside.

The function runs inside an AWS account, so a caller-chosen URL is an SSRF vector: the instance
metadata service, loopback, the VPC, or a DNS name that answers differently the second time.
Every hop (the URL and each redirect) is checked by ``garment_url`` (parsed, normalised, resolved
exactly once, every address checked), and the connection is then made to that checked address
(Host header, TLS SNI and certificate check still use the host name). Nothing is connected to
before the check passes. A watchdog closes the socket when the time budget ends, so a slow or
trickling server costs at most the budget.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import GARMENT_TIMED_OUT, TryOnError, UnusableGarmentImage, UpstreamTimeout
from tryon_api.tryon.garment_url import (
    DEFAULT_PORTS,
    PRIVATE_ADDRESS,
    UNREACHABLE,
    FetchTarget,
    IPAddress,
    UrlNotAllowed,
    is_public_address,
    not_allowed,
    parse_target,
    port_not_allowed,
    resolve_host,
)
from tryon_api.tryon.image_formats import sniff_format

MAX_REDIRECTS: Final = 3
CONNECT_TIMEOUT_SECONDS: Final = 3.0
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_CHUNK: Final = 64 * 1024
_SNIFF_BYTES: Final = 32


# --- Parsing and normalising the URL ----------------------------------------------------------


# --- Connections pinned to the checked addresses ----------------------------------------------


class SocketWatchdog:
    """Shuts down every socket of one fetch when its time budget ends."""

    def __init__(self, seconds: float) -> None:
        self.expired = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> SocketWatchdog:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            if self.expired.is_set():
                sock.close()
                raise TimeoutError("the fetch's time budget is spent")
            self._sockets.append(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired.set()
            for sock in self._sockets:
                with contextlib.suppress(OSError):  # already closed
                    sock.shutdown(socket.SHUT_RDWR)


def _connect_pinned(
    connection: HTTPConnection, addresses: Iterable[IPAddress], watchdog: SocketWatchdog
) -> socket.socket:
    """Connect to the first reachable checked address: no name resolution at all happens here."""
    error: OSError | None = None
    timeout = connection.timeout if isinstance(connection.timeout, (int, float)) else None
    for address in addresses:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((str(address), connection.port))
        except TimeoutError as exc:
            sock.close()
            raise ConnectTimeoutError(connection, "connect timed out") from exc
        except OSError as exc:
            sock.close()
            error = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        watchdog.track(sock)
        return sock
    raise NewConnectionError(connection, f"failed to connect: {error}")


class _PinnedHTTPConnection(HTTPConnection):
    def __init__(self, *args: Any, pinned: tuple[IPAddress, ...], watchdog: SocketWatchdog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pinned, self._watchdog = pinned, watchdog

    def _new_conn(self) -> socket.socket:
        return _connect_pinned(self, self._pinned, self._watchdog)


class _PinnedHTTPSConnection(HTTPSConnection):
    """TLS to the pinned address; SNI and certificate check use ``host`` (the host name)."""

    def __init__(self, *args: Any, pinned: tuple[IPAddress, ...], watchdog: SocketWatchdog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pinned, self._watchdog = pinned, watchdog

    def _new_conn(self) -> socket.socket:
        return _connect_pinned(self, self._pinned, self._watchdog)


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class PinnedAddressAdapter(HTTPAdapter):
    """A requests adapter whose one pool connects to a checked target's addresses only."""

    def __init__(self, target: FetchTarget, watchdog: SocketWatchdog, ca_bundle: str = DEFAULT_CA_BUNDLE_PATH) -> None:
        super().__init__(max_retries=0)
        pool_args: dict[str, Any] = {"maxsize": 1, "block": False, "pinned": target.addresses, "watchdog": watchdog}
        self._target = target
        self._pool: HTTPConnectionPool
        if target.scheme == "https":
            self._pool = _PinnedHTTPSPool(
                target.host,
                target.port,
                cert_reqs="CERT_REQUIRED",
                ca_certs=ca_bundle,
                assert_hostname=target.host,
                server_hostname=target.host,
                **pool_args,
            )
        else:
            self._pool = _PinnedHTTPPool(target.host, target.port, **pool_args)

    def get_connection_with_tls_context(
        self, request: requests.PreparedRequest, verify: Any, proxies: Any = None, cert: Any = None
    ) -> HTTPConnectionPool:
        parts = urlsplit(request.url or "")
        if (parts.hostname, parts.port or self._pool.port) != (self._target.host, self._target.port):
            raise requests.exceptions.InvalidURL("request does not match the checked target")
        return self._pool

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """The pool already requires a valid certificate for the host name: nothing may relax it."""

    def close(self) -> None:
        super().close()
        self._pool.close()


# --- The fetcher ------------------------------------------------------------------------------


class GarmentImageFetcher:
    """``fetch(url, deadline) -> bytes``: the garment image's bytes or a ``TryOnError``."""

    def __init__(
        self,
        *,
        allow_private: bool,
        timeout_seconds: float,
        max_bytes: int,
        allowed_ports: Iterable[int] = DEFAULT_PORTS,
        address_allowed: Callable[[IPAddress], bool] = is_public_address,
        connect_timeout_seconds: float = CONNECT_TIMEOUT_SECONDS,
        ca_bundle: str = DEFAULT_CA_BUNDLE_PATH,
    ) -> None:
        self.allow_private = allow_private
        self.timeout_seconds = timeout_seconds
        self.max_bytes = max_bytes
        # Local development (allow_private) serves garments from any port on loopback.
        self.allowed_ports = None if allow_private else frozenset(allowed_ports)
        self.address_allowed = address_allowed
        self.connect_timeout_seconds = connect_timeout_seconds
        self.ca_bundle = ca_bundle

    def check_target(self, url: str, deadline: Deadline) -> FetchTarget:
        """Parse, normalise, resolve once and check every address: 400 before any connection."""
        scheme, host, port, rebuilt, literal = parse_target(url, None)
        addresses = (literal,) if literal is not None else resolve_host(host, port, deadline)
        # The address before the port: a garment on a developer's own machine is refused for
        # being local (the reason to act on), whatever port it is served on.
        if not self.allow_private and not all(self.address_allowed(address) for address in addresses):
            raise not_allowed(PRIVATE_ADDRESS)
        if self.allowed_ports is not None and port not in self.allowed_ports:
            raise port_not_allowed(port, self.allowed_ports)
        return FetchTarget(rebuilt, scheme, host, port, addresses)

    def __call__(self, url: str, deadline: Deadline) -> bytes:
        budget = min(self.timeout_seconds, deadline.remaining())
        if budget <= 0:
            raise UpstreamTimeout(GARMENT_TIMED_OUT)
        fetch_deadline = Deadline.after(budget)
        with SocketWatchdog(budget) as watchdog, requests.Session() as session:
            session.trust_env = False  # no proxies or .netrc from the environment
            try:
                return self._fetch(session, url, fetch_deadline, watchdog)
            except UnusableGarmentImage:
                # A server that drips its headers until the watchdog shuts the socket leaves a
                # response that looks merely short or empty: it ran out of time, say so.
                if watchdog.expired.is_set():
                    raise UpstreamTimeout(GARMENT_TIMED_OUT) from None
                raise
            except TryOnError:
                raise
            except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError):
                raise UpstreamTimeout(GARMENT_TIMED_OUT) from None
            except requests.exceptions.SSLError:
                raise UnusableGarmentImage(f"{UNREACHABLE} (tls handshake or certificate check failed)") from None
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
                if watchdog.expired.is_set():
                    raise UpstreamTimeout(GARMENT_TIMED_OUT) from None
                raise UnusableGarmentImage(UNREACHABLE) from None

    def _fetch(self, session: requests.Session, url: str, deadline: Deadline, watchdog: SocketWatchdog) -> bytes:
        for hop in range(MAX_REDIRECTS + 1):
            try:
                target = self.check_target(url, deadline)
            except UrlNotAllowed as refused:
                if hop == 0:
                    raise
                raise UrlNotAllowed(f"it redirects to a URL that is not allowed ({refused.reason})") from None
            adapter = PinnedAddressAdapter(target, watchdog, self.ca_bundle)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            remaining = deadline.remaining()
            if remaining <= 0:
                raise UpstreamTimeout(GARMENT_TIMED_OUT)
            with (
                _closing_adapter(adapter),
                session.get(
                    target.url,
                    stream=True,
                    allow_redirects=False,
                    timeout=(min(self.connect_timeout_seconds, remaining), remaining),
                    headers={"Accept": "image/*", "Accept-Encoding": "identity", "User-Agent": "tryon-garment-fetch"},
                ) as response,
            ):
                location = response.headers.get("Location")
                if response.status_code in _REDIRECTS and location:
                    url = urljoin(target.url, location)
                    continue
                if response.status_code != 200:
                    raise UnusableGarmentImage(f"clothing_image_url answered with status {response.status_code}")
                data = self._read_image(response)
            if watchdog.expired.is_set():  # a shut-down socket can look like a short body
                raise UpstreamTimeout(GARMENT_TIMED_OUT)
            return data
        raise UnusableGarmentImage(f"clothing_image_url redirected more than {MAX_REDIRECTS} times")

    def _too_large(self) -> UnusableGarmentImage:
        limit = self.max_bytes
        text = f"{limit / 1048576:g} MB" if limit >= 1048576 else f"{limit // 1024} KB"
        return UnusableGarmentImage(f"clothing_image_url is larger than {text}")

    def _read_image(self, response: requests.Response) -> bytes:
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large()  # refused before reading a byte of the body
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        body = bytearray()
        checked_type = False
        # Raw bytes (no transfer decompression: Accept-Encoding is identity), capped while streaming.
        for chunk in response.raw.stream(_CHUNK, decode_content=False):
            body += chunk
            if len(body) > self.max_bytes:
                raise self._too_large()
            if not checked_type and len(body) >= _SNIFF_BYTES:
                self._check_type(content_type, bytes(body[:_SNIFF_BYTES]))
                checked_type = True
        if not checked_type:
            self._check_type(content_type, bytes(body))
        return bytes(body)

    @staticmethod
    def _check_type(content_type: str, head: bytes) -> None:
        if not content_type.startswith("image/") and sniff_format(head) is None:
            raise UnusableGarmentImage("clothing_image_url did not return an image")


@contextlib.contextmanager
def _closing_adapter(adapter: HTTPAdapter) -> Iterator[None]:
    try:
        yield
    finally:
        adapter.close()

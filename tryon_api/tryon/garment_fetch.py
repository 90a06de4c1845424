"""Fetch the reference garment image named by ``clothing_image_url`` without ever reaching inside.

The function runs inside an AWS account, so a caller-chosen URL is an SSRF vector: the instance
metadata service, loopback, the VPC, or a DNS name that answers differently the second time.
Every hop (the URL and each redirect) is parsed and normalised here, its host name resolved
exactly once, every address checked, and the connection then made to that checked address
(Host header, TLS SNI and certificate check still use the host name). Nothing is connected to
before the check passes. A watchdog closes the socket when the time budget ends, so a slow or
trickling server costs at most the budget.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
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
from tryon_api.tryon.errors import GARMENT_TIMED_OUT, BadRequest, TryOnError, UnusableGarmentImage, UpstreamTimeout
from tryon_api.tryon.image_intake import sniff_format

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_REDIRECTS: Final = 3
CONNECT_TIMEOUT_SECONDS: Final = 3.0
DEFAULT_PORTS: Final = frozenset({80, 443})
NOT_ALLOWED: Final = "clothing_image_url is not allowed"
UNREACHABLE: Final = "clothing_image_url could not be reached"
TIMED_OUT: Final = GARMENT_TIMED_OUT
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_CHUNK: Final = 64 * 1024
_SNIFF_BYTES: Final = 32
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL: Final = ipaddress.IPv6Network("64:ff9b:1::/48")
_SITE_LOCAL: Final = ipaddress.IPv6Network("fec0::/10")

_resolver_lock = threading.Lock()
_resolver: ThreadPoolExecutor | None = None


# --- Which addresses may be reached -----------------------------------------------------------


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries: mapped, compatible, 6to4 or NAT64."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if int(address) >> 32 == 0:  # ::a.b.c.d (IPv4-compatible, deprecated), also :: and ::1
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses (in every IPv6 disguise of IPv4)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id or address.teredo is not None or address in _NAT64_LOCAL or address in _SITE_LOCAL:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


# --- Parsing and normalising the URL ----------------------------------------------------------


def _ipv4_part(part: str) -> int | None:
    """One dotted part: 0x-prefixed hex, 0-prefixed octal or decimal (as inet_aton reads them)."""
    if part[:2].lower() == "0x":
        digits = part[2:]
        if not digits:
            return 0
        return int(digits, 16) if re.fullmatch(r"[0-9a-fA-F]+", digits) else None
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8) if re.fullmatch(r"[0-7]+", part) else None
    return int(part) if re.fullmatch(r"[0-9]+", part) else None


def parse_ipv4_host(host: str) -> ipaddress.IPv4Address | None:
    """An IPv4 host in any form inet_aton and browsers accept: 127.1, 0x7f.1, 0177.0.0.1, 2130706433.

    Returns None for a host that is not numeric; raises ValueError for a numeric one that is invalid.
    """
    parts = host.split(".")
    if parts and parts[-1] == "":
        parts = parts[:-1]  # a trailing dot
    if not parts or (_ipv4_part(parts[-1]) is None and not re.fullmatch(r"[0-9]+", parts[-1])):
        return None  # the last label is not a number: a host name
    if len(parts) > 4:
        raise ValueError("too many parts")
    numbers = [_ipv4_part(part) for part in parts]
    if any(n is None for n in numbers):
        raise ValueError("not a number")
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise ValueError("out of range")
    value = values[-1]
    for index, number in enumerate(values[:-1]):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


@dataclass(frozen=True)
class FetchTarget:
    """A URL that passed every check, with the addresses the connection is pinned to."""

    url: str
    scheme: str
    host: str  # ASCII host name or canonical IP literal (as used in the URL, without brackets)
    port: int
    addresses: tuple[IPAddress, ...]


def _not_allowed() -> BadRequest:
    return BadRequest(NOT_ALLOWED)


def _normalise_host(raw: str) -> tuple[str, IPAddress | None]:
    """The host as it will be used (ASCII, lower-case, canonical IP) and its address if literal."""
    if ":" in raw:  # urlsplit strips the brackets of an IPv6 literal
        if "%" in raw:
            raise _not_allowed()  # zone ids name local interfaces
        try:
            v6 = ipaddress.IPv6Address(raw)
        except ValueError:
            raise _not_allowed() from None
        return v6.compressed, v6
    try:
        # IDNA 2003 with nameprep: full-width digits and dots become ASCII before the IPv4 check.
        host = raw.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _not_allowed() from None
    try:
        v4 = parse_ipv4_host(host)
    except ValueError:
        raise _not_allowed() from None
    if v4 is not None:
        return str(v4), v4
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise _not_allowed()
    return host.rstrip("."), None


def parse_target(url: str, allowed_ports: frozenset[int] | None) -> tuple[str, str, int, str, IPAddress | None]:
    """Scheme, host, port, the rebuilt URL and the literal address: or 400 not allowed."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise _not_allowed() from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc or "\\" in parts.netloc:
        raise _not_allowed()
    host, literal = _normalise_host(parts.hostname)
    default_port = 443 if scheme == "https" else 80
    port = default_port if port is None else port
    if allowed_ports is not None and port not in allowed_ports:
        raise _not_allowed()
    host_in_url = f"[{host}]" if ":" in host else host
    netloc = host_in_url if port == default_port else f"{host_in_url}:{port}"
    rebuilt = f"{scheme}://{netloc}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port, rebuilt, literal


def _resolver_pool() -> ThreadPoolExecutor:
    global _resolver
    with _resolver_lock:
        if _resolver is None:
            _resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="garment-dns")
        return _resolver


def resolve_host(host: str, port: int, deadline: Deadline) -> tuple[IPAddress, ...]:
    """Resolve once, within the deadline (a slow DNS server must not hold the request)."""
    future = _resolver_pool().submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=max(0.001, deadline.remaining()))
    except FutureTimeout:
        future.cancel()
        raise UpstreamTimeout(TIMED_OUT) from None
    except (OSError, UnicodeError, ValueError):
        raise UnusableGarmentImage(UNREACHABLE) from None
    addresses: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        try:
            address = ipaddress.ip_address(str(sockaddr[0]))
        except ValueError:
            raise _not_allowed() from None
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnusableGarmentImage(UNREACHABLE)
    return tuple(addresses)


# --- Connections pinned to the checked addresses ----------------------------------------------


class _Watchdog:
    """Shuts down every socket of one fetch when its time budget ends."""

    def __init__(self, seconds: float) -> None:
        self.expired = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
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


def _connect_pinned(connection: HTTPConnection, addresses: Iterable[IPAddress], watchdog: _Watchdog) -> socket.socket:
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
    def __init__(self, *args: Any, pinned: tuple[IPAddress, ...], watchdog: _Watchdog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pinned, self._watchdog = pinned, watchdog

    def _new_conn(self) -> socket.socket:
        return _connect_pinned(self, self._pinned, self._watchdog)


class _PinnedHTTPSConnection(HTTPSConnection):
    """TLS to the pinned address; SNI and certificate check use ``host`` (the host name)."""

    def __init__(self, *args: Any, pinned: tuple[IPAddress, ...], watchdog: _Watchdog, **kwargs: Any) -> None:
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

    def __init__(self, target: FetchTarget, watchdog: _Watchdog, ca_bundle: str = DEFAULT_CA_BUNDLE_PATH) -> None:
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
        scheme, host, port, rebuilt, literal = parse_target(url, self.allowed_ports)
        addresses = (literal,) if literal is not None else resolve_host(host, port, deadline)
        if not self.allow_private and not all(self.address_allowed(address) for address in addresses):
            raise _not_allowed()
        return FetchTarget(rebuilt, scheme, host, port, addresses)

    def __call__(self, url: str, deadline: Deadline) -> bytes:
        budget = min(self.timeout_seconds, deadline.remaining())
        if budget <= 0:
            raise UpstreamTimeout(TIMED_OUT)
        fetch_deadline = Deadline.after(budget)
        with _Watchdog(budget) as watchdog, requests.Session() as session:
            session.trust_env = False  # no proxies or .netrc from the environment
            try:
                return self._fetch(session, url, fetch_deadline, watchdog)
            except UnusableGarmentImage:
                # A server that drips its headers until the watchdog shuts the socket leaves a
                # response that looks merely short or empty: it ran out of time, say so.
                if watchdog.expired.is_set():
                    raise UpstreamTimeout(TIMED_OUT) from None
                raise
            except TryOnError:
                raise
            except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError):
                raise UpstreamTimeout(TIMED_OUT) from None
            except requests.exceptions.SSLError:
                raise UnusableGarmentImage(f"{UNREACHABLE} (tls handshake or certificate check failed)") from None
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
                if watchdog.expired.is_set():
                    raise UpstreamTimeout(TIMED_OUT) from None
                raise UnusableGarmentImage(UNREACHABLE) from None

    def _fetch(self, session: requests.Session, url: str, deadline: Deadline, watchdog: _Watchdog) -> bytes:
        for _hop in range(MAX_REDIRECTS + 1):
            target = self.check_target(url, deadline)
            adapter = PinnedAddressAdapter(target, watchdog, self.ca_bundle)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            remaining = deadline.remaining()
            if remaining <= 0:
                raise UpstreamTimeout(TIMED_OUT)
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
                raise UpstreamTimeout(TIMED_OUT)
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

"""Which garment URLs may be fetched: parsed, normalised, resolved once, every address checked.

The function runs inside an AWS account, so a caller-chosen URL is an SSRF vector: the instance
metadata service, loopback, the VPC, or a DNS name that answers differently the second time. A
URL and each redirect is parsed and normalised here (IP literals in every notation, IDNA), its
host resolved exactly once within the deadline, and every address checked before anything
connects; the fetcher then connects to the checked address only.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from tryon_api.per_container import PerContainer
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import GARMENT_TIMED_OUT, BadRequest, UnusableGarmentImage, UpstreamTimeout

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS: Final = frozenset({80, 443})

NOT_ALLOWED: Final = "clothing_image_url is not allowed"
UNREACHABLE: Final = "clothing_image_url could not be reached"

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")

_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")

_NAT64_LOCAL: Final = ipaddress.IPv6Network("64:ff9b:1::/48")

_SITE_LOCAL: Final = ipaddress.IPv6Network("fec0::/10")


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


# Why a URL is refused, in words a caller can act on. Never the address a name resolved to: a
# deployed API must not tell the world what its internal names resolve to.
BAD_SCHEME: Final = "only http and https URLs are fetched"
USER_INFO: Final = "a user name or password in the URL is not accepted"
BAD_HOST: Final = "its host is not a valid host name or IP address"
PRIVATE_ADDRESS: Final = "it points to a private, loopback or link-local address"


class UrlNotAllowed(BadRequest):
    """A refused URL: ``<field> is not allowed: <reason>`` (400)."""

    def __init__(self, reason: str, field: str = "clothing_image_url") -> None:
        self.reason = reason
        super().__init__(f"{field} is not allowed: {reason}")


def not_allowed(reason: str = BAD_HOST) -> UrlNotAllowed:
    return UrlNotAllowed(reason)


def port_not_allowed(port: int, allowed_ports: frozenset[int]) -> UrlNotAllowed:
    ports = sorted(allowed_ports)
    listed = ", ".join(map(str, ports[:-1])) + f" or {ports[-1]}" if len(ports) > 1 else str(ports[0])
    return UrlNotAllowed(f"port {port} is not allowed (use {listed})")


def _normalise_host(raw: str) -> tuple[str, IPAddress | None]:
    """The host as it will be used (ASCII, lower-case, canonical IP) and its address if literal."""
    if ":" in raw:  # urlsplit strips the brackets of an IPv6 literal
        if "%" in raw:
            raise not_allowed(PRIVATE_ADDRESS)  # zone ids name local interfaces
        try:
            v6 = ipaddress.IPv6Address(raw)
        except ValueError:
            raise not_allowed() from None
        return v6.compressed, v6
    try:
        # IDNA 2003 with nameprep: full-width digits and dots become ASCII before the IPv4 check.
        host = raw.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise not_allowed() from None
    try:
        v4 = parse_ipv4_host(host)
    except ValueError:
        raise not_allowed() from None
    if v4 is not None:
        return str(v4), v4
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise not_allowed()
    return host.rstrip("."), None


def parse_target(url: str, allowed_ports: frozenset[int] | None) -> tuple[str, str, int, str, IPAddress | None]:
    """Scheme, host, port, the rebuilt URL and the literal address: or 400 not allowed."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise not_allowed("its host or port is not valid") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise not_allowed(BAD_SCHEME)
    if "@" in parts.netloc:
        raise not_allowed(USER_INFO)
    if not parts.hostname or "\\" in parts.netloc:
        raise not_allowed(BAD_HOST)
    host, literal = _normalise_host(parts.hostname)
    default_port = 443 if scheme == "https" else 80
    port = default_port if port is None else port
    if allowed_ports is not None and port not in allowed_ports:
        raise port_not_allowed(port, allowed_ports)
    host_in_url = f"[{host}]" if ":" in host else host
    netloc = host_in_url if port == default_port else f"{host_in_url}:{port}"
    rebuilt = f"{scheme}://{netloc}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port, rebuilt, literal


# Look-ups run in these threads so that a slow DNS server costs at most the deadline.
_resolver_pool: PerContainer[ThreadPoolExecutor] = PerContainer(
    lambda: ThreadPoolExecutor(max_workers=4, thread_name_prefix="garment-dns")
)


def resolve_host(host: str, port: int, deadline: Deadline) -> tuple[IPAddress, ...]:
    """Resolve once, within the deadline (a slow DNS server must not hold the request)."""
    future = _resolver_pool.get().submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=max(0.001, deadline.remaining()))
    except FutureTimeout:
        future.cancel()
        raise UpstreamTimeout(GARMENT_TIMED_OUT) from None
    except (OSError, UnicodeError, ValueError):
        raise UnusableGarmentImage(UNREACHABLE) from None
    addresses: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        try:
            address = ipaddress.ip_address(str(sockaddr[0]))
        except ValueError:  # a scoped (link-local) answer
            raise not_allowed(PRIVATE_ADDRESS) from None
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnusableGarmentImage(UNREACHABLE)
    return tuple(addresses)

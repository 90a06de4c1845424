"""SSRF: every refused garment target gets 400 ``clothing_image_url is not allowed: <why>``, unconnected.

Name resolution is replaced by a table (no real DNS), and every way of opening a connection is
replaced by a recorder that fails, so a refused target that slipped through would show up as a
recorded connection rather than as traffic.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tryon_api.settings import Settings, SettingsError
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import BadRequest, UnusableGarmentImage
from tryon_api.tryon.garment_fetch import GarmentImageFetcher
from tryon_api.tryon.garment_url import (
    BAD_HOST,
    BAD_SCHEME,
    NOT_ALLOWED,
    PRIVATE_ADDRESS,
    USER_INFO,
    is_public_address,
    parse_ipv4_host,
)

# What the fake DNS answers: a host name that resolves to a private address, and friends.
FAKE_DNS: dict[str, list[str]] = {
    "localhost": ["127.0.0.1", "::1"],
    "internal.example.com": ["10.1.2.3"],
    "metadata.google.internal": ["169.254.169.254"],
    "mixed.example.com": ["93.184.216.34", "10.0.0.7"],  # one private answer is enough to refuse
    "v6private.example.com": ["fd00::1"],
    "mapped.example.com": ["::ffff:10.0.0.1"],
    "carrier.example.com": ["100.64.1.1"],
    "public.example.com": ["93.184.216.34"],
}

REFUSED = [
    # scheme, user-info, port
    "ftp://public.example.com/shirt.jpg",
    "file:///etc/passwd",
    "gopher://public.example.com/",
    "http://user:secret@public.example.com/shirt.jpg",
    "http://public.example.com@127.0.0.1/",
    "http://@public.example.com/",
    "http://public.example.com:22/",
    "http://public.example.com:6379/",
    "https://public.example.com:8443/",
    # loopback in every spelling
    "http://127.0.0.1/",
    "http://127.0.0.1.:80/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://0177.1/",
    "http://017700000001/",
    "http://127.000.000.001/",
    "http://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11/",  # full-width digits and dots
    "http://localhost/",
    "http://LOCALHOST./",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    # unspecified
    "http://0/",
    "http://0.0.0.0/",
    "http://[::]/",
    # the metadata service (link-local) and its disguises
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.43518/",
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/",
    "http://metadata.google.internal/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[::169.254.169.254]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    # private, shared, multicast, reserved, broadcast
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://internal.example.com/shirt.jpg",
    "http://mixed.example.com/shirt.jpg",
    "http://carrier.example.com/",
    # IPv6 private forms
    "http://[fc00::1]/",
    "http://v6private.example.com/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fec0::1]/",
    "http://[ff02::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://mapped.example.com/",
    "http://[::127.0.0.1]/",
    "http://[2002:7f00:1::]/",
    "http://[2002:c0a8:101::]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://[64:ff9b:1::1]/",
    # malformed numeric hosts and names
    "http://1.2.3.4.5/",
    "http://0x100000000/",
    "http://256.1.1.1/",
    "http://08.0.0.1/",
    "http://%31%32%37.0.0.1/",
    "http://exa mple.com/",
]


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Fake DNS from FAKE_DNS, and every connection attempt recorded and refused."""
    attempts: list[Any] = []

    def fake_getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        answers = FAKE_DNS.get(str(host).lower().rstrip("."))
        if answers is None:
            raise socket.gaierror(socket.EAI_NONAME, "unknown host")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers
        ]

    def record_connect(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise ConnectionRefusedError("connections are disabled in this test")

    def record_create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address)
        raise ConnectionRefusedError("connections are disabled in this test")

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", record_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", record_connect)
    monkeypatch.setattr(socket, "create_connection", record_create_connection)
    yield attempts


def fetcher() -> GarmentImageFetcher:
    return GarmentImageFetcher(allow_private=False, timeout_seconds=5, max_bytes=15 * 1024 * 1024)


@pytest.mark.parametrize("url", REFUSED)
def test_refused_target_is_400_and_never_connected(url: str, connections: list[Any]) -> None:
    with pytest.raises(BadRequest) as raised:
        fetcher()(url, Deadline.after(10))
    assert raised.value.status == 400
    assert raised.value.message.startswith(NOT_ALLOWED + ": ")
    assert connections == []


PORT_REASON = "port {} is not allowed (use 80 or 443)"
REASONS = [
    ("ftp://public.example.com/shirt.jpg", BAD_SCHEME),
    ("file:///etc/passwd", BAD_SCHEME),
    ("http://user:secret@public.example.com/shirt.jpg", USER_INFO),
    ("http://public.example.com@127.0.0.1/", USER_INFO),
    ("http://public.example.com:22/", PORT_REASON.format(22)),
    ("https://public.example.com:8443/", PORT_REASON.format(8443)),
    ("http://127.0.0.1/", PRIVATE_ADDRESS),
    ("http://localhost:8000/shirt.jpg", PRIVATE_ADDRESS),  # local first, whatever the port
    ("http://[::1]/", PRIVATE_ADDRESS),
    ("http://169.254.169.254/latest/meta-data/", PRIVATE_ADDRESS),
    ("http://[fe80::1%25eth0]/", PRIVATE_ADDRESS),
    ("http://10.0.0.1/", PRIVATE_ADDRESS),
    ("http://internal.example.com/shirt.jpg", PRIVATE_ADDRESS),
    ("http://metadata.google.internal/", PRIVATE_ADDRESS),
    ("http://mixed.example.com/shirt.jpg", PRIVATE_ADDRESS),
    ("http://256.1.1.1/", BAD_HOST),
    ("http://exa mple.com/", BAD_HOST),
    ("http://public.example.com:99999/", "its host or port is not valid"),
]


@pytest.mark.parametrize(("url", "reason"), REASONS)
def test_each_refusal_says_why_and_never_what_a_name_resolved_to(url: str, reason: str, connections: list[Any]) -> None:
    with pytest.raises(BadRequest) as raised:
        fetcher()(url, Deadline.after(10))
    assert raised.value.message == f"{NOT_ALLOWED}: {reason}"
    resolved = {a for answers in FAKE_DNS.values() for a in answers}
    assert not any(address in raised.value.message for address in resolved)
    assert "Traceback" not in raised.value.message and "Error" not in raised.value.message
    assert connections == []


def test_the_local_flag_lets_loopback_and_private_targets_through_on_any_port(connections: list[Any]) -> None:
    """``make run ALLOW_LOCAL_URLS=1``: the check passes and the fetch is attempted (and refused by
    this test's socket layer, so nothing is really connected)."""
    local = GarmentImageFetcher(allow_private=True, timeout_seconds=5, max_bytes=1024)
    for url in ("http://localhost:8000/shirt.jpg", "http://10.0.0.1:9000/", "http://internal.example.com/x.jpg"):
        target = local.check_target(url, Deadline.after(10))
        assert target.addresses
        with pytest.raises(UnusableGarmentImage):
            local(url, Deadline.after(10))
    assert len(connections) >= 3
    with pytest.raises(BadRequest, match=BAD_SCHEME):  # the scheme rule holds even locally
        local("ftp://localhost/x.jpg", Deadline.after(10))


def test_the_table_is_large_enough() -> None:
    assert len(REFUSED) >= 40


def test_public_target_passes_the_check_and_only_its_checked_address_is_dialled(connections: list[Any]) -> None:
    """The control case: the same machinery lets a public address through (connecting fails here)."""
    with pytest.raises(UnusableGarmentImage) as raised:
        fetcher()("http://public.example.com/shirt.jpg", Deadline.after(10))
    assert raised.value.message == "clothing_image_url could not be reached"
    assert connections == [("93.184.216.34", 80)]


def test_dns_rebinding_gets_no_second_lookup(monkeypatch: pytest.MonkeyPatch, connections: list[Any]) -> None:
    """First answer public, any later answer loopback: the connection still goes to the first."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])
    lookups: list[str] = []

    def rebinding_getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in next(answers)]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    with pytest.raises(UnusableGarmentImage):
        fetcher()("http://rebind.example.com/shirt.jpg", Deadline.after(10))
    assert lookups == ["rebind.example.com"]
    assert connections == [("93.184.216.34", 80)]


def test_unknown_host_is_unreachable_not_refused(connections: list[Any]) -> None:
    with pytest.raises(UnusableGarmentImage) as raised:
        fetcher()("http://no-such-host.invalid/shirt.jpg", Deadline.after(10))
    assert raised.value.status == 422
    assert connections == []


def test_configured_port_is_allowed(connections: list[Any]) -> None:
    custom = GarmentImageFetcher(allow_private=False, timeout_seconds=5, max_bytes=1024, allowed_ports=(8080,))
    with pytest.raises(UnusableGarmentImage):
        custom("http://public.example.com:8080/shirt.jpg", Deadline.after(10))
    assert connections == [("93.184.216.34", 8080)]
    with pytest.raises(BadRequest):
        custom("http://public.example.com/shirt.jpg", Deadline.after(10))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("169.254.43518", "169.254.169.254"),
        ("10.0.0.1.", "10.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
    ],
)
def test_numeric_hosts_are_normalised_like_inet_aton(host: str, expected: str) -> None:
    assert parse_ipv4_host(host) == ipaddress.IPv4Address(expected)


@pytest.mark.parametrize("host", ["example.com", "0x7f.example", "1.2.3.example"])
def test_host_names_are_not_numbers(host: str) -> None:
    assert parse_ipv4_host(host) is None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2002:5db8:d822::1"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(("raw", "ports"), [(None, (80, 443)), ("443", (443,)), ("80, 8080", (80, 8080))])
def test_allowed_ports_are_a_setting(raw: str | None, ports: tuple[int, ...]) -> None:
    env = {} if raw is None else {"TRYON_GARMENT_ALLOWED_PORTS": raw}
    assert Settings.from_env(env).garment_allowed_ports == ports


@pytest.mark.parametrize("raw", ["http", "0", "70000", ","])
def test_bad_port_settings_fail_at_start_up(raw: str) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"TRYON_GARMENT_ALLOWED_PORTS": raw})


NON_PUBLIC_V4 = [
    ipaddress.IPv4Network(n)
    for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10")
]


def spell_ipv4(value: int, style: int) -> str:
    """One of the spellings inet_aton accepts for the same address."""
    octets = value.to_bytes(4, "big")
    if style == 0:
        return str(value)
    if style == 1:
        return hex(value)
    if style == 2:
        return ".".join(f"0{o:o}" for o in octets)
    if style == 3:
        return f"{octets[0]}.{int.from_bytes(octets[1:], 'big')}"
    if style == 4:
        return f"{hex(octets[0])}.{octets[1]}.{int.from_bytes(octets[2:], 'big')}"
    return f"[::ffff:{ipaddress.IPv4Address(value)}]"


@settings(max_examples=200, deadline=None)
@given(
    network=st.sampled_from(NON_PUBLIC_V4),
    offset=st.integers(min_value=0, max_value=2**24 - 1),
    style=st.integers(min_value=0, max_value=5),
)
def test_every_spelling_of_a_non_public_address_is_refused(
    network: ipaddress.IPv4Network, offset: int, style: int
) -> None:
    value = int(network.network_address) + offset % network.num_addresses
    attempts: list[Any] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", lambda self, address: attempts.append(address))
        with pytest.raises(BadRequest):
            fetcher()(f"http://{spell_ipv4(value, style)}/shirt.jpg", Deadline.after(10))
    assert attempts == []
    if style < 5:
        assert parse_ipv4_host(spell_ipv4(value, style)) == ipaddress.IPv4Address(value)

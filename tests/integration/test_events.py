"""Every sample event in events/ gets its expected answer from the project's own invoker.

The events are what ``sam local invoke -e`` is fed; events/expected.json holds the status each
one must get (scripts/make_events.py writes both). The invoker runs the real handler with the
embedded backend and the key ``local-dev-key``, as ``python -m tryon_dev invoke`` does.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.cfn_template import load_template
from tests.cloudwatch import alarm_specs, dashboard_body, dashboard_series, parse_emf
from tryon_api.http.app import REQUEST_ID_HEADER
from tryon_dev.invoke import decode_event_body, invoke

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
EXPECTED: dict[str, dict[str, Any]] = json.loads((EVENTS / "expected.json").read_text())
NOT_EVENTS = {"expected.json", "local-env.json"}


@pytest.fixture(autouse=True)
def _offline_local_dev(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The invoker's configuration, and a network that cannot leave the machine.

    ``.invalid`` names never resolve (RFC 6761): answered here without asking a resolver. Any
    connection to a non-loopback address fails, so no event can reach the internet.
    """
    monkeypatch.setenv("TRYON_API_KEYS", "local-dev-key")
    monkeypatch.setenv("TRYON_BACKEND", "embedded")
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.rstrip(".").endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not str(address[0]).startswith(("127.", "::1")):
            raise ConnectionRefusedError(f"test network: no connection to {address[0]}")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    yield


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def test_every_event_has_an_expectation_and_every_expectation_an_event() -> None:
    files = {p.name for p in EVENTS.glob("*.json")} - NOT_EVENTS
    assert files == set(EXPECTED)
    assert len(files) >= 12


def test_the_events_are_what_the_generator_writes(tmp_path: Path) -> None:
    """Committed events and scripts/make_events.py agree, byte for byte."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import make_events
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    written = make_events.write(tmp_path)
    assert {p.relative_to(tmp_path) for p in written} == {
        p.relative_to(EVENTS) for p in EVENTS.rglob("*.json") if p.name != "local-env.json"
    }
    for path in written:
        assert path.read_bytes() == (EVENTS / path.relative_to(tmp_path)).read_bytes(), path.name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event_is_a_function_url_payload(name: str) -> None:
    event = load_event(name)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == event["requestContext"]["http"]["path"]
    assert event["requestContext"]["http"]["method"] in ("GET", "POST", "OPTIONS")
    assert all(header == header.lower() for header in event["headers"])  # as the URL sends them
    assert set(event) <= {
        "version",
        "routeKey",
        "rawPath",
        "rawQueryString",
        "headers",
        "queryStringParameters",
        "requestContext",
        "body",
        "isBase64Encoded",
        "cookies",
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event_gets_its_expected_answer(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    expected = EXPECTED[name]
    response = invoke(load_event(name), timeout_seconds=120)

    assert response["statusCode"] == expected["status"]
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert headers[REQUEST_ID_HEADER.lower()]
    body = decode_event_body(response)

    # CORS is the function URL's alone (template.yaml): the function adds none of its headers.
    assert not [name for name in headers if name.startswith("access-control-")]
    if expected["status"] == 204:  # a preflight reaching the function: no body
        assert body == b""
    elif expected["status"] == 200:
        payload = json.loads(body)
        assert set(payload) == {"image_base64", "mime_type"}
        assert payload["mime_type"] == "image/jpeg"
        with Image.open(io.BytesIO(base64.b64decode(payload["image_base64"]))) as image:
            assert image.format == "JPEG"
            assert min(image.size) >= 256
    else:
        assert headers["content-type"].startswith("application/json")
        payload = json.loads(body)
        assert list(payload) == ["error"]
        assert payload["error"] == expected["error"]
        assert "Traceback" not in payload["error"] and "tryon_api." not in payload["error"]
        # The selfie is never echoed.
        selfie = json.loads(load_event("studio-text-only.json")["body"])["selfie_base64"]
        assert selfie[100:140] not in body.decode()

    # The EMF line the invoker prints creates series (name and exact dimensions) that the
    # template's alarms or dashboard read, and nothing they do not.
    emitted = parse_emf(capsys.readouterr().out).keys()
    names = {name for _, name, _ in emitted}
    assert f"Status{expected['status'] // 100}xx" in names
    # A series a dashboard SEARCH finds (same namespace, name and dimension names) is read too.
    searched = {
        key
        for key in emitted
        for search in TEMPLATE_SEARCHES
        if (key[0], key[1], frozenset(n for n, _ in key[2])) == (search.namespace, search.name, search.dimension_names)
    }
    assert emitted - searched <= TEMPLATE_SERIES
    if expected["status"] == 200:
        assert {"GenerationLatency", "RequestsStudio"} <= names


def _template_series() -> set[tuple[str, str, frozenset[tuple[str, str]]]]:
    """Every series template.yaml's alarms and dashboard read, in this process's namespace."""
    parameters = {"MetricsNamespace": os.environ["POWERTOOLS_METRICS_NAMESPACE"]}
    template = load_template()
    read = {query.key for alarm in alarm_specs(template, parameters) for query in alarm.queries}
    rows, _ = dashboard_series(dashboard_body(template, parameters))
    return read | {key for _, key in rows}


TEMPLATE_SERIES = _template_series()
TEMPLATE_SEARCHES = [
    search
    for _, search in dashboard_series(
        dashboard_body(load_template(), {"MetricsNamespace": os.environ["POWERTOOLS_METRICS_NAMESPACE"]})
    )[1]
]

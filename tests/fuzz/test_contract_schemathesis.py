"""Schemathesis against the dev server, from the OpenAPI document the code generates.

Every operation, positive and negative data, every Schemathesis check but one: statuses,
content types, headers and bodies must match the document, negative data must get a 4xx, an
undeclared method a 405, and a request without the key a 401.

The check left out is ``positive_data_acceptance``: no JSON Schema can say "base64 of a
decodable photo at least 256 px on its short side", so schema-valid strings rightly get the
documented 400. Acceptance of real photos is checked by tests/fuzz/test_http_properties.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.fuzz.strategies import FUZZ_EXAMPLES
from tests.live_server import LiveServer, live_server
from tryon_api.http.openapi import openapi_document

schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with live_server() as running:
        yield running


def call_and_validate(case: schemathesis.Case, server: LiveServer) -> None:
    case.call_and_validate(
        base_url=server.url,
        headers={"X-API-Key": server.api_key},
        excluded_checks=[positive_data_acceptance],
    )


@schema.parametrize()
@settings(
    max_examples=min(FUZZ_EXAMPLES, 100), deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
def test_every_operation_conforms_to_the_document(case: schemathesis.Case, server: LiveServer) -> None:
    call_and_validate(case, server)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=max(FUZZ_EXAMPLES, 1000), deadline=None, suppress_health_check=list(HealthCheck))
def test_long_random_contract_run(case: schemathesis.Case, server: LiveServer) -> None:
    call_and_validate(case, server)

"""The alarms and the dashboard read series that the code really emits, and each alarm fires.

Both sides are the real artefacts: the metric queries come from template.yaml (every alarm's
metric or metric math, every dashboard row and SEARCH), and the datapoints are the EMF lines the
process prints while real requests go through the Lambda entry point (``lambda_handler``) and
the Bedrock backend to the loopback model emulator. CloudWatch matches a series by namespace,
name and the exact dimension set, so a name or a dimension changed on one side only fails here.

Each fault is a burst of requests inside one alarm period (a few seconds of a 5 or 15 minute
period), repeated for as many periods as the alarm evaluates: a sustained fault.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.cfn_template import load_template, resolve
from tests.cloudwatch import AlarmSpec, Series, alarm_specs, dashboard_body, dashboard_series, evaluate_alarm, parse_emf
from tests.integration.models.helpers import (
    API_KEY,
    FAST_RETRIES,
    REMOVE_BACKGROUND,
    SEARCH_REPLACE,
    join_abandoned_calls,
    request_body,
)
from tryon_api.entrypoints import wiring
from tryon_api.entrypoints.wiring import build_services, set_services
from tryon_api.moderation.dependencies import build_moderation
from tryon_api.settings import Settings
from tryon_dev.aws_emulator import AwsModelEmulator
from tryon_dev.events import function_url_event
from tryon_dev.lambda_context import LocalContext, new_context
from tryon_dev.moderation_emulator import EXPLICIT_NUDITY, ModerationEmulator, emulator_client_factory

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

NAMESPACE = os.environ["POWERTOOLS_METRICS_NAMESPACE"]  # this process's (tests/conftest.py, or make's)
PARAMETERS = {"MetricsNamespace": NAMESPACE}
TEMPLATE = load_template()
FUNCTION_NAME = str(resolve({"Ref": "TryOnFunction"}, TEMPLATE, PARAMETERS))
# The jobs alarms and dashboard rows read the jobs worker's series: tests/integration/jobs/test_job_alarms_fire.py.
JOBS = "jobs-"
ALARMS = {
    name: spec
    for spec in alarm_specs(TEMPLATE, PARAMETERS)
    if not (name := spec.name.removeprefix("tryon-dev-")).startswith(JOBS)
}
REQUESTS_PER_BURST = 8
# Faults -> the alarms that exist for them; every other alarm must stay OK under that fault.
FAULTS: dict[str, set[str]] = {
    "success": set(),
    "throttling": {"model-failures"},
    "model_error": {"model-failures", "5xx-rate"},
    "content_filter": {"content-filtered-spike"},
    # Content moderation refuses at each of its stages (description, garment photo, generated image).
    "moderation": {"content-filtered-spike"},
    "timeout": {"model-failures", "5xx-rate"},
}


def lambda_invoke(body: dict[str, Any], timeout_seconds: float) -> dict[str, Any]:
    """One invocation of the deployed entry point, decorators and metrics flush included."""
    from tryon_api.entrypoints.function_url import lambda_handler

    event = function_url_event(
        "POST", "/generate_image", {"content-type": "application/json", "x-api-key": API_KEY}, json.dumps(body).encode()
    )
    context: LocalContext = new_context(timeout_seconds)
    context.function_name = FUNCTION_NAME
    return lambda_handler(event, context)  # type: ignore[arg-type]


def moderation_request(number: int, mode: str, moderation: ModerationEmulator, garment_url: str) -> dict[str, Any]:
    """Refused at the description (the local check), the garment photo or the generated image, in turn."""
    stage = number % 3
    if stage == 0:
        return request_body(mode, clothing_description="a n4ked look")
    moderation.label_images(EXPLICIT_NUDITY)
    return request_body(mode, garment_url if stage == 1 else None)


def run_burst(
    fault: str, aws: AwsModelEmulator, moderation: ModerationEmulator, garment_url: str
) -> tuple[Series, list[int]]:
    """``REQUESTS_PER_BURST`` requests (both modes) under ``fault``; the series their EMF lines make."""
    aws.reset()
    moderation.reset()
    timeout = 60.0
    if fault == "throttling":
        aws.inject(REMOVE_BACKGROUND, "throttling", times=None)
    elif fault == "model_error":
        aws.inject(SEARCH_REPLACE, "model_error", times=None)
    elif fault == "content_filter":
        aws.inject(REMOVE_BACKGROUND, "filtered", times=None)
    elif fault == "timeout":
        aws.set_delay(REMOVE_BACKGROUND, 600.0)  # never answers within the request's time (reset ends it)
        timeout = 1.5
    printed = io.StringIO()
    statuses = []
    with contextlib.redirect_stdout(printed):  # EMF is printed to stdout, as in Lambda
        for number in range(REQUESTS_PER_BURST):
            mode = ("studio", "environment")[number % 2]
            body = (
                moderation_request(number, mode, moderation, garment_url)
                if fault == "moderation"
                else request_body(mode)
            )
            statuses.append(int(lambda_invoke(body, timeout)["statusCode"]))
        join_abandoned_calls()  # a timed-out call's metrics are printed when its worker ends
    aws.reset()
    return parse_emf(printed.getvalue()), statuses


@pytest.fixture(scope="module")
def bursts(emulator: AwsModelEmulator, garment_url: str) -> Iterator[dict[str, tuple[Series, list[int]]]]:
    """Every fault's burst, once for the module: the Bedrock backend as production builds it
    (botocore one attempt, our retries, deadline-bound read timeouts), pointed at the emulator."""
    from aws_lambda_powertools.metrics.provider import cold_start

    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
        settings = Settings(
            backend="bedrock",
            local_api_keys=(API_KEY,),
            model_region="us-east-1",
            deadline_margin_seconds=0.5,
            allow_private_garment_urls=True,
            moderation_image_service="rekognition",
        )
        services = build_services(settings)
        services.tryon.backend.policy = replace(FAST_RETRIES, max_attempts=settings.model_max_attempts)  # type: ignore[attr-defined]
        set_services(services)
        cold_start.is_cold_start = True  # Powertools' ColdStart metric: the first invocation's
        with ModerationEmulator() as moderation:
            # As deployed: Rekognition checks every image (here the moderation emulator's).
            services.tryon.moderation = build_moderation(settings, emulator_client_factory(moderation.url))
            try:
                yield {fault: run_burst(fault, emulator, moderation, garment_url) for fault in FAULTS}
            finally:
                wiring.reset()


def test_the_template_has_the_alarms_this_test_knows(bursts: dict[str, tuple[Series, list[int]]]) -> None:
    ours = {name for name, spec in ALARMS.items() if any(q.namespace == NAMESPACE for q in spec.queries)}
    assert ours == set().union(*FAULTS.values())
    for name, spec in ALARMS.items():
        if name not in ours:  # Lambda's own metrics (Errors, Throttles, Duration) of this function
            assert {(q.namespace, q.dimensions) for q in spec.queries} == {
                ("AWS/Lambda", frozenset({("FunctionName", FUNCTION_NAME)}))
            }, name


def test_each_burst_got_the_statuses_of_its_fault(bursts: dict[str, tuple[Series, list[int]]]) -> None:
    expected = {
        "success": 200,
        "throttling": 429,
        "model_error": 502,
        "content_filter": 422,
        "moderation": 422,
        "timeout": 504,
    }
    assert {fault: set(statuses) for fault, (_, statuses) in bursts.items()} == {
        fault: {status} for fault, status in expected.items()
    }


def test_every_series_an_alarm_reads_is_emitted(bursts: dict[str, tuple[Series, list[int]]]) -> None:
    emitted = set().union(*(series.keys() for series, _ in bursts.values()))
    for name, spec in ALARMS.items():
        for query in spec.queries:
            if query.namespace == NAMESPACE:
                assert query.key in emitted, f"{name} reads {query.key}, which nothing emits"


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_alarm_fires_under_its_fault_and_only_then(
    bursts: dict[str, tuple[Series, list[int]]], fault: str
) -> None:
    series, _ = bursts[fault]
    states = {name: evaluate_alarm(spec, [series] * spec.evaluation_periods) for name, spec in ALARMS.items()}
    assert {name for name, state in states.items() if state == "ALARM"} == FAULTS[fault], states


def test_one_quiet_period_after_the_fault_puts_the_alarm_back_to_ok(
    bursts: dict[str, tuple[Series, list[int]]],
) -> None:
    """Missing data is not breaching: an idle API after a fault goes back to OK."""
    for fault, alarms in FAULTS.items():
        series, _ = bursts[fault]
        for name in alarms:
            spec: AlarmSpec = ALARMS[name]
            assert evaluate_alarm(spec, [series] * spec.evaluation_periods + [Series()]) == "OK"


def test_every_dashboard_row_reads_an_emitted_series(bursts: dict[str, tuple[Series, list[int]]]) -> None:
    emitted = set().union(*(series.keys() for series, _ in bursts.values()))
    rows, searches = dashboard_series(dashboard_body(TEMPLATE, PARAMETERS))
    rows = [(title, key) for title, key in rows if not title.startswith("Jobs")]
    ours = [(title, key) for title, key in rows if key[0] == NAMESPACE]
    assert ours, "the dashboard reads the handler's metrics"
    for title, key in ours:
        assert key in emitted, f"panel {title!r} reads {key}, which nothing emits"
    for title, key in rows:
        if key[0] != NAMESPACE:
            assert key[0] == "AWS/Lambda" and dict(key[2]) == {"FunctionName": FUNCTION_NAME}, title
    assert searches, "the per-model latency panel searches by model"
    for title, search in searches:
        matches = [k for k in emitted if k[0] == search.namespace and k[1] == search.name]
        assert any({name for name, _ in k[2]} == search.dimension_names for k in matches), (title, search)

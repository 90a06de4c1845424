"""Fixtures of the model backends' integration tests: the AWS model emulator on loopback, a
garment image server, the handler configured with a real boto3 client pointed at the emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import msgspec
import pytest

from tests.integration.models.helpers import API_KEY, ENDPOINT, FAST_RETRIES, garment_photo
from tests.loopback import file_host
from tryon_api.entrypoints.wiring import build_services, set_services
from tryon_api.settings import Settings
from tryon_dev.aws_emulator import AwsModelEmulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[AwsModelEmulator]:
    with AwsModelEmulator(endpoint_names=(ENDPOINT,)) as running:
        yield running


@pytest.fixture
def aws(emulator: AwsModelEmulator, monkeypatch: pytest.MonkeyPatch) -> AwsModelEmulator:
    """The emulator, reset, with the standard endpoint variables pointing boto3 at it."""
    emulator.reset()
    emulator.default_delay = 0.0
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", emulator.url)
    return emulator


@pytest.fixture(scope="session")
def garment_url() -> Iterator[str]:
    with file_host() as host:
        yield host.publish("/jacket.jpg", garment_photo())


@pytest.fixture
def use_backend(aws: AwsModelEmulator) -> Callable[..., Any]:
    """Configure the handler's services for ``backend`` with the real boto3 client (via the
    endpoint variables) as production builds it: botocore makes one attempt, and our retry
    layer makes at most ``model_max_attempts`` (the production default, 3) with short backoffs."""

    def configure(backend: str, **overrides: Any) -> Any:
        settings = Settings(
            backend=backend,  # type: ignore[arg-type]
            local_api_keys=(API_KEY,),
            allow_private_garment_urls=True,
            sagemaker_endpoint_name=ENDPOINT,
            model_region="us-east-1",
            model_max_attempts=3,
        )
        settings = msgspec.structs.replace(settings, **overrides)
        services = build_services(settings)
        services.tryon.backend.policy = replace(  # type: ignore[attr-defined]
            FAST_RETRIES,
            retry_after_seconds=settings.model_retry_after_seconds,
            max_attempts=settings.model_max_attempts,
        )
        set_services(services)
        return services

    return configure

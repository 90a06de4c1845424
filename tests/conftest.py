"""Shared test set-up: a quiet, AWS-free environment and fresh caches for every test."""

from __future__ import annotations

import io
import logging
import os
import tempfile
from collections.abc import Iterator

import pytest

# Before anything imports Powertools or boto3.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TryOnTests")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tryon")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_PROFILE", None)
for _name in [n for n in os.environ if n.startswith("TRYON_")]:
    del os.environ[_name]
# Jobs submitted by in-process tests live in a temporary folder, never in the checkout.
_JOBS_DATA = tempfile.TemporaryDirectory(prefix="tryon-test-jobs-")
os.environ["TRYON_JOBS_DATA_DIR"] = _JOBS_DATA.name

from aws_lambda_powertools.utilities import parameters  # noqa: E402

from tryon_api.entrypoints import wiring  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    parameters.clear_caches()
    wiring.reset()
    yield
    parameters.clear_caches()
    wiring.reset()


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The service's structured log lines, as Powertools formats them, collected in a buffer."""
    service_logger = logging.getLogger(os.environ["POWERTOOLS_SERVICE_NAME"])
    formatter = next(h.formatter for h in service_logger.handlers if h.formatter is not None)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(formatter)
    service_logger.addHandler(handler)
    yield buffer
    service_logger.removeHandler(handler)

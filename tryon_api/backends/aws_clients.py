"""The boto3 clients of the model backends: built once per container from the settings.

Retries: botocore's adaptive mode (client-side rate limiting plus retries of throttling and
transient errors) with a small total of attempts, because the backends add their own
deadline-aware retries on top. The read timeout matches the Lambda's timeout so a slow image
model is not cut off by the SDK before the function's own deadline decides.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from tryon_api.settings import Settings


def model_client_config(settings: Settings) -> Config:
    return Config(
        connect_timeout=settings.model_connect_timeout_seconds,
        read_timeout=settings.model_read_timeout_seconds,
        retries={"mode": "adaptive", "total_max_attempts": settings.model_max_attempts},
        max_pool_connections=10,
        user_agent_extra="tryon-api",
    )


def create_model_client(service: str, settings: Settings) -> Any:
    """A ``bedrock-runtime`` or ``sagemaker-runtime`` client. The endpoint comes from the standard
    variables (``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``...) when set: that is how the emulator is used."""
    return boto3.client(service, region_name=settings.model_region or None, config=model_client_config(settings))

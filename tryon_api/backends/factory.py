"""Picks the configured backend. Backends are imported only when chosen, so the Lambda never
loads the embedded backend's heavy dependencies and a laptop never needs AWS credentials.
"""

from __future__ import annotations

from typing import Any

from tryon_api.settings import Settings
from tryon_api.tryon.interface import TryOnBackend
from tryon_api.tryon.work_slots import WorkSlots


def create_backend(
    settings: Settings, *, model_client: Any | None = None, slots: WorkSlots | None = None
) -> TryOnBackend:
    """The configured backend. ``model_client`` (a bedrock-runtime or sagemaker-runtime client)
    is injected by tests; otherwise one is created here, once per container. ``slots`` is the
    pipeline's limiter: a backend that renders in process takes its slots from it."""
    if settings.backend == "embedded":
        from tryon_api.backends.embedded import EmbeddedTryOnBackend

        return EmbeddedTryOnBackend(concurrency=settings.embedded_concurrency, slots=slots)
    from tryon_api.aws_clients import create_model_client, create_s3_client
    from tryon_api.backends.model_calls import RetryPolicy

    policy = RetryPolicy(
        max_attempts=settings.model_max_attempts, retry_after_seconds=settings.model_retry_after_seconds
    )
    if settings.backend == "bedrock":
        from tryon_api.backends.bedrock import BedrockModels, BedrockTryOnBackend

        client = model_client or create_model_client("bedrock-runtime", settings)
        return BedrockTryOnBackend(client, BedrockModels.from_settings(settings), policy)
    if settings.backend == "sagemaker":
        from tryon_api.backends.sagemaker import S3Location, SageMakerTryOnBackend

        client = model_client or create_model_client("sagemaker-runtime", settings)
        async_input = None
        s3_client = None
        if settings.sagemaker_async_s3_uri:
            async_input = S3Location.parse(settings.sagemaker_async_s3_uri + "in/")
            s3_client = create_s3_client(settings)
        return SageMakerTryOnBackend(
            client,
            settings.sagemaker_endpoint_name,
            policy,
            inference_steps=settings.sagemaker_inference_steps,
            async_input=async_input,
            s3_client=s3_client,
        )
    raise NotImplementedError(f"backend {settings.backend!r} is not available in this build")

"""The one interface every generation backend implements, and the factory that picks one.

Backends are imported only when chosen so that the Lambda never loads the embedded
backend's heavy dependencies, and a laptop never needs AWS credentials.
"""

from __future__ import annotations

from typing import Any, Protocol

from handler.deadline import Deadline
from handler.models import GeneratedImage, GenerationInput, ImageLimits
from handler.settings import Settings


class TryOnBackend(Protocol):
    name: str
    input_limits: ImageLimits

    def generate(self, job: GenerationInput, deadline: Deadline) -> GeneratedImage:
        """Dress the person in ``job`` and return the encoded image.

        Raises ``handler.errors.TryOnError`` subclasses for every failure it understands.
        """
        ...


def create_backend(settings: Settings, *, model_client: Any | None = None) -> TryOnBackend:
    """The configured backend. ``model_client`` (a bedrock-runtime or sagemaker-runtime client)
    is injected by tests; otherwise one is created here, once per container."""
    if settings.backend == "embedded":
        from handler.backends.embedded import EmbeddedTryOnBackend

        return EmbeddedTryOnBackend(concurrency=settings.embedded_concurrency)
    from handler.backends.aws_clients import create_model_client
    from handler.backends.model_calls import RetryPolicy

    policy = RetryPolicy(retry_after_seconds=settings.model_retry_after_seconds)
    if settings.backend == "bedrock":
        from handler.backends.bedrock import BedrockModels, BedrockTryOnBackend

        client = model_client or create_model_client("bedrock-runtime", settings)
        return BedrockTryOnBackend(client, BedrockModels.from_settings(settings), policy)
    if settings.backend == "sagemaker":
        from handler.backends.sagemaker import SageMakerTryOnBackend

        client = model_client or create_model_client("sagemaker-runtime", settings)
        return SageMakerTryOnBackend(client, settings.sagemaker_endpoint_name, policy)
    raise NotImplementedError(f"backend {settings.backend!r} is not available in this build")

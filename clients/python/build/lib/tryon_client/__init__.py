"""The try-on API's Python client.

from tryon_client import TryOnClient
client = TryOnClient("http://127.0.0.1:3000", api_key="...")
image = client.generate("selfie.jpg", "Red hoodie", "studio")
"""

from tryon_client.client import TryOnClient
from tryon_client.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    GatewayTimeoutError,
    JobTimeoutError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    TryOnError,
    UnprocessableError,
    UpstreamError,
)
from tryon_client.models import GeneratedImage, Job, JobFailure, JobImage
from tryon_client.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "GatewayTimeoutError",
    "GeneratedImage",
    "Job",
    "JobFailure",
    "JobImage",
    "JobTimeoutError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "ServiceUnavailableError",
    "TryOnClient",
    "TryOnError",
    "UnprocessableError",
    "UpstreamError",
    "WebhookVerificationError",
    "verify_webhook",
]
__version__ = "0.1.0"

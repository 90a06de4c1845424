"""The small exception hierarchy every failure becomes; each class carries its HTTP status.

Messages are shown to callers as they are, so they never carry internals: anything that
is not a ``TryOnError`` is answered as a generic 500 by the handler.
"""

from __future__ import annotations


class TryOnError(Exception):
    """Base of every error the API answers deliberately."""

    status: int = 500
    default_message: str = "internal error"

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        self.message = message or self.default_message
        self.retry_after = retry_after
        super().__init__(self.message)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


class BadRequest(TryOnError):
    status = 400
    default_message = "invalid request"


class Unauthorized(TryOnError):
    status = 401
    default_message = "missing or invalid api key"


class ResultLinkRefused(TryOnError):
    """A result URL that is forged, altered, expired or whose job is gone (S3 answers these 403 too)."""

    status = 403
    default_message = "result link is invalid or has expired"


class NotFound(TryOnError):
    status = 404
    default_message = "not found"


class JobNotFound(NotFound):
    """An unknown job id, or another API key's job: the same answer, so ids cannot be probed."""

    default_message = "job not found"


class MethodNotAllowed(TryOnError):
    status = 405
    default_message = "method not allowed"


class IdempotencyKeyInProgress(TryOnError):
    """A submit with this Idempotency-Key is still being answered."""

    status = 409
    default_message = "a request with this idempotency-key is still in progress, retry later"


class IdempotencyKeyReused(TryOnError):
    status = 422
    default_message = "idempotency-key was already used with a different request"


class PayloadTooLarge(TryOnError):
    status = 413
    default_message = "request body is too large"


class HttpVersionNotSupported(TryOnError):
    """A request line with an HTTP version other than 1.0 or 1.1 (the local server's refusal;
    deployed, the function URL's own HTTP front answers such requests)."""

    status = 505
    default_message = "http version not supported: use HTTP/1.1"


class UnusableGarmentImage(TryOnError):
    """The garment URL was reached (or tried) but gave nothing we can use."""

    status = 422
    default_message = "clothing_image_url did not return a usable image"


class NoPersonFound(TryOnError):
    """The selfie shows nobody to dress: refused before any model is called (422, as the API's
    other "understood but unusable" inputs)."""

    status = 422
    default_message = "selfie_base64 shows no person"


class ContentFiltered(TryOnError):
    status = 422
    default_message = "the model's content filter refused this request"


class RateLimited(TryOnError):
    status = 429
    default_message = "too many requests, retry later"

    def __init__(self, message: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(message, retry_after=retry_after)


class KeyRateLimitExceeded(RateLimited):
    """The key's requests-per-minute limit (Retry-After: until the UTC minute turns)."""

    default_message = "rate limit exceeded for this api key"


class ImageQuotaExhausted(RateLimited):
    """The key's images-per-month quota (Retry-After: until the UTC month turns)."""

    default_message = "monthly image quota exhausted for this api key"


class UpstreamFailed(TryOnError):
    status = 502
    default_message = "the image model failed"


class DependencyUnavailable(TryOnError):
    status = 503
    default_message = "a dependency is unavailable, retry later"

    def __init__(self, message: str | None = None, *, retry_after: int | None = 5) -> None:
        super().__init__(message, retry_after=retry_after)


class ModerationUnavailableError(DependencyUnavailable):
    """A content-moderation service could not answer: fail closed, never an unmoderated image."""

    default_message = "content moderation is unavailable, retry later"


# The garment URL's fetch and decode ran out of their time budget (the fetcher and the pipeline).
GARMENT_TIMED_OUT = "clothing_image_url did not answer in time"


class UpstreamTimeout(TryOnError):
    status = 504
    default_message = "the image model did not answer in time"

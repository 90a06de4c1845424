"""Every documented error as a typed exception carrying the status, the API's message and the
request's ``X-Request-Id`` (give it to support to find the request in the logs)."""

from __future__ import annotations


class TryOnError(Exception):
    """Base of every error this client raises."""


class APIError(TryOnError):
    """The API answered an error: ``status``, its ``{"error": ...}`` ``message`` and ``request_id``."""

    def __init__(self, status: int, message: str, request_id: str | None, retry_after: float | None = None):
        super().__init__(f"{status}: {message}" + (f" (request id {request_id})" if request_id else ""))
        self.status = status
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after


class BadRequestError(APIError):
    """400: a field is missing or invalid (the message names it)."""


class AuthenticationError(APIError):
    """401: missing or invalid API key or token."""


class PermissionDeniedError(APIError):
    """403: refused (a result URL forged, altered, expired or of a deleted job)."""


class NotFoundError(APIError):
    """404: unknown path, or a job that does not exist or belongs to another key."""


class ConflictError(APIError):
    """409: a submit with this idempotency key is still being answered."""


class PayloadTooLargeError(APIError):
    """413: the request body is over the API's size limit."""


class UnprocessableError(APIError):
    """422: the content was refused, the garment image is unusable, or an idempotency key was reused."""


class RateLimitError(APIError):
    """429: too many requests or jobs in flight; ``retry_after`` says how long to wait."""


class ServerError(APIError):
    """5xx: the API or its model failed."""


class UpstreamError(ServerError):
    """502: the image model failed."""


class ServiceUnavailableError(ServerError):
    """503: a dependency is unavailable or the model is not ready; ``retry_after`` when known."""


class GatewayTimeoutError(ServerError):
    """504: the model did not answer in time."""


class JobTimeoutError(TryOnError):
    """``wait`` ran out of time before the job finished (the job keeps running)."""

    def __init__(self, job_id: str, status: str, timeout: float):
        super().__init__(f"job {job_id} still {status} after {timeout:g} s")
        self.job_id = job_id
        self.status = status


ERRORS_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: UnprocessableError,
    429: RateLimitError,
    502: UpstreamError,
    503: ServiceUnavailableError,
    504: GatewayTimeoutError,
}


def error_for(status: int, message: str, request_id: str | None, retry_after: float | None) -> APIError:
    kind = ERRORS_BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    return kind(status, message, request_id, retry_after)

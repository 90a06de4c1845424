"""The AWS model APIs' errors as their wire format carries them, and the faults tests can inject.

Errors are JSON bodies with the code in ``x-amzn-ErrorType``, so the real boto3 clients raise
the same ``ClientError`` codes they raise against AWS.
"""

from __future__ import annotations

import json

from tryon_dev.aws_model_requests import EmulatedError

# Fault kind -> (status, error code, message) per protocol. Body-level faults are handled apart.
BEDROCK_ERRORS: dict[str, tuple[int, str, str]] = {
    "throttling": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "quota": (400, "ServiceQuotaExceededException", "Your request exceeds the service quota for your account."),
    "model_timeout": (408, "ModelTimeoutException", "Model has timed out in processing the request."),
    "service_unavailable": (503, "ServiceUnavailableException", "The service is temporarily unavailable."),
    "internal": (500, "InternalServerException", "An internal server error occurred."),
    "access_denied": (403, "AccessDeniedException", "You don't have access to the model with the specified id."),
    "not_found": (404, "ResourceNotFoundException", "The requested resource could not be found."),
    "validation": (400, "ValidationException", "The provided model identifier is invalid."),
    # A moderation refusal Bedrock returns as an error rather than a finish reason (wording of
    # Stability AI's API; Amazon's models say "...blocked by our content filters.").
    "moderation": (
        400,
        "ValidationException",
        "Your request was flagged by our content moderation system, as a result your request was denied.",
    ),
    "model_error": (424, "ModelErrorException", "The model encountered an error processing the request."),
    "model_not_ready": (429, "ModelNotReadyException", "Model is not ready to serve inference requests."),
}

SAGEMAKER_ERRORS: dict[str, tuple[int, str, str]] = {
    # ThrottlingException is an AWS common error (HTTP 400), not in the service model.
    "throttling": (400, "ThrottlingException", "Rate exceeded"),
    "service_unavailable": (503, "ServiceUnavailable", "The service is unavailable. Try your call again."),
    "internal": (500, "InternalFailure", "An internal failure occurred. Try your request again."),
    "validation": (400, "ValidationError", "Endpoint not found."),
    "model_error": (424, "ModelError", 'Received server error (500) from primary with message "boom".'),
    "model_timeout": (
        424,
        "ModelError",
        'Received server error (0) from primary with message "Your invocation timed out while waiting for a '
        'response from container primary."',
    ),
    "model_not_ready": (429, "ModelNotReadyException", "Model is not ready."),
    "dependency": (530, "InternalDependencyException", "An internal dependency failed."),
    "access_denied": (403, "AccessDeniedException", "User is not authorized to perform sagemaker:InvokeEndpoint."),
}

BODY_FAULTS = ("filtered", "inference_error", "no_image", "slow", "bad_image")


def check_signature(headers: dict[str, str], signing_name: str) -> None:
    authorization = headers.get("authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 ") or f"/{signing_name}/aws4_request" not in authorization:
        raise EmulatedError(403, "IncompleteSignatureException", "Request must be signed with SigV4.")


def container_error(original_status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    """A container's non-2xx answer, as SageMaker relays it: a ModelError (424)."""
    raise EmulatedError(
        424,
        "ModelError",
        f'Received client error ({original_status}) from primary with message "{message}".',
        {"OriginalStatusCode": original_status, "OriginalMessage": message, "LogStreamArn": "arn:aws:logs:emulated"},
    )


def error_response(error: EmulatedError) -> tuple[int, dict[str, str], bytes]:
    # SageMaker's error shapes spell the member "Message"; Bedrock's spell it "message".
    key = "Message" if error.code in SAGEMAKER_CODES else "message"
    body = {key: error.message, **error.extra}
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": f"{error.code}:http://internal.amazon.com/"}
    return error.status, headers, json.dumps(body).encode()


SAGEMAKER_CODES = frozenset({"ValidationError", "ModelError", "InternalFailure", "ServiceUnavailable",
                             "InternalDependencyException"})  # fmt: skip

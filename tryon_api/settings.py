"""One typed settings object, declared once and read from the environment once per container.

Each setting is a field: its type, its bounds and its default are written there and nowhere else.
The environment variable is the field's name upper-cased behind ``TRYON_`` unless the field names
another. msgspec converts and checks the strings (a kept library whose import costs a few
milliseconds, where pydantic-settings costs about 130 ms of every cold start); a bad value stops
the container at start-up with an error naming the variable and the rule. Defaults make a laptop
run work with nothing set; the SAM template sets the production values.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

BackendName = Literal["embedded", "bedrock", "sagemaker"]
# Lambda's synchronous invocation payload, the one figure for both directions: "6 MB each for
# request and response (synchronous)" (AWS Lambda Developer Guide, "Lambda quotas",
# docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html; the Invoke API reference: "For
# synchronous invocations, the maximum payload size is 6 MB"); a function URL in its default
# BUFFERED invoke mode calls Invoke and has the same limit (AWS::Lambda::Url, InvokeMode: "The
# maximum payload size is 6 MB"). The documentation gives no byte figure, so the smaller reading,
# 6,000,000 bytes, is the one we fit under. Requests: it covers the whole event the function URL
# sends (the JSON envelope, the headers and the body, base64-encoded when it is not text).
# Responses: the whole object the handler returns (status, headers and the JSON body), which
# tests/integration/test_payload_limit.py measures for the largest 1- and 4-image answers.
LAMBDA_INVOCATION_PAYLOAD_BYTES = 6_000_000
# The event without its body, at most: the envelope (about 1 KB), the function URL's own headers,
# and request line plus headers of up to 16 KiB (the local server's limit), the path and query
# twice (rawPath and requestContext.http.path, rawQueryString and queryStringParameters), all
# JSON-escaped. tests/unit/test_body_limit.py builds that event and measures it.
EVENT_WITHOUT_BODY_BYTES = 64 * 1024
# The largest body as the event carries it: a JSON or text body as sent, any other base64-encoded.
MAX_EVENT_BODY_BYTES = LAMBDA_INVOCATION_PAYLOAD_BYTES - EVENT_WITHOUT_BODY_BYTES

# US cross-Region inference profiles of the Bedrock models (Stability AI Image Services and
# Amazon Nova 2 Lite); other geographies use their own prefix (eu., apac.) via the variables.
DEFAULT_SEARCH_REPLACE_MODEL_ID = "us.stability.stable-image-search-replace-v1:0"
DEFAULT_INPAINT_MODEL_ID = "us.stability.stable-image-inpaint-v1:0"
DEFAULT_REMOVE_BACKGROUND_MODEL_ID = "us.stability.stable-image-remove-background-v1:0"
DEFAULT_VISION_MODEL_ID = "us.amazon.nova-2-lite-v1:0"

ModelId = Annotated[
    str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9.:/_+-]{0,2047}$", description="a valid model id, ARN or endpoint name")
]
Region = Annotated[str, Meta(pattern=r"^$|^[a-z]{2}(-[a-z]+)+-\d{1,2}$", description="an AWS region such as us-east-1")]
# The SageMaker EndpointName rule (or empty).
EndpointName = Annotated[
    str, Meta(pattern=r"^$|^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", description="a valid endpoint name")
]
Port = Annotated[int, Meta(ge=1, le=65535)]
# An S3 prefix (or empty): s3://bucket/ or s3://bucket/some/prefix/.
S3Prefix = Annotated[
    str,
    Meta(pattern=r"^$|^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([^\s]*/)?$", description="an s3://bucket/prefix/ URI"),
]

_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class SettingsError(ValueError):
    """A configuration value is invalid: raised at start-up, never per request."""


def _env_name(field: str) -> str:
    return "TRYON_" + field.upper()


class Settings(msgspec.Struct, frozen=True, kw_only=True, rename=_env_name):
    # The backend that generates: embedded (the offline CPU preview), bedrock or sagemaker.
    backend: BackendName = "embedded"
    # Name or ARN of the Secrets Manager secret holding the API key(s); empty: local keys only.
    api_key_secret_id: str = ""
    # Keys for runs without Secrets Manager (comma separated; local only: declared empty in the
    # template so that `sam local invoke --env-vars` can set it).
    local_api_keys: tuple[str, ...] = msgspec.field(default=(), name="TRYON_API_KEYS")
    # How long the secret is cached.
    secret_max_age_seconds: Annotated[int, Meta(ge=1, le=86400)] = 300
    # At most one forced re-read of the secret per interval when an unknown key arrives.
    secret_refresh_interval_seconds: Annotated[int, Meta(ge=0, le=3600)] = 60
    # The request body limit, counted as the event carries the body (base64 for a body that is not
    # JSON or text; tryon_api/http/body_limit.py): larger is refused with 413. The default, also the
    # most allowed, is Lambda's 6 MB event limit less 64 KiB for the envelope and headers
    # (docs/API.md, "Request size"): more makes events Lambda refuses itself.
    max_body_bytes: Annotated[int, Meta(ge=1024, le=MAX_EVENT_BODY_BYTES)] = MAX_EVENT_BODY_BYTES
    # The response limit the answer's images are fitted to (each image of an n-image answer gets
    # an n-th, less the JSON around it): Lambda's 6 MB response payload, at most.
    max_response_bytes: Annotated[int, Meta(ge=64 * 1024, le=LAMBDA_INVOCATION_PAYLOAD_BYTES)] = (
        LAMBDA_INVOCATION_PAYLOAD_BYTES
    )
    # Allow loopback and private garment and webhook URLs, on any port (`make run
    # ALLOW_LOCAL_URLS=1`): local development and tests only; the template sets 0.
    allow_private_garment_urls: bool = False
    # Total deadline for fetching the garment image.
    garment_fetch_timeout_seconds: Annotated[float, Meta(ge=0.1, le=60)] = 10.0
    # Garment image size cap.
    garment_max_bytes: Annotated[int, Meta(ge=1024, le=100 * 1024 * 1024)] = 15 * 1024 * 1024
    # Ports a garment URL may use (comma separated; any port when private URLs are allowed).
    garment_allowed_ports: Annotated[tuple[Port, ...], Meta(min_length=1)] = (80, 443)
    # Safety margin kept from the Lambda's remaining time for building the response.
    deadline_margin_seconds: Annotated[float, Meta(ge=0, le=30)] = 1.5
    # Request timeout of the local server (the Lambda uses its own remaining time).
    local_timeout_seconds: Annotated[float, Meta(ge=1, le=900)] = 120.0
    # Images decoded or rendered at once (0: one per CPU). The selfie, the garment and the model's
    # answer are decoded, and the embedded backend renders, under these same slots; further
    # requests wait (until their deadline: 504). More only adds memory.
    embedded_concurrency: Annotated[int, Meta(ge=0, le=64)] = 0
    # Region of the Bedrock / SageMaker runtime clients. Empty: AWS_REGION / the SDK's default.
    model_region: Region = ""
    # Bedrock: Stable Image Search and Replace (the garment change).
    bedrock_search_replace_model_id: ModelId = DEFAULT_SEARCH_REPLACE_MODEL_ID
    # Bedrock: Stable Image Inpaint (the environment scene).
    bedrock_inpaint_model_id: ModelId = DEFAULT_INPAINT_MODEL_ID
    # Bedrock: Stable Image Remove Background.
    bedrock_remove_background_model_id: ModelId = DEFAULT_REMOVE_BACKGROUND_MODEL_ID
    # Bedrock: the Converse vision model that describes a garment photo.
    bedrock_vision_model_id: ModelId = DEFAULT_VISION_MODEL_ID
    # The SageMaker try-on endpoint (required when the backend is sagemaker).
    sagemaker_endpoint_name: EndpointName = ""
    # Denoising steps asked of the SageMaker try-on container (contract v1 num_inference_steps);
    # 0: the container's own default.
    sagemaker_inference_steps: Annotated[int, Meta(ge=0, le=100)] = 0
    # Set: the endpoint is asynchronous. Request bodies are written under <prefix>in/ and sent with
    # InvokeEndpointAsync; answers are read where the endpoint writes them (<prefix>out/: the model
    # stack's AsyncS3Uri is this same URI). Empty: real-time.
    sagemaker_async_s3_uri: S3Prefix = ""
    # Model calls: botocore's connect timeout.
    model_connect_timeout_seconds: Annotated[float, Meta(ge=0.1, le=60)] = 3.0
    # The longest wait for one model answer; each call's is also cut to the request's time left.
    model_read_timeout_seconds: Annotated[float, Meta(ge=1, le=900)] = 85.0
    # Attempts per model call in our one retry layer (backends/model_calls.py: transient errors,
    # empty answers); botocore's own retries are off.
    model_max_attempts: Annotated[int, Meta(ge=1, le=10)] = 3
    # Seconds a caller is told to wait (Retry-After) with a throttling 429 or a 503 when the model
    # gives no hint.
    model_retry_after_seconds: Annotated[int, Meta(ge=1, le=3600)] = 5

    # Jobs (POST /jobs). On AWS the table, bucket and queue are set by the template; unset, jobs
    # live in SQLite and a data folder (jobs_data_dir) and run in the local server's worker pool.

    # The jobs' DynamoDB table (on AWS: set by the template). Empty: jobs run locally in SQLite.
    jobs_table_name: str = ""
    # The S3 bucket of the jobs' selfies and results (on AWS: set by the template; required with
    # TRYON_JOBS_TABLE_NAME).
    jobs_bucket_name: str = ""
    # The SQS queue the jobs' worker reads (on AWS: set by the template; required with
    # TRYON_JOBS_TABLE_NAME).
    jobs_queue_url: str = ""
    # Local runs: the folder holding the jobs' SQLite database, queue and files (blobs/), used
    # when TRYON_JOBS_TABLE_NAME is empty; `rm -rf .tryon-data` starts afresh.
    jobs_data_dir: str = ".tryon-data"
    # How long a finished job and its images are kept before the store's own expiry removes them.
    jobs_result_ttl_hours: Annotated[int, Meta(ge=1, le=720)] = 24
    # Jobs one API key may have queued or running at once (more: 429 with Retry-After).
    jobs_max_in_flight_per_key: Annotated[int, Meta(ge=1, le=1000)] = 20
    # The local server's job worker threads (on AWS the worker's reserved concurrency,
    # WorkerConcurrency, plays this part).
    jobs_local_workers: Annotated[int, Meta(ge=1, le=16)] = 2

    # On AWS: the name or ARN of the Secrets Manager secret that signs webhooks (set by the
    # template; read when a delivery is signed, never at start-up).
    webhook_secret_id: str = ""
    # Locally: the secret that signs webhooks (`make run WEBHOOK_SECRET=whsec_...`: whsec_ and base64
    # of at least 16 bytes, as Standard Webhooks writes it); empty: one generated once and kept in
    # the data folder (webhook-secret).
    webhook_secret: str = ""

    # Result URLs (GET /jobs/{id}'s images[].url, the webhook's). On AWS an S3 presigned GET; locally
    # a signed link the local server answers from the data folder.

    # How long a result URL works after it is handed out (never past its job's expiry). S3 allows
    # at most 7 days; a URL signed by a Lambda role's credentials also ends when they do (hours).
    result_url_ttl_seconds: Annotated[int, Meta(ge=60, le=604800)] = 3600
    # Locally: the base URL result links start with. Empty: the address the local server
    # listens on (127.0.0.1 when it listens on every interface).
    local_results_base_url: Annotated[
        str, Meta(pattern=r"^$|^https?://[^/?#\s]+$", description="an http(s)://host[:port] base URL")
    ] = ""

    # The person check (a selfie showing nobody is a 422 before any model is called).

    # Who looks for a person in the selfie: local (the embedded preview's MediaPipe face model;
    # local runs) or rekognition (Amazon Rekognition DetectFaces; the template's choice).
    person_detector: Literal["local", "rekognition"] = "local"

    # Content moderation (tryon_api/moderation/; docs/API.md, "Content moderation"). On AWS the
    # template sets the guardrail and the image service; locally the description is checked
    # without network and images are not checked.

    # permissive: swimwear and underwear allowed, nudity and sexual content refused; conservative:
    # also underwear, swimwear and see-through garments; off: nothing checked (a warning at
    # start-up and in `make doctor`). A selfie that appears to show a minor is always conservative.
    moderation: Literal["permissive", "conservative", "off"] = "permissive"
    # The Bedrock guardrail that checks descriptions (and images, with
    # TRYON_MODERATION_IMAGE_SERVICE=guardrail): its id or ARN. Empty: the local check only.
    moderation_guardrail_id: str = ""
    # The guardrail's published version (the template's GuardrailVersion).
    moderation_guardrail_version: str = ""
    # What checks the garment photo and every generated image: rekognition
    # (DetectModerationLabels), guardrail (ApplyGuardrail's image filter) or none (local runs).
    moderation_image_service: Literal["none", "rekognition", "guardrail"] = "none"
    # Rekognition's MinConfidence: labels below it are not returned, so not refused.
    moderation_min_confidence: Annotated[float, Meta(ge=0, le=100)] = 50.0
    # API keys (tryon_api/keys/): named keys with limits, usage and browser tokens. On AWS the
    # records and counters live in DynamoDB; unset, in SQLite in the data folder (jobs_data_dir).

    # The keys' DynamoDB table (on AWS: set by the template). Empty: keys live locally in SQLite.
    keys_table_name: str = ""
    # On AWS: the name or ARN of the Secrets Manager secret that signs browser tokens (set by the
    # template; required with TRYON_KEYS_TABLE_NAME). Locally one is generated into the data folder.
    token_secret_id: str = ""
    # How long a container trusts a key record it has read: a revoked key stops within this on
    # every warm container (and at once for requests that count images).
    key_record_max_age_seconds: Annotated[int, Meta(ge=0, le=60)] = 30

    def __post_init__(self) -> None:
        if self.backend == "sagemaker" and not self.sagemaker_endpoint_name:
            raise SettingsError("TRYON_SAGEMAKER_ENDPOINT_NAME is required when TRYON_BACKEND is sagemaker")
        if self.moderation_guardrail_id and not self.moderation_guardrail_version:
            raise SettingsError("TRYON_MODERATION_GUARDRAIL_VERSION is required with TRYON_MODERATION_GUARDRAIL_ID")
        if self.moderation_image_service == "guardrail" and not self.moderation_guardrail_id:
            raise SettingsError(
                "TRYON_MODERATION_GUARDRAIL_ID is required when TRYON_MODERATION_IMAGE_SERVICE is guardrail"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        raw: dict[str, Any] = {}
        for field in msgspec.structs.fields(cls):
            value = env.get(field.encode_name, "").strip()
            if value:  # unset or blank: the default
                raw[field.encode_name] = _split_for(field, value)
        try:
            return msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as error:
            raise SettingsError(_explain(cls, error)) from None


def _base_type(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _split_for(field: msgspec.structs.FieldInfo, value: str) -> Any:
    """Lists are comma separated; booleans also take yes/no and on/off; choices any case."""
    kind = _base_type(field.type)
    if typing.get_origin(kind) is tuple:
        return [part.strip() for part in value.split(",") if part.strip()]
    if kind is bool and value.lower() in _TRUE_WORDS | _FALSE_WORDS:
        return value.lower() in _TRUE_WORDS
    if typing.get_origin(kind) is Literal:
        return value.lower()
    return value


def _rule(annotation: Any) -> str:
    """The field's rule in words, read from its type and constraints."""
    metas = [m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, Meta)]
    kind = _base_type(annotation)
    bounds = next((m for m in metas if m.ge is not None or m.le is not None), None)
    if kind in (int, float) and bounds is not None:
        return f"must be a number between {bounds.ge:g} and {bounds.le:g}"
    if kind is bool:
        return "must be a boolean (1/0, true/false)"
    if typing.get_origin(kind) is Literal:
        return "must be one of " + ", ".join(typing.get_args(kind))
    if typing.get_origin(kind) is tuple:
        item = _base_type(typing.get_args(kind)[0])
        return "must be comma-separated port numbers" if item is int else "must be a comma-separated list"
    described = next((m.description for m in metas if m.description), None)
    return f"is not {described}" if described else "is not valid"


def _explain(cls: type[Settings], error: msgspec.ValidationError) -> str:
    message = str(error)
    if message.startswith("TRYON_"):  # raised by __post_init__: already names the variable
        return message
    hints = typing.get_type_hints(cls, include_extras=True)
    for field in msgspec.structs.fields(cls):
        if f"`$.{field.encode_name}`" in message:
            return f"{field.encode_name} {_rule(hints[field.name])}"
    return "invalid settings: " + message

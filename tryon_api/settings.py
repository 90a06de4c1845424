"""One typed settings object, read from the environment once per container and validated.

Defaults make a laptop run work with nothing set; the SAM template sets the production values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

BackendName = Literal["embedded", "bedrock", "sagemaker"]
BACKENDS: tuple[BackendName, ...] = ("embedded", "bedrock", "sagemaker")

LAMBDA_URL_PAYLOAD_LIMIT = 6 * 1024 * 1024

# US cross-Region inference profiles of the Bedrock models (Stability AI Image Services and
# Amazon Nova 2 Lite); other geographies use their own prefix (eu., apac.) via the variables.
DEFAULT_SEARCH_REPLACE_MODEL_ID = "us.stability.stable-image-search-replace-v1:0"
DEFAULT_INPAINT_MODEL_ID = "us.stability.stable-image-inpaint-v1:0"
DEFAULT_REMOVE_BACKGROUND_MODEL_ID = "us.stability.stable-image-remove-background-v1:0"
DEFAULT_VISION_MODEL_ID = "us.amazon.nova-2-lite-v1:0"
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:/_+-]{0,2047}$")
_REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_ENDPOINT_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")  # the SageMaker EndpointName rule


class SettingsError(ValueError):
    """A configuration value is invalid: raised at start-up, never per request."""


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be a boolean (1/0, true/false)")


def _identifier(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if value and not _ID_PATTERN.match(value):
        raise SettingsError(f"{name} is not a valid model id, ARN or endpoint name")
    return value


def _region(env: Mapping[str, str]) -> str:
    region = env.get("TRYON_MODEL_REGION", "").strip()
    if region and not _REGION_PATTERN.match(region):
        raise SettingsError("TRYON_MODEL_REGION must be an AWS region name such as us-east-1")
    return region


def _endpoint_name(env: Mapping[str, str], backend: str) -> str:
    name = env.get("TRYON_SAGEMAKER_ENDPOINT_NAME", "").strip()
    if backend == "sagemaker" and not name:
        raise SettingsError("TRYON_SAGEMAKER_ENDPOINT_NAME is required when TRYON_BACKEND is sagemaker")
    if name and not _ENDPOINT_PATTERN.match(name):
        raise SettingsError("TRYON_SAGEMAKER_ENDPOINT_NAME is not a valid endpoint name")
    return name


def _number(env: Mapping[str, str], name: str, default: float, minimum: float, maximum: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name} must be between {minimum:g} and {maximum:g}")
    return value


def _ports(env: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        ports = tuple(int(p) for p in raw.split(",") if p.strip())
    except ValueError:
        raise SettingsError(f"{name} must be comma-separated port numbers") from None
    if not ports or not all(1 <= p <= 65535 for p in ports):
        raise SettingsError(f"{name} must be comma-separated port numbers")
    return ports


@dataclass(frozen=True)
class Settings:
    backend: BackendName = "embedded"
    # Name or ARN of the Secrets Manager secret holding the API key(s); empty: local keys only.
    api_key_secret_id: str = ""
    # Keys for runs without Secrets Manager (comma separated in TRYON_API_KEYS).
    local_api_keys: tuple[str, ...] = field(default=(), repr=False)
    secret_max_age_seconds: int = 300
    secret_refresh_interval_seconds: int = 60
    max_body_bytes: int = LAMBDA_URL_PAYLOAD_LIMIT
    max_response_bytes: int = LAMBDA_URL_PAYLOAD_LIMIT
    allow_private_garment_urls: bool = False
    garment_fetch_timeout_seconds: float = 10.0
    garment_max_bytes: int = 15 * 1024 * 1024
    # Ports a garment URL may use (TRYON_GARMENT_ALLOWED_PORTS, comma separated).
    garment_allowed_ports: tuple[int, ...] = (80, 443)
    # Safety margin kept from the Lambda's remaining time for building the response.
    deadline_margin_seconds: float = 1.5
    # Request timeout of the local server (the Lambda uses its own remaining time).
    local_timeout_seconds: float = 120.0
    # Embedded backend: images rendered at once (0: one per CPU). More only adds memory.
    embedded_concurrency: int = 0
    # Model backends (bedrock, sagemaker). Region empty: AWS_REGION / the SDK's default.
    model_region: str = ""
    bedrock_search_replace_model_id: str = DEFAULT_SEARCH_REPLACE_MODEL_ID
    bedrock_inpaint_model_id: str = DEFAULT_INPAINT_MODEL_ID
    bedrock_remove_background_model_id: str = DEFAULT_REMOVE_BACKGROUND_MODEL_ID
    bedrock_vision_model_id: str = DEFAULT_VISION_MODEL_ID
    sagemaker_endpoint_name: str = ""
    # botocore client: connect timeout, read timeout (matched to the Lambda timeout) and the
    # total attempts of its adaptive retry mode (throttling, transient 5xx).
    model_connect_timeout_seconds: float = 3.0
    model_read_timeout_seconds: float = 85.0
    model_max_attempts: int = 3
    # Seconds a throttled caller is told to wait (Retry-After) when the model gives no hint.
    model_retry_after_seconds: int = 5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        backend = env.get("TRYON_BACKEND", "embedded").strip().lower() or "embedded"
        if backend not in BACKENDS:
            raise SettingsError("TRYON_BACKEND must be one of " + ", ".join(BACKENDS))
        keys = tuple(k.strip() for k in env.get("TRYON_API_KEYS", "").split(",") if k.strip())
        return cls(
            backend=backend,  # checked against BACKENDS above
            api_key_secret_id=env.get("TRYON_API_KEY_SECRET_ID", "").strip(),
            local_api_keys=keys,
            secret_max_age_seconds=int(_number(env, "TRYON_SECRET_MAX_AGE_SECONDS", 300, 1, 86400)),
            secret_refresh_interval_seconds=int(_number(env, "TRYON_SECRET_REFRESH_INTERVAL_SECONDS", 60, 0, 3600)),
            max_body_bytes=int(_number(env, "TRYON_MAX_BODY_BYTES", LAMBDA_URL_PAYLOAD_LIMIT, 1024, 64 * 1024 * 1024)),
            allow_private_garment_urls=_flag(env, "TRYON_ALLOW_PRIVATE_GARMENT_URLS"),
            garment_fetch_timeout_seconds=_number(env, "TRYON_GARMENT_FETCH_TIMEOUT_SECONDS", 10.0, 0.1, 60),
            garment_max_bytes=int(_number(env, "TRYON_GARMENT_MAX_BYTES", 15 * 1024 * 1024, 1024, 100 * 1024 * 1024)),
            garment_allowed_ports=_ports(env, "TRYON_GARMENT_ALLOWED_PORTS", (80, 443)),
            local_timeout_seconds=_number(env, "TRYON_LOCAL_TIMEOUT_SECONDS", 120.0, 1, 900),
            embedded_concurrency=int(_number(env, "TRYON_EMBEDDED_CONCURRENCY", 0, 0, 64)),
            model_region=_region(env),
            bedrock_search_replace_model_id=_identifier(
                env, "TRYON_BEDROCK_SEARCH_REPLACE_MODEL_ID", DEFAULT_SEARCH_REPLACE_MODEL_ID
            ),
            bedrock_inpaint_model_id=_identifier(env, "TRYON_BEDROCK_INPAINT_MODEL_ID", DEFAULT_INPAINT_MODEL_ID),
            bedrock_remove_background_model_id=_identifier(
                env, "TRYON_BEDROCK_REMOVE_BACKGROUND_MODEL_ID", DEFAULT_REMOVE_BACKGROUND_MODEL_ID
            ),
            bedrock_vision_model_id=_identifier(env, "TRYON_BEDROCK_VISION_MODEL_ID", DEFAULT_VISION_MODEL_ID),
            sagemaker_endpoint_name=_endpoint_name(env, backend),
            model_connect_timeout_seconds=_number(env, "TRYON_MODEL_CONNECT_TIMEOUT_SECONDS", 3.0, 0.1, 60),
            model_read_timeout_seconds=_number(env, "TRYON_MODEL_READ_TIMEOUT_SECONDS", 85.0, 1, 900),
            model_max_attempts=int(_number(env, "TRYON_MODEL_MAX_ATTEMPTS", 3, 1, 10)),
            model_retry_after_seconds=int(_number(env, "TRYON_MODEL_RETRY_AFTER_SECONDS", 5, 1, 3600)),
        )

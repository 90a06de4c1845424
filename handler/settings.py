"""One typed settings object, read from the environment once per container and validated.

Defaults make a laptop run work with nothing set; the SAM template sets the production values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

BackendName = Literal["embedded", "bedrock", "sagemaker"]
BACKENDS: tuple[BackendName, ...] = ("embedded", "bedrock", "sagemaker")

LAMBDA_URL_PAYLOAD_LIMIT = 6 * 1024 * 1024


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
        )

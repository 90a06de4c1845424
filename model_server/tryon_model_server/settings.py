"""The server's configuration: read once from the environment, typed and checked at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

# Qwen-Image-Edit-2511's published recommendation: 40 steps, true CFG 4.0 with a blank negative.
BASE_STEPS = 40
BASE_TRUE_CFG_SCALE = 4.0
# The base model's steps per request are clamped to these (a request may ask 1-100). Its
# schedule stretches the last sigma to shift_terminal, which a single step turns into 0/0: one
# step would denoise with a NaN sigma. Past the maximum a request only costs GPU time.
BASE_MIN_STEPS = 2
BASE_MAX_STEPS = 50
# A distilled Lightning LoRA is run without CFG, with the steps it was distilled for (4 or 8 for
# the published ones): its steps are fixed, whatever a request asks.
LIGHTNING_STEPS = 4
LIGHTNING_MAX_STEPS = 16
LIGHTNING_TRUE_CFG_SCALE = 1.0
# Requests that undress a person are refused (finish_reason "content_filtered").
DEFAULT_BLOCKED_TERMS = ("naked", "nude", "nudity", "topless", "bottomless", "undressed", "nsfw", "see-through")
QUANTIZATIONS = ("none", "fp8")


class SettingsError(ValueError):
    """A setting has a value the server cannot run with."""


@dataclass(frozen=True)
class ServerSettings:
    model_dir: Path = Path("/opt/ml/model")
    host: str = "0.0.0.0"  # noqa: S104 - SageMaker reaches the container on its own network
    port: int = 8080
    device: str = "auto"
    lora_path: Path | None = None
    default_steps: int = BASE_STEPS
    max_steps: int = BASE_MAX_STEPS
    true_cfg_scale: float = BASE_TRUE_CFG_SCALE
    output_pixels: int = 1024 * 1024
    quantization: str = "none"
    max_body_bytes: int = 8 * 1024 * 1024
    max_input_pixels: int = 40_000_000
    blocked_terms: tuple[str, ...] = DEFAULT_BLOCKED_TERMS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, model_dir: Path | None = None) -> ServerSettings:
        """``model_dir`` (the ``--model-dir`` option) wins over TRYON_MODEL_DIR; a relative
        TRYON_LORA_PATH is inside the model directory."""
        env = os.environ if env is None else env

        def text(name: str, default: str) -> str:
            return env.get(name, "").strip() or default

        def integer(name: str, default: int, low: int, high: int) -> int:
            raw = text(name, str(default))
            try:
                value = int(raw)
            except ValueError:
                raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
            if not low <= value <= high:
                raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
            return value

        model_dir = model_dir or Path(text("TRYON_MODEL_DIR", text("SM_MODEL_DIR", "/opt/ml/model")))
        lora = text("TRYON_LORA_PATH", "")
        lora_path = None
        if lora:
            lora_path = Path(lora) if Path(lora).is_absolute() else model_dir / lora
        distilled = lora_path is not None
        steps_default = LIGHTNING_STEPS if distilled else BASE_STEPS
        cfg_default = LIGHTNING_TRUE_CFG_SCALE if lora_path else BASE_TRUE_CFG_SCALE
        raw_cfg = text("TRYON_TRUE_CFG_SCALE", str(cfg_default))
        try:
            true_cfg_scale = float(raw_cfg)
        except ValueError:
            raise SettingsError(f"TRYON_TRUE_CFG_SCALE must be a number, got {raw_cfg!r}") from None
        quantization = text("TRYON_QUANTIZATION", "none").lower()
        if quantization not in QUANTIZATIONS:
            raise SettingsError(f"TRYON_QUANTIZATION must be one of {', '.join(QUANTIZATIONS)}, got {quantization!r}")
        device = text("TRYON_DEVICE", "auto").lower()
        if device not in ("auto", "cpu", "cuda"):
            raise SettingsError(f"TRYON_DEVICE must be auto, cpu or cuda, got {device!r}")
        blocked = env.get("TRYON_BLOCKED_TERMS")
        blocked_terms = (
            DEFAULT_BLOCKED_TERMS
            if blocked is None
            else tuple(term.strip().lower() for term in blocked.split(",") if term.strip())
        )
        if distilled:
            # The distilled step count: every request runs exactly these steps.
            default_steps = integer("TRYON_DEFAULT_STEPS", steps_default, 1, LIGHTNING_MAX_STEPS)
            max_steps = default_steps
        else:
            max_steps = integer("TRYON_MAX_STEPS", BASE_MAX_STEPS, BASE_MIN_STEPS, 100)
            default_steps = integer("TRYON_DEFAULT_STEPS", steps_default, BASE_MIN_STEPS, max_steps)
        return cls(
            model_dir=model_dir,
            host=text("TRYON_MODEL_HOST", "0.0.0.0"),  # noqa: S104
            port=integer("SAGEMAKER_BIND_TO_PORT", integer("TRYON_MODEL_PORT", 8080, 1, 65535), 1, 65535),
            device=device,
            lora_path=lora_path,
            default_steps=default_steps,
            max_steps=max_steps,
            true_cfg_scale=true_cfg_scale,
            output_pixels=integer("TRYON_OUTPUT_PIXELS", 1024 * 1024, 64 * 64, 4096 * 4096),
            quantization=quantization,
            max_body_bytes=integer("TRYON_MAX_BODY_BYTES", 8 * 1024 * 1024, 1024, 1024**3),
            blocked_terms=blocked_terms,
        )

    @property
    def distilled(self) -> bool:
        """A few-step LoRA is fused into the transformer."""
        return self.lora_path is not None

    def steps_for(self, requested: int | None) -> int:
        """The steps a request runs: a distilled model's are fixed at its distilled count; the base
        model runs what was asked (or the default), clamped to [BASE_MIN_STEPS, ``max_steps``]."""
        if self.distilled or requested is None:
            return self.default_steps
        return max(BASE_MIN_STEPS, min(requested, self.max_steps))

    def with_overrides(self, **changes: object) -> ServerSettings:
        return replace(self, **changes)  # type: ignore[arg-type]

"""The server's configuration: read once from the environment, typed and checked at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from tryon_model_server.families import DEFAULT_FAMILY, FamilyError, get_family, resolve_family

# Requests that undress a person are refused (finish_reason "content_filtered").
DEFAULT_BLOCKED_TERMS = ("naked", "nude", "nudity", "topless", "bottomless", "undressed", "nsfw", "see-through")
QUANTIZATIONS = ("none", "fp8")


class SettingsError(ValueError):
    """A setting has a value the server cannot run with."""


# The garment reference's area for families whose pipeline takes it as given (TRYON_GARMENT_PIXELS):
# a 1 MP reference costs as many tokens as a 1 MP result; 0.25 MP a quarter (make model-plan).
DEFAULT_GARMENT_PIXELS = 1024 * 1024
# The smallest: any garment photo within the 8:1 limit keeps 64 px on its short side at this area.
MIN_GARMENT_PIXELS = 256 * 256


@dataclass(frozen=True)
class ServerSettings:
    model_dir: Path = Path("/opt/ml/model")
    family: str = DEFAULT_FAMILY
    host: str = "0.0.0.0"  # noqa: S104 - SageMaker reaches the container on its own network
    port: int = 8080
    device: str = "auto"
    lora_path: Path | None = None
    distilled: bool = False  # fixed steps: a step-distilled family, or a few-step LoRA fused
    default_steps: int = 40
    min_steps: int = 2
    max_steps: int = 50
    true_cfg_scale: float = 4.0
    output_pixels: int = 1024 * 1024
    garment_pixels: int = DEFAULT_GARMENT_PIXELS
    min_image_side: int = 16
    max_image_aspect: float | None = None
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
        try:
            family_name = resolve_family(env.get("TRYON_MODEL_FAMILY", "").strip() or None, model_dir)
        except FamilyError as exc:
            raise SettingsError(str(exc)) from None
        family = get_family(family_name)
        lora = text("TRYON_LORA_PATH", "")
        lora_path = None
        if lora:
            if not family.accepts_lora:
                raise SettingsError(f"TRYON_LORA_PATH: {family_name} is step-distilled already and takes no LoRA")
            lora_path = Path(lora) if Path(lora).is_absolute() else model_dir / lora
        distilled = family.base is None or lora_path is not None
        cfg_default = family.distilled.guidance if distilled else family.base.guidance  # type: ignore[union-attr]
        raw_cfg = text("TRYON_TRUE_CFG_SCALE", str(cfg_default))
        try:
            true_cfg_scale = float(raw_cfg)
        except ValueError:
            raise SettingsError(f"TRYON_TRUE_CFG_SCALE must be a number, got {raw_cfg!r}") from None
        if family.base is None and true_cfg_scale != family.distilled.guidance:
            raise SettingsError(f"TRYON_TRUE_CFG_SCALE: {family_name} is step-distilled and runs without guidance")
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
        if "TRYON_GARMENT_PIXELS" in env and not family.uses_garment_pixels:
            raise SettingsError(
                f"TRYON_GARMENT_PIXELS: {family_name}'s pipeline sizes every photo itself (about 1 MP); leave it unset"
            )
        if distilled:
            # The distilled step count: every request runs exactly these steps.
            default_steps = integer("TRYON_DEFAULT_STEPS", family.distilled.default, 1, family.distilled.maximum)
            min_steps = max_steps = default_steps
        else:
            base = family.base
            assert base is not None
            min_steps = base.minimum
            max_steps = integer("TRYON_MAX_STEPS", base.maximum, base.minimum, 100)
            default_steps = integer("TRYON_DEFAULT_STEPS", base.default, base.minimum, max_steps)
        return cls(
            model_dir=model_dir,
            family=family_name,
            host=text("TRYON_MODEL_HOST", "0.0.0.0"),  # noqa: S104
            port=integer("SAGEMAKER_BIND_TO_PORT", integer("TRYON_MODEL_PORT", 8080, 1, 65535), 1, 65535),
            device=device,
            lora_path=lora_path,
            distilled=distilled,
            default_steps=default_steps,
            min_steps=min_steps,
            max_steps=max_steps,
            true_cfg_scale=true_cfg_scale,
            output_pixels=integer("TRYON_OUTPUT_PIXELS", 1024 * 1024, 64 * 64, 4096 * 4096),
            garment_pixels=integer("TRYON_GARMENT_PIXELS", DEFAULT_GARMENT_PIXELS, MIN_GARMENT_PIXELS, 1024 * 1024),
            min_image_side=family.limits.min_side,
            max_image_aspect=family.limits.max_aspect,
            quantization=quantization,
            max_body_bytes=integer("TRYON_MAX_BODY_BYTES", 8 * 1024 * 1024, 1024, 1024**3),
            blocked_terms=blocked_terms,
        )

    def steps_for(self, requested: int | None) -> int:
        """The steps a request runs: a distilled model's are fixed at its distilled count; the base
        model runs what was asked (or the default), clamped to [``min_steps``, ``max_steps``]."""
        if self.distilled or requested is None:
            return self.default_steps
        return max(self.min_steps, min(requested, self.max_steps))

    def with_overrides(self, **changes: object) -> ServerSettings:
        return replace(self, **changes)  # type: ignore[arg-type]

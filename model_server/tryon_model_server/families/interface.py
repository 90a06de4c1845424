"""What a model family owns: how it loads, how it is called, its prompt, its steps and its input
limits, its tiny offline model, and its share of the capacity plan and the benchmark.

The server, the settings, the scripts and the plan see a family only through this interface;
each family's classes are named in its own adapter module and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PIL import Image

    from tryon_model_server.contract import TryOnRequest
    from tryon_model_server.planning import Components, RequestFlops, RequestShape
    from tryon_model_server.prompts import EditPrompt
    from tryon_model_server.settings import ServerSettings


@dataclass(frozen=True)
class BaseSteps:
    """A model run undistilled: the steps a request may ask for, and its guidance."""

    default: int
    minimum: int
    maximum: int
    guidance: float


@dataclass(frozen=True)
class DistilledSteps:
    """A step-distilled model: every request runs ``default`` steps (configurable up to ``maximum``)."""

    default: int
    maximum: int
    guidance: float = 1.0


@dataclass(frozen=True)
class InputLimits:
    """What the family's pipeline accepts as an input photo; the contract refuses the rest as a 400."""

    min_side: int
    max_aspect: float | None = None  # long side over short side; None: any


class ModelFamily(Protocol):
    name: str  # the TRYON_MODEL_FAMILY value and the weights' S3 prefix
    pipeline_class: str  # model_index.json's _class_name of the published repository
    display_name: str
    base: BaseSteps | None  # None: served step-distilled only
    distilled: DistilledSteps
    accepts_lora: bool  # a few-step LoRA (TRYON_LORA_PATH) is how this family gets distilled
    uses_garment_pixels: bool  # TRYON_GARMENT_PIXELS sizes the garment reference
    limits: InputLimits
    fp8_keep: frozenset[str]  # linear layers left in bf16 when quantizing

    def check_model_index(self, index: dict[str, Any]) -> str | None:
        """Why this model directory cannot be served by the family, or None."""

    def import_classes(self) -> None:
        """Import the family's pipeline classes (the libraries' lazy modules resolve them on use)."""

    def load_pipeline(self, settings: ServerSettings, device: str) -> Any: ...

    def generate(self, pipe: Any, request: TryOnRequest, settings: ServerSettings, device: str) -> Image.Image: ...

    def prompt(
        self, description: str, mode: str, has_garment_image: bool, garment_category: str = "auto"
    ) -> EditPrompt: ...

    def build_tiny_pipeline(self, seed: int = 0) -> Any: ...

    def save_model_directory(self, pipe: Any, directory: Path, note: dict[str, object]) -> Path: ...

    # --- the capacity plan (make model-plan): meta-device components and FLOPs per request
    def request_shapes(self) -> tuple[RequestShape, ...]: ...

    def meta_components(self, architecture: dict[str, Any], transformer_blocks: int | None = None) -> Components: ...

    def request_flops(self, shape: RequestShape, components: Components) -> RequestFlops: ...

    def realtime_shape(self, with_lora: bool) -> RequestShape:
        """The worst request a real-time endpoint must answer (1 MP with a garment photo)."""

    # --- the benchmark (make model-bench): full-size random weights made on the device
    def random_pipeline(self, architecture: dict[str, Any], device: str, dtype: Any, quantization: str) -> Any: ...

    def bench_settings(self, steps: int | None) -> list[tuple[str, int, float]]:
        """(label, steps, guidance) settings to time; ``steps`` overrides the base model's default."""

    def bench_call(self, pipe: Any, person: Image.Image, garment: Image.Image, setting: tuple[str, int, float],
                   size: int, seed: int) -> None: ...  # fmt: skip

    bench_tiny_overrides: dict[str, dict[str, Any]]  # --tiny-on-cpu: every size cut down

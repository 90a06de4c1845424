"""A capacity plan for every model family, built from its published configurations, with no weights.

Each family's transformer, text encoder and VAE are built on PyTorch's meta device from
``architectures/<family>.json``: their parameters are counted, and one request's FLOPs are counted
by running their real forward code under ``torch.utils.flop_counter.FlopCounterMode`` (meta
tensors carry shapes, so nothing is computed). Token counts come from each pipeline's own
constants, in the family's adapter (``tryon_model_server/families/``). Everything that needs a GPU
(utilisation, activation memory) is an assumption, named where it is used; ``make model-bench``
measures it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from tryon_model_server.families import FAMILY_NAMES, get_family
from tryon_model_server.families.interface import ModelFamily
from tryon_model_server.planning import Components, RequestFlops, RequestShape, parameter_count

PLAN_DIR = Path(__file__).resolve().parent
ARCHITECTURES = PLAN_DIR / "architectures"
INSTANCES = PLAN_DIR / "instances.json"

# SageMaker: a real-time InvokeEndpoint must answer within 60 s. The model gets 45 of them: the
# rest is for the body's transfer, decoding and encoding the images, and run-to-run variance (assumption).
REALTIME_LIMIT_SECONDS = 60.0
REALTIME_MODEL_BUDGET_SECONDS = 45.0
# Assumptions that only a GPU can check (make model-bench), kept here once.
ACTIVATION_RESERVE_GB = 6.0  # CUDA context, attention/MLP activations and the VAE decode at 1 MP
HOST_RESERVE_GIB = 8.0  # the OS, Python, torch and the server beside the largest component
DTYPE_BYTES = {"bf16": 2, "fp8": 1}
GB = 1e9
GIB = 2**30


def load_architecture(family: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ARCHITECTURES / f"{family}.json").read_text())
    return loaded


def load_instances() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(INSTANCES.read_text())
    return loaded


@cache
def published_components(family: str) -> Components:
    return get_family(family).meta_components(load_architecture(family))


def weight_bytes(module: Any, precision: str) -> int:
    """bf16: 2 bytes a parameter. fp8: every ``nn.Linear`` weight at 1 byte plus one fp32 scale per
    output row (what per-row fp8 quantization stores); biases, norms, embeddings and convolutions stay bf16."""
    from torch import nn

    if precision == "bf16":
        return parameter_count(module) * DTYPE_BYTES["bf16"]
    total = 0
    for submodule in module.modules():
        for name, parameter in submodule.named_parameters(recurse=False):
            if isinstance(submodule, nn.Linear) and name == "weight":
                total += parameter.numel() * DTYPE_BYTES["fp8"] + parameter.shape[0] * 4
            else:
                total += parameter.numel() * DTYPE_BYTES["bf16"]
    return total


@cache
def request_flops(family: str, shape: RequestShape) -> RequestFlops:
    return get_family(family).request_flops(shape, published_components(family))


# --- memory, time and cost per instance ------------------------------------------------------------


@dataclass(frozen=True)
class ComponentSizes:
    parameters: dict[str, int]
    bytes_bf16: dict[str, int]
    bytes_fp8: dict[str, int]

    def gpu_bytes(self, precision: str) -> int:
        """The server quantizes the transformer only; the text encoder and the VAE stay bf16."""
        transformer = self.bytes_fp8["transformer"] if precision == "fp8" else self.bytes_bf16["transformer"]
        return transformer + self.bytes_bf16["text_encoder"] + self.bytes_bf16["vae"]

    def host_peak_bytes(self) -> int:
        """Loading component by component straight to the GPU: the largest one in bf16 at a time."""
        return max(self.bytes_bf16.values())


def sizes_of(components: Components) -> ComponentSizes:
    modules = {"transformer": components.transformer, "text_encoder": components.text_encoder, "vae": components.vae}
    return ComponentSizes(
        parameters={name: parameter_count(module) for name, module in modules.items()},
        bytes_bf16={name: weight_bytes(module, "bf16") for name, module in modules.items()},
        bytes_fp8={name: weight_bytes(module, "fp8") for name, module in modules.items()},
    )


@cache
def component_sizes(family: str) -> ComponentSizes:
    return sizes_of(published_components(family))


@dataclass(frozen=True)
class InstanceEstimate:
    instance: str
    gpu: str
    shape: RequestShape
    fits_gpu_bf16: bool
    fits_gpu_fp8: bool
    fits_host: bool
    seconds_at_bf16_peak: float
    seconds_at_fp8_peak: float | None  # None: the GPU has no fp8 tensor cores
    seconds_at_utilisation: float  # bf16 compute: weight-only fp8 dequantizes and multiplies in bf16
    usd_per_hour: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def usd_per_image(self) -> float | None:
        if self.usd_per_hour is None:
            return None
        return self.usd_per_hour * self.seconds_at_utilisation / 3600

    def fits(self, precision: str) -> bool:
        return (self.fits_gpu_fp8 if precision == "fp8" else self.fits_gpu_bf16) and self.fits_host

    @property
    def answers_in_realtime(self) -> bool:
        """Fits the GPU and the host, and the model's part fits SageMaker's 60 s at the stated utilisation."""
        return self.answers_in_realtime_with("fp8") or self.answers_in_realtime_with("bf16")

    def answers_in_realtime_with(self, precision: str) -> bool:
        return self.fits(precision) and self.seconds_at_utilisation <= REALTIME_MODEL_BUDGET_SECONDS


def estimate(
    instance_name: str, flops: RequestFlops, sizes: ComponentSizes, catalogue: dict[str, Any] | None = None
) -> InstanceEstimate:
    catalogue = catalogue or load_instances()
    instance = catalogue["instances"][instance_name]
    gpu = catalogue["gpus"][instance["gpu"]]
    utilisation = catalogue["utilisation"]["fraction_of_dense_peak"]
    gpu_memory = gpu["memory_gb"] * GB
    reserve = ACTIVATION_RESERVE_GB * GB
    bf16_peak = gpu["bf16_dense_tflops"] * 1e12
    fp8_peak = gpu["fp8_dense_tflops"] * 1e12 if gpu["fp8_dense_tflops"] else None
    other = flops.text_encoder + flops.vae
    at_bf16_peak = flops.total / bf16_peak
    return InstanceEstimate(
        instance=instance_name,
        gpu=instance["gpu"],
        shape=flops.shape,
        fits_gpu_bf16=sizes.gpu_bytes("bf16") + reserve <= gpu_memory,
        fits_gpu_fp8=sizes.gpu_bytes("fp8") + reserve <= gpu_memory,
        fits_host=sizes.host_peak_bytes() + HOST_RESERVE_GIB * GIB <= instance["host_memory_gib"] * GIB,
        seconds_at_bf16_peak=at_bf16_peak,
        seconds_at_fp8_peak=(flops.transformer / fp8_peak + other / bf16_peak) if fp8_peak else None,
        seconds_at_utilisation=at_bf16_peak / utilisation,
        usd_per_hour=instance["usd_per_hour"],
    )


Plan = tuple[ComponentSizes, list[RequestFlops], list[InstanceEstimate]]


def plan(family: str, shapes: Iterable[RequestShape] | None = None) -> Plan:
    catalogue = load_instances()
    sizes = component_sizes(family)
    requests = [request_flops(family, shape) for shape in (shapes or get_family(family).request_shapes())]
    estimates = [estimate(name, flops, sizes, catalogue) for flops in requests for name in catalogue["instances"]]
    return sizes, requests, estimates


def realtime_estimate(family: str, instance: str, with_lora: bool = True) -> InstanceEstimate:
    """The worst request a real-time endpoint of ``family`` must answer (1 MP with a garment photo;
    Qwen with the few-step LoRA or its base model), on ``instance``."""
    shape = get_family(family).realtime_shape(with_lora)
    return estimate(instance, request_flops(family, shape), component_sizes(family))


@dataclass(frozen=True)
class Choice:
    family: str
    instance: str
    precision: str
    estimate: InstanceEstimate


def cheapest_realtime(instances: Iterable[str], families: Iterable[str] = FAMILY_NAMES) -> Choice:
    """The family, instance and precision that answer the worst real-time request within the budget
    at the lowest price per hour (ties: the faster one; bf16 before fp8 at the same price and time)."""
    options = []
    for family in families:
        for instance in instances:
            row = realtime_estimate(family, instance)
            for precision in ("bf16", "fp8"):
                if row.answers_in_realtime_with(precision) and row.usd_per_hour is not None:
                    options.append(
                        (row.usd_per_hour, row.seconds_at_utilisation, Choice(family, instance, precision, row))
                    )
    if not options:
        raise ValueError("no family answers in real time on these instances")
    return min(options, key=lambda option: (option[0], option[1]))[2]


# --- the printed table -----------------------------------------------------------------------------


def _yes(value: bool) -> str:
    return "yes" if value else "NO"


def _money(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"${value:.{digits}f}"


def render(
    family: ModelFamily, sizes: ComponentSizes, requests: list[RequestFlops], estimates: list[InstanceEstimate]
) -> str:
    catalogue = load_instances()
    lines = [
        f"{family.display_name} ({family.name}) capacity plan: "
        "ESTIMATES from the published configurations, not measured",
        "",
    ]
    lines.append(f"{'component':<14}{'parameters':>14}{'bf16 GB':>10}{'fp8 GB':>10}")
    for name, count in sizes.parameters.items():
        lines.append(
            f"{name:<14}{count / 1e9:>12.3f} B{sizes.bytes_bf16[name] / GB:>10.2f}{sizes.bytes_fp8[name] / GB:>10.2f}"
        )
    lines.append(
        f"{'GPU weights':<14}{'':>14}{sizes.gpu_bytes('bf16') / GB:>10.2f}{sizes.gpu_bytes('fp8') / GB:>10.2f}"
        "   (fp8: the transformer only)"
    )
    lines.append(
        f"host peak while loading component by component: {sizes.host_peak_bytes() / GIB:.1f} GiB + "
        f"{HOST_RESERVE_GIB:.0f} GiB reserve (assumption)"
    )
    lines.append(f"GPU activation reserve: {ACTIVATION_RESERVE_GB:.0f} GB (assumption, not measured)")
    lines.append("")
    lines.append(
        f"{'request':<40}{'passes':>7}{'img tokens':>11}{'transformer':>13}{'text enc':>10}{'VAE':>8}"
        f"{'total':>9}  (TFLOP)"
    )
    for flops in requests:
        lines.append(
            f"{flops.shape.name:<40}{flops.shape.transformer_passes:>7}{flops.image_tokens:>11}"
            f"{flops.transformer / 1e12:>13.1f}{flops.text_encoder / 1e12:>10.1f}{flops.vae / 1e12:>8.1f}"
            f"{flops.total / 1e12:>9.1f}"
        )
    lines.append("img tokens: the result's plus each reference photo's, in every transformer pass (16 px a token)")
    utilisation = catalogue["utilisation"]
    lines.append("")
    lines.append(
        f"seconds at {utilisation['fraction_of_dense_peak']:.0%} of the dense bf16 peak: {utilisation['source']}"
    )
    lines.append(
        f"real-time: fits GPU and host, and <= {REALTIME_MODEL_BUDGET_SECONDS:.0f} s at that utilisation "
        f"(of SageMaker's {REALTIME_LIMIT_SECONDS:.0f} s InvokeEndpoint limit; the rest for transfer and image coding)"
    )
    header = (
        f"{'request':<40}{'instance':<18}{'GPU':<10}{'GPU bf16':>9}{'GPU fp8':>8}{'host':>6}"
        f"{'s@bf16pk':>10}{'s@fp8pk':>9}{'s@util':>8}{'$/hour':>9}{'$/image':>9}{'real-time':>11}"
    )
    current = None
    for row in estimates:
        if row.shape != current:
            lines += ["", header]
            current = row.shape
        fp8 = "-" if row.seconds_at_fp8_peak is None else f"{row.seconds_at_fp8_peak:.1f}"
        lines.append(
            f"{row.shape.name:<40}{row.instance:<18}{row.gpu:<10}{_yes(row.fits_gpu_bf16):>9}{_yes(row.fits_gpu_fp8):>8}"
            f"{_yes(row.fits_host):>6}{row.seconds_at_bf16_peak:>10.1f}{fp8:>9}{row.seconds_at_utilisation:>8.1f}"
            f"{_money(row.usd_per_hour, 2):>9}{_money(row.usd_per_image, 4):>9}{_yes(row.answers_in_realtime):>11}"
        )
    return "\n".join(lines)


def render_sources() -> str:
    catalogue = load_instances()
    lines = ["GPU peaks (dense) and prices, with their sources:"]
    for name, gpu in catalogue["gpus"].items():
        lines.append(f"  {name}: {gpu['source']}")
    for name, instance in catalogue["instances"].items():
        lines.append(f"  {name}: {_money(instance['usd_per_hour'], 3)}/h, {instance['price_source']}")
    lines.append(
        "One model copy per instance (the server uses one GPU); $/image assumes the instance is busy all the time."
    )
    return "\n".join(lines)


def render_choice(instances: Iterable[str]) -> str:
    instances = list(instances)
    lines = ["Choosing (ESTIMATES): per family, the cheapest instance answering 1 MP + garment within the budget"]
    for name in FAMILY_NAMES:
        try:
            choice = cheapest_realtime(instances, [name])
        except ValueError:
            lines.append(f"  {name}: none of the stack's instance types")
            continue
        row = choice.estimate
        lines.append(
            f"  {name}: {choice.instance} ({row.gpu}, {choice.precision}) {row.seconds_at_utilisation:.1f} s, "
            f"{_money(row.usd_per_hour, 2)}/h, {_money(row.usd_per_image, 4)}/image"
        )
    best = cheapest_realtime(instances)
    lines.append(f"  default for a new model stack: ModelFamily={best.family} InstanceType={best.instance}")
    return "\n".join(lines)

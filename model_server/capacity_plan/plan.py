"""A capacity plan for Qwen-Image-Edit-2511 built from its published configurations, with no weights.

The transformer, text encoder and VAE are built on PyTorch's meta device from
``architecture.json``: their parameters are counted, and one request's FLOPs are counted by
running their real forward code under ``torch.utils.flop_counter.FlopCounterMode`` (meta tensors
carry shapes, so nothing is computed). Token counts come from the pipeline's own constants
(``CONDITION_IMAGE_SIZE``, ``VAE_IMAGE_SIZE``, ``calculate_dimensions``) and the processor's
``smart_resize``. Everything that needs a GPU (utilisation, activation memory) is an assumption,
named where it is used; ``make model-bench`` measures it.
"""

from __future__ import annotations

import json
import math
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

PLAN_DIR = Path(__file__).resolve().parent
ARCHITECTURE = PLAN_DIR / "architecture.json"
INSTANCES = PLAN_DIR / "instances.json"

# SageMaker: a real-time InvokeEndpoint must answer within 60 s. The model gets 45 of them: the
# rest is for the body's transfer, decoding and encoding the images, and run-to-run variance (assumption).
REALTIME_LIMIT_SECONDS = 60.0
REALTIME_MODEL_BUDGET_SECONDS = 45.0
# Assumptions that only a GPU can check (make model-bench), kept here once.
ACTIVATION_RESERVE_GB = 6.0  # CUDA context, attention/MLP activations and the VAE decode at 1 MP
HOST_RESERVE_GIB = 8.0  # the OS, Python, torch and the server beside the largest component
BYTES_PER_PROMPT_TOKEN = 4  # English text in a byte-level BPE: about 4 characters a token
DTYPE_BYTES = {"bf16": 2, "fp8": 1}


@dataclass(frozen=True)
class RequestShape:
    """One request as the server runs it: the few-step LoRA or the base model, at one output size."""

    name: str
    steps: int
    true_cfg: bool
    output_pixels: int
    garment_image: bool

    @property
    def transformer_passes(self) -> int:
        return self.steps * (2 if self.true_cfg else 1)


# The server's two model setups (TRYON_LORA_PATH set or not) at 1 MP and 0.5 MP, with and without
# the garment photo. 4 steps without CFG: the Lightning LoRA; 40 steps with true CFG: the base model.
REQUEST_SHAPES = (
    RequestShape("lora-4-steps 1MP +garment", 4, False, 1024 * 1024, True),
    RequestShape("lora-4-steps 1MP text-only", 4, False, 1024 * 1024, False),
    RequestShape("lora-4-steps 0.5MP +garment", 4, False, 512 * 1024, True),
    RequestShape("base-40-steps-cfg 1MP +garment", 40, True, 1024 * 1024, True),
    RequestShape("base-40-steps-cfg 1MP text-only", 40, True, 1024 * 1024, False),
    RequestShape("base-40-steps-cfg 0.5MP +garment", 40, True, 512 * 1024, True),
)


def load_architecture() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(ARCHITECTURE.read_text())
    return loaded


def load_instances() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(INSTANCES.read_text())
    return loaded


def build_transformer(num_layers: int | None = None) -> nn.Module:
    """The published transformer on the meta device; ``num_layers`` shortens it for the tests."""
    from diffusers import QwenImageTransformer2DModel

    config = dict(load_architecture()["transformer"]["config"])
    if num_layers is not None:
        config["num_layers"] = num_layers
    with torch.device("meta"):
        return QwenImageTransformer2DModel.from_config(config).to(torch.bfloat16).eval()


def build_text_encoder() -> nn.Module:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    config = Qwen2_5_VLConfig(**load_architecture()["text_encoder"]["config"])
    with torch.device("meta"):
        return Qwen2_5_VLForConditionalGeneration(config).to(torch.bfloat16).eval()


def build_vae() -> nn.Module:
    from diffusers import AutoencoderKLQwenImage

    with torch.device("meta"):
        return AutoencoderKLQwenImage(**load_architecture()["vae"]["config"]).to(torch.bfloat16).eval()


def parameter_count(module: nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def weight_bytes(module: nn.Module, precision: str) -> int:
    """bf16: 2 bytes a parameter. fp8: every ``nn.Linear`` weight at 1 byte plus one fp32 scale per
    output row (what per-row fp8 quantization stores); biases, norms, embeddings and convolutions stay bf16."""
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


# --- tokens, from the pipeline's and the processor's own constants ---------------------------------


def output_latent_grid(output_pixels: int) -> tuple[int, int]:
    """(height, width) in transformer tokens of a square result of ``output_pixels``."""
    from diffusers.pipelines.qwenimage.pipeline_qwenimage_edit_plus import calculate_dimensions

    width, height = calculate_dimensions(output_pixels, 1.0)
    return height // 16, width // 16  # VAE /8, then 2x2 patches


def reference_latent_grid() -> tuple[int, int]:
    """Each input photo goes to the VAE at VAE_IMAGE_SIZE, whatever the output size."""
    from diffusers.pipelines.qwenimage.pipeline_qwenimage_edit_plus import VAE_IMAGE_SIZE, calculate_dimensions

    width, height = calculate_dimensions(VAE_IMAGE_SIZE, 1.0)
    return height // 16, width // 16


def vision_patches_per_image() -> int:
    """Patches the vision tower sees for one input photo (resized to CONDITION_IMAGE_SIZE, then to 28s)."""
    from diffusers.pipelines.qwenimage.pipeline_qwenimage_edit_plus import CONDITION_IMAGE_SIZE, calculate_dimensions
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    width, height = calculate_dimensions(CONDITION_IMAGE_SIZE, 1.0)
    height, width = smart_resize(height, width)
    return (height // 14) * (width // 14)


def prompt_tokens(text: str) -> int:
    return math.ceil(len(text.encode()) / BYTES_PER_PROMPT_TOKEN)


@dataclass(frozen=True)
class TextTokens:
    encoder: int  # what the text encoder reads
    transformer: int  # what reaches the transformer (the system prompt is dropped)


def text_tokens(prompt: str, images: int) -> TextTokens:
    """The pipeline's prompt template: a system prompt (dropped after encoding), 'Picture N:' with
    the image's merged vision tokens per photo, the prompt, and the chat markers."""
    system_tokens = 64  # QwenImageEditPlusPipeline.prompt_template_encode_start_idx
    per_image = vision_patches_per_image() // 4 + 8  # 2x2 merge; 'Picture N: ' and the vision markers
    chat_markers = 8
    encoder = system_tokens + images * per_image + prompt_tokens(prompt) + chat_markers
    return TextTokens(encoder=encoder, transformer=encoder - system_tokens)


# --- FLOPs ---------------------------------------------------------------------------------------


def counted_flops(run: Any) -> int:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        run()
    return int(counter.get_total_flops())


_PASS_FLOPS: weakref.WeakKeyDictionary[nn.Module, dict[tuple[tuple[int, int], int, int], int]] = (
    weakref.WeakKeyDictionary()
)


def transformer_pass_flops(
    transformer: nn.Module, output_grid: tuple[int, int], references: int, text_length: int
) -> int:
    """One forward of the transformer: the noisy latent plus each reference photo's latent, and the
    text. Counted once per model and shape (the plan's requests share shapes)."""
    counts = _PASS_FLOPS.setdefault(transformer, {})
    key = (output_grid, references, text_length)
    if key not in counts:
        counts[key] = count_transformer_pass(transformer, output_grid, references, text_length)
    return counts[key]


def count_transformer_pass(
    transformer: nn.Module, output_grid: tuple[int, int], references: int, text_length: int
) -> int:
    reference_grid = reference_latent_grid()
    shapes = [(1, *output_grid)] + [(1, *reference_grid)] * references
    image_tokens = sum(frames * height * width for frames, height, width in shapes)
    in_channels = transformer.config.in_channels
    with torch.device("meta"):
        hidden = torch.empty(1, image_tokens, in_channels, dtype=torch.bfloat16)
        text = torch.empty(1, text_length, transformer.config.joint_attention_dim, dtype=torch.bfloat16)
        mask = torch.ones(1, text_length, dtype=torch.bool)
        timestep = torch.empty(1, dtype=torch.bfloat16)
    return counted_flops(
        lambda: transformer(
            hidden_states=hidden,
            encoder_hidden_states=text,
            encoder_hidden_states_mask=mask,
            timestep=timestep,
            img_shapes=[shapes],
            return_dict=False,
        )
    )


def denoise_flops(
    transformer: nn.Module,
    shape: RequestShape,
    prompt: TextTokens,
    negative: TextTokens,
    *,
    steps_counted: int = 1,
) -> int:
    """The denoising loop: ``steps_counted`` steps run under the counter (each one pass, or two with
    true CFG as the pipeline does: one with the prompt, one with the negative prompt), scaled to
    ``shape.steps``. Every step has the same shapes, which the tests check by counting all of them
    (then every pass is counted afresh, not read from the per-shape memo)."""
    references = 2 if shape.garment_image else 1
    grid = output_latent_grid(shape.output_pixels)
    count = transformer_pass_flops if steps_counted == 1 else count_transformer_pass
    counted = 0
    for _ in range(steps_counted):
        counted += count(transformer, grid, references, prompt.transformer)
        if shape.true_cfg:
            counted += count(transformer, grid, references, negative.transformer)
    return counted * shape.steps // steps_counted


def text_encoder_flops(text_encoder: nn.Module, tokens: TextTokens, images: int) -> int:
    """The language model counted on meta at the encoder's length. The vision tower's window
    indexing needs real grid values, so it is estimated: 2 FLOPs per parameter per patch (its
    attention, over at most a few hundred patches a window, is left out: under 10%)."""
    language_model = text_encoder.model.language_model
    width = language_model.config.hidden_size
    with torch.device("meta"):
        embeddings = torch.empty(1, tokens.encoder, width, dtype=torch.bfloat16)
        positions = torch.zeros(3, 1, tokens.encoder, dtype=torch.long)
    language = counted_flops(lambda: language_model(inputs_embeds=embeddings, position_ids=positions))
    vision = 2 * parameter_count(text_encoder.model.visual) * vision_patches_per_image() * images
    return language + vision


def vae_flops(vae: nn.Module, shape: RequestShape) -> int:
    """Encoding each photo at VAE_IMAGE_SIZE and decoding the result."""
    reference = reference_latent_grid()
    output = output_latent_grid(shape.output_pixels)
    references = 2 if shape.garment_image else 1
    z_dim = vae.config.z_dim
    with torch.device("meta"):
        photo = torch.empty(1, 3, 1, reference[0] * 16, reference[1] * 16, dtype=torch.bfloat16)
        latent = torch.empty(1, z_dim, 1, output[0] * 2, output[1] * 2, dtype=torch.bfloat16)
    return references * counted_flops(lambda: vae.encode(photo)) + counted_flops(lambda: vae.decode(latent))


@dataclass(frozen=True)
class Components:
    transformer: nn.Module
    text_encoder: nn.Module
    vae: nn.Module


@cache
def published_components() -> Components:
    return Components(build_transformer(), build_text_encoder(), build_vae())


@dataclass(frozen=True)
class RequestFlops:
    shape: RequestShape
    transformer: int
    text_encoder: int
    vae: int

    @property
    def total(self) -> int:
        return self.transformer + self.text_encoder + self.vae


def request_prompts(shape: RequestShape) -> tuple[TextTokens, TextTokens]:
    """The server's own prompt for this case (tryon_model_server.prompts) and its negative prompt."""
    from tryon_model_server.prompts import tryon_prompt

    prompt = tryon_prompt("a red hooded sweatshirt with a white logo", "studio", shape.garment_image)
    images = 2 if shape.garment_image else 1
    return text_tokens(prompt.prompt, images), text_tokens(prompt.negative_prompt, images)


def request_flops(shape: RequestShape, components: Components | None = None) -> RequestFlops:
    components = components or published_components()
    prompt, negative = request_prompts(shape)
    images = 2 if shape.garment_image else 1
    encoder = text_encoder_flops(components.text_encoder, prompt, images)
    if shape.true_cfg:
        encoder += text_encoder_flops(components.text_encoder, negative, images)
    return RequestFlops(
        shape=shape,
        transformer=denoise_flops(components.transformer, shape, prompt, negative),
        text_encoder=encoder,
        vae=vae_flops(components.vae, shape),
    )


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


def component_sizes(components: Components | None = None) -> ComponentSizes:
    components = components or published_components()
    modules = {"transformer": components.transformer, "text_encoder": components.text_encoder, "vae": components.vae}
    return ComponentSizes(
        parameters={name: parameter_count(module) for name, module in modules.items()},
        bytes_bf16={name: weight_bytes(module, "bf16") for name, module in modules.items()},
        bytes_fp8={name: weight_bytes(module, "fp8") for name, module in modules.items()},
    )


GB = 1e9
GIB = 2**30


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

    @property
    def answers_in_realtime(self) -> bool:
        """Fits the GPU and the host, and the model's part fits SageMaker's 60 s at the stated utilisation."""
        fits = (self.fits_gpu_bf16 or self.fits_gpu_fp8) and self.fits_host
        return fits and self.seconds_at_utilisation <= REALTIME_MODEL_BUDGET_SECONDS


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


Plan = tuple["ComponentSizes", list["RequestFlops"], list["InstanceEstimate"]]


def plan(shapes: Iterable[RequestShape] = REQUEST_SHAPES) -> Plan:
    catalogue = load_instances()
    sizes = component_sizes()
    requests = [request_flops(shape) for shape in shapes]
    estimates = [estimate(name, flops, sizes, catalogue) for flops in requests for name in catalogue["instances"]]
    return sizes, requests, estimates


def realtime_verdicts(instance_types: Iterable[str], with_lora: bool) -> dict[str, bool]:
    """Whether a real-time endpoint answers the worst request (1 MP with a garment photo) in 60 s,
    per instance type, with the LoRA (4 steps) or the base model (40 steps with CFG)."""
    shape = REQUEST_SHAPES[0] if with_lora else REQUEST_SHAPES[3]
    flops, sizes = request_flops(shape), component_sizes()
    return {name: estimate(name, flops, sizes).answers_in_realtime for name in instance_types}


# --- the printed table -----------------------------------------------------------------------------


def _yes(value: bool) -> str:
    return "yes" if value else "NO"


def _money(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"${value:.{digits}f}"


def render(sizes: ComponentSizes, requests: list[RequestFlops], estimates: list[InstanceEstimate]) -> str:
    catalogue = load_instances()
    lines = ["Qwen-Image-Edit-2511 capacity plan: ESTIMATES from the published configurations, not measured", ""]
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
    lines.append(f"{'request':<34}{'passes':>7}{'transformer':>13}{'text enc':>10}{'VAE':>8}{'total':>9}  (TFLOP)")
    for flops in requests:
        lines.append(
            f"{flops.shape.name:<34}{flops.shape.transformer_passes:>7}{flops.transformer / 1e12:>13.1f}"
            f"{flops.text_encoder / 1e12:>10.1f}{flops.vae / 1e12:>8.1f}{flops.total / 1e12:>9.1f}"
        )
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
        f"{'request':<34}{'instance':<18}{'GPU':<10}{'GPU bf16':>9}{'GPU fp8':>8}{'host':>6}"
        f"{'s@bf16pk':>10}{'s@fp8pk':>9}{'s@util':>8}{'$/hour':>9}{'$/image':>9}{'real-time':>11}"
    )
    current = None
    for row in estimates:
        if row.shape != current:
            lines += ["", header]
            current = row.shape
        fp8 = "-" if row.seconds_at_fp8_peak is None else f"{row.seconds_at_fp8_peak:.1f}"
        lines.append(
            f"{row.shape.name:<34}{row.instance:<18}{row.gpu:<10}{_yes(row.fits_gpu_bf16):>9}{_yes(row.fits_gpu_fp8):>8}"
            f"{_yes(row.fits_host):>6}{row.seconds_at_bf16_peak:>10.1f}{fp8:>9}{row.seconds_at_utilisation:>8.1f}"
            f"{_money(row.usd_per_hour, 2):>9}{_money(row.usd_per_image, 4):>9}{_yes(row.answers_in_realtime):>11}"
        )
    lines.append("")
    lines.append("GPU peaks (dense) and prices, with their sources:")
    for name, gpu in catalogue["gpus"].items():
        lines.append(f"  {name}: {gpu['source']}")
    for name, instance in catalogue["instances"].items():
        lines.append(f"  {name}: {_money(instance['usd_per_hour'], 3)}/h, {instance['price_source']}")
    lines.append(
        "One model copy per instance (the server uses one GPU); $/image assumes the instance is busy all the time."
    )
    return "\n".join(lines)

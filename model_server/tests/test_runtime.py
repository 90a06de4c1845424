"""What the pipeline actually gets: the few-step schedule, steps, transparent garments, fp8.

Each test loads the tiny model through the production loading path and looks at what reaches
the diffusers pipeline or its scheduler during a real call.
"""

from __future__ import annotations

import base64
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from tests.conftest import b64_image, photo, tryon_body
from tests.test_model import write_tiny_lora
from tryon_model_server import loading
from tryon_model_server.contract import TryOnRequest, parse_request
from tryon_model_server.families import get_family
from tryon_model_server.model import DiffusersTryOnModel
from tryon_model_server.settings import ServerSettings

CPU = {"TRYON_DEVICE": "cpu", "TRYON_OUTPUT_PIXELS": str(128 * 128)}
# A 1 MP result on the real model is (1024 / 8 / 2) ** 2 = 4096 latent tokens (VAE 8x, 2x2 packing).
REAL_1MP_TOKENS = (1024 // 8 // 2) ** 2


class RecordingPipe:
    """The loaded pipeline, unchanged, with each call's arguments kept."""

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe
        self.calls: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipe, name)

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self.pipe(**kwargs)


def sigmas_used(model: DiffusersTryOnModel, request: TryOnRequest) -> list[float]:
    """The noise level of every denoising step of one real call, read where the scheduler steps."""
    scheduler = model.pipe.scheduler
    step = scheduler.step
    timesteps: list[float] = []

    def recording_step(model_output: Any, timestep: Any, sample: Any, **kwargs: Any) -> Any:
        timesteps.append(float(timestep))
        return step(model_output, timestep, sample, **kwargs)

    scheduler.step = recording_step
    try:
        model.generate(request)
    finally:
        del scheduler.step
    return [t / scheduler.config.num_train_timesteps for t in timesteps]


def sigmas_at(model: DiffusersTryOnModel, steps: int, image_seq_len: int) -> list[float]:
    """The sigmas the loaded pipeline's own timestep code gives for ``image_seq_len`` latent tokens
    (the tiny VAE's latents are shorter than the real model's, so a tiny call cannot reach 4096)."""
    from diffusers.pipelines.qwenimage import pipeline_qwenimage_edit_plus as edit_plus

    scheduler = model.pipe.scheduler
    config = scheduler.config
    mu = edit_plus.calculate_shift(
        image_seq_len,
        config.get("base_image_seq_len", 256),
        config.get("max_image_seq_len", 4096),
        config.get("base_shift", 0.5),
        config.get("max_shift", 1.15),
    )
    edit_plus.retrieve_timesteps(scheduler, steps, "cpu", sigmas=np.linspace(1.0, 1 / steps, steps), mu=mu)
    return [float(sigma) for sigma in scheduler.sigmas[:-1]]


def exponential_shift(sigma: float, mu: float) -> float:
    return math.exp(mu) / (math.exp(mu) + (1 / sigma - 1))


@pytest.fixture(scope="module")
def lora_file(tiny_qwen_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = DiffusersTryOnModel.load(ServerSettings.from_env(CPU, tiny_qwen_dir))
    return write_tiny_lora(model, tmp_path_factory.mktemp("lora"))


def test_the_fewstep_lora_runs_its_fixed_steps_on_the_schedule_it_was_distilled_on(
    tiny_qwen_dir: Path, lora_file: Path
) -> None:
    model = DiffusersTryOnModel.load(ServerSettings.from_env({**CPU, "TRYON_LORA_PATH": str(lora_file)}, tiny_qwen_dir))
    model.pipe = RecordingPipe(model.pipe)
    asks_for_100 = TryOnRequest(photo((96, 96)), None, "green parka", "studio", 1, "png", 100)

    used = sigmas_used(model, asks_for_100)

    # Lightning's documented schedule: shift 3 at every size, no terminal stretch; 4 steps, no CFG.
    documented = [exponential_shift(s, math.log(3)) for s in (1.0, 0.75, 0.5, 0.25)]
    assert documented == pytest.approx([1.0, 0.9, 0.75, 0.5])
    assert used == pytest.approx(documented, abs=2e-3)
    assert sigmas_at(model, 4, REAL_1MP_TOKENS) == pytest.approx(documented, abs=2e-3)
    config = model.pipe.scheduler.config
    assert (config.base_shift, config.max_shift, config.shift_terminal) == (math.log(3), math.log(3), None)
    assert [(call["num_inference_steps"], call["true_cfg_scale"]) for call in model.pipe.calls] == [(4, 1.0)]


def test_the_base_model_keeps_its_own_schedule(tiny_qwen_dir: Path) -> None:
    model = DiffusersTryOnModel.load(ServerSettings.from_env({**CPU, "TRYON_DEFAULT_STEPS": "4"}, tiny_qwen_dir))
    request = TryOnRequest(photo((96, 96)), None, "green parka", "studio", 1, "png", None)

    used = sigmas_used(model, request)

    # Qwen-Image's published schedule at 1 MP: dynamic shift 0.5-0.9 by size, stretched to 0.02;
    # the tiny call's shorter sequence shifts a little less.
    assert sigmas_at(model, 4, REAL_1MP_TOKENS) == pytest.approx([1.0, 0.77, 0.46, 0.02], abs=0.01)
    tiny_tokens = (128 // model.pipe.vae_scale_factor // 2) ** 2
    assert used == pytest.approx(sigmas_at(model, 4, tiny_tokens), abs=1e-6)
    assert used[-1] == pytest.approx(0.02) and used[1] < 0.77


def garment_cutout() -> Image.Image:
    """A product cut-out as the Lambda sends it: transparent background, opaque T-shirt, and a
    half-transparent blue hem."""
    image = Image.new("RGBA", (200, 240), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.polygon([(40, 20), (160, 20), (140, 200), (60, 200)], fill=(200, 30, 40, 255))
    draw.rectangle((60, 200, 140, 215), fill=(0, 0, 255, 128))
    return image


def test_a_transparent_garment_reaches_the_pipeline_on_white(tiny_model_dir: Path) -> None:
    cutout = garment_cutout()
    assert cutout.getpixel((5, 5)) == (0, 0, 0, 0), "what convert('RGB') would turn black"
    body = tryon_body(garment_image_base64=b64_image(cutout, "PNG"))
    request = parse_request(json.dumps(body).encode(), 40_000_000)
    model = DiffusersTryOnModel.load(ServerSettings.from_env(CPU, tiny_model_dir))
    model.pipe = RecordingPipe(model.pipe)

    model.generate(request)

    person, garment = model.pipe.calls[0]["image"]
    assert garment.mode == "RGB" and garment.size == cutout.size, "under TRYON_GARMENT_PIXELS: passed as sent"
    assert garment.getpixel((5, 5)) == (255, 255, 255)
    assert garment.getpixel((100, 100)) == (200, 30, 40)
    assert garment.getpixel((100, 208)) == pytest.approx((127, 127, 255), abs=1)
    assert person.mode == "RGB"


def test_a_paletted_png_with_a_transparent_index_is_flattened_on_white_too() -> None:
    paletted = garment_cutout().convert("RGB").quantize(4)
    paletted.info["transparency"] = paletted.getpixel((5, 5))
    buffer = io.BytesIO()
    paletted.save(buffer, "PNG", transparency=paletted.getpixel((5, 5)))
    body = tryon_body(garment_image_base64=base64.b64encode(buffer.getvalue()).decode())
    garment = parse_request(json.dumps(body).encode(), 40_000_000).garment
    assert garment is not None and garment.getpixel((5, 5)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("capability", "kind"),
    [(None, "Int8WeightOnlyConfig"), ((8, 0), "Int8WeightOnlyConfig"), ((8, 6), "Int8WeightOnlyConfig"),
     ((8, 9), "Float8DynamicActivationFloat8WeightConfig"), ((9, 0), "Float8DynamicActivationFloat8WeightConfig")],
)  # fmt: skip
def test_fp8_computes_in_fp8_on_sm89_and_falls_back_to_int8_weights_below(
    capability: tuple[int, int] | None, kind: str
) -> None:
    assert type(loading.quantization_config("fp8", capability)).__name__ == kind
    assert loading.quantization_config("none", capability) is None


@pytest.fixture(scope="module")
def reference(tiny_model_dir: Path) -> DiffusersTryOnModel:
    return DiffusersTryOnModel.load(ServerSettings.from_env(CPU, tiny_model_dir))


def quantized_layer_error(model: DiffusersTryOnModel, reference: DiffusersTryOnModel) -> float:
    """Relative error of one quantized attention projection against the unquantized model's."""
    quantized = model.pipe.transformer.transformer_blocks[0].attn.to_q
    plain = reference.pipe.transformer.transformer_blocks[0].attn.to_q
    x = torch.randn(8, plain.in_features, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = plain(x)
        got = quantized(x.to(torch.bfloat16)).float()
    return float((got - expected).norm() / expected.norm())


def test_fp8_on_the_cpu_loads_int8_weights_and_generates(
    family: str, tiny_model_dir: Path, reference: DiffusersTryOnModel
) -> None:
    from torchao.quantization import Int8Tensor

    model = DiffusersTryOnModel.load(ServerSettings.from_env({**CPU, "TRYON_QUANTIZATION": "fp8"}, tiny_model_dir))
    transformer = model.pipe.transformer
    assert isinstance(transformer.transformer_blocks[0].attn.to_q.weight, Int8Tensor)
    keep = get_family(family).fp8_keep
    assert {name for name, _ in transformer.named_children()} >= keep, "the kept layers are the family's own"
    for name in keep:
        assert not isinstance(getattr(transformer, name).weight, Int8Tensor), "input and output projections stay bf16"
    assert quantized_layer_error(model, reference) < 0.05
    image = model.generate(TryOnRequest(photo((96, 96)), None, "scarf", "studio", 1, "png", 1))
    assert image.size == (128, 128)


def test_fp8_on_an_sm89_gpu_quantizes_weights_and_activations(
    tiny_model_dir: Path, reference: DiffusersTryOnModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sm89+ path on the CPU: torchao refuses fp8 matmuls unless CUDA reports 8.9+, but its
    CPU kernels run them; only that gate and our capability probe are patched."""
    import torchao.quantization.quant_api as quant_api
    from torchao.quantization import Float8Tensor

    monkeypatch.setattr(loading, "compute_capability", lambda device: (8, 9))
    monkeypatch.setattr(quant_api, "_check_hardware_support", lambda granularity: None)
    model = DiffusersTryOnModel.load(ServerSettings.from_env({**CPU, "TRYON_QUANTIZATION": "fp8"}, tiny_model_dir))

    weight = model.pipe.transformer.transformer_blocks[0].attn.to_q.weight
    assert isinstance(weight, Float8Tensor) and weight.qdata.dtype == torch.float8_e4m3fn
    assert weight.act_quant_kwargs is not None, "activations are quantized to fp8 on the fly: fp8 matmuls"
    assert quantized_layer_error(model, reference) < 0.1
    image = model.generate(TryOnRequest(photo((96, 96)), None, "scarf", "studio", 1, "png", 1))
    assert image.size == (128, 128)


# ------------------------------------------------------------------ FLUX.2 [klein]: what reaches its pipeline


def test_klein_runs_distilled_one_pass_a_step_with_the_references_in_the_prompts_order(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Assembled from its parts, the pipeline is told is_distilled: 4 steps of one transformer pass,
    no guidance (not 50 steps of two). The person goes first, the garment second, as the prompt
    names them; the garment is cut to TRYON_GARMENT_PIXELS; the result has the person's aspect."""
    from tests.conftest import KLEIN, tiny_dir_of

    directory = tiny_dir_of(KLEIN, tmp_path_factory)
    env = {**CPU, "TRYON_GARMENT_PIXELS": str(256 * 256)}
    model = DiffusersTryOnModel.load(ServerSettings.from_env(env, directory))
    assert model.pipe.config.is_distilled is True
    model.pipe = RecordingPipe(model.pipe)
    passes: list[int] = []
    model.pipe.transformer.register_forward_hook(lambda *_: passes.append(1))
    person, garment = photo((90, 120)), photo((600, 400), garment=True)
    request = TryOnRequest(person, garment, "red cotton t-shirt", "studio", 7, "png", 30)

    image = model.generate(request)

    (call,) = model.pipe.calls
    assert call["num_inference_steps"] == 4 and call["guidance_scale"] == 1.0, "a request's 30 steps are not run"
    assert len(passes) == 4, "one transformer pass a step: no classifier-free guidance"
    assert "negative_prompt" not in call and "true_cfg_scale" not in call
    sent_person, sent_garment = call["image"]
    assert sent_person is person
    assert sent_garment.size[0] * sent_garment.size[1] <= 256 * 256 < 600 * 400
    assert abs(sent_garment.size[0] / sent_garment.size[1] - 1.5) < 0.02
    prompt = call["prompt"]
    assert prompt.startswith("Image 1 is a photo of a person; image 2 is a garment.")
    assert prompt.index("person from image 1") < prompt.index("garment from image 2")
    assert image.size == (call["width"], call["height"])
    assert abs(image.width / image.height - 0.75) < 0.05


@pytest.mark.parametrize(
    ("size", "message"),
    [((63, 200), "person_image_base64 is too small: at least 64 px"), ((64, 520), "too elongated: at most 8:1")],
)
def test_klein_refuses_what_its_pipeline_would_raise_on_before_the_pipeline_sees_it(
    tmp_path_factory: pytest.TempPathFactory, size: tuple[int, int], message: str
) -> None:
    from diffusers.pipelines.flux2.image_processor import Flux2ImageProcessor

    from tests.conftest import KLEIN, tiny_dir_of
    from tryon_model_server.contract import BadRequest

    settings = ServerSettings.from_env(CPU, tiny_dir_of(KLEIN, tmp_path_factory))
    with pytest.raises(ValueError):
        Flux2ImageProcessor.check_image_input(photo(size))  # what a 500 would have said
    body = json.dumps(tryon_body(person_image_base64=b64_image(photo(size), "PNG"))).encode()
    with pytest.raises(BadRequest, match=message):
        parse_request(body, settings.max_input_pixels, settings.min_image_side, settings.max_image_aspect)
    edge = (64, 512) if size[1] > 500 else (64, 200)
    Flux2ImageProcessor.check_image_input(photo(edge))  # the limits are the pipeline's, not stricter
    ok = json.dumps(tryon_body(person_image_base64=b64_image(photo(edge), "PNG"))).encode()
    assert parse_request(ok, settings.max_input_pixels, settings.min_image_side, settings.max_image_aspect)

"""FLUX.2 [klein] 4B (Black Forest Labs, Apache-2.0): everything the server, the tiny model, the
capacity plan and the benchmark need to know about this family. Its classes are named here and
nowhere else. Written against diffusers 0.42.1's ``pipelines/flux2/pipeline_flux2_klein.py``:

- ``Flux2KleinPipeline(scheduler, vae, text_encoder, tokenizer, transformer, is_distilled)``.
  The published checkpoint's model_index.json says ``"is_distilled": true``; a pipeline built
  from its parts must be told, else ``guidance_scale`` (default 4.0) turns on CFG and the
  default 50 steps run 2 passes each. Distilled, it runs 4 steps, one pass each, no guidance.
- ``__call__(image=[...], prompt, height, width, num_inference_steps, guidance_scale, generator,
  max_sequence_length=512, ...)``: no ``negative_prompt``, no ``true_cfg_scale``.
- Each reference image must be >= 64 px a side and <= 8:1 (``Flux2ImageProcessor.check_image_input``,
  a ``ValueError`` inside the pipeline: the contract refuses them first, as a 400). Over 1 MP a
  reference is resized to 1 MP; below, floored to a multiple of 16 and centre-cropped. Each one is
  VAE-encoded, patchified 2x2 to 128 channels and packed after the noisy latent's tokens, in the
  order given (time ids 10, 20, ...). No label is inserted: the prompt names them "image 1",
  "image 2" in that order. Without height/width the output takes the first image's size; the
  server passes the person photo's aspect at TRYON_OUTPUT_PIXELS.
- The garment reference's size is ours to choose (TRYON_GARMENT_PIXELS, default 1 MP): it costs
  pixels / 256 tokens in every transformer pass (make model-plan prints the trade).
- Text: a Qwen3 causal LM and its tokenizer; the chat template with ``enable_thinking=False``;
  the prompt always padded to 512 tokens; hidden states 9, 18 and 27 stacked (3 x 2560 = 7680).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

from tryon_model_server import loading
from tryon_model_server.families.interface import DistilledSteps, InputLimits
from tryon_model_server.planning import Components, RequestFlops, RequestShape, counted_flops, square_side
from tryon_model_server.prompts import EditPrompt, ReferenceNames, tryon_prompt

# Step-distilled to 4 steps (the published model_index.json: is_distilled true; BFL's model card:
# 4 inference steps). More may be configured (TRYON_DEFAULT_STEPS, at most 16), never guidance.
DISTILLED = DistilledSteps(default=4, maximum=16, guidance=1.0)
REFERENCE_NAMES = ReferenceNames(person="image 1", garment="image 2")
# Flux2ImageProcessor.check_image_input's defaults, which the pipeline calls for every reference.
MIN_SIDE = 64
MAX_ASPECT = 8.0
# The pipeline resizes any reference over this area down to it (pipeline_flux2_klein.py, "process images").
MAX_REFERENCE_PIXELS = 1024 * 1024
PROMPT_TOKENS = 512  # max_sequence_length: every prompt is padded to it
HIDDEN_STATE_LAYERS = (9, 18, 27)  # text_encoder_out_layers

# The tiny model: a chat template with Qwen3's markers and its empty thinking block when
# enable_thinking is false (what the pipeline asks for); nothing is downloaded.
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{% endif %}"
)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>")
TINY_TEXT_HIDDEN = 16
TINY_LATENT_CHANNELS = 4

# The plan's requests: 4 steps, one pass each; 1 MP result and person photo; the garment reference
# at 1 MP (the default), 0.5 MP and 0.25 MP (TRYON_GARMENT_PIXELS), or none.
REQUEST_SHAPES = (
    RequestShape("distilled-4-steps 1MP +garment 1MP", 4, False, 1024 * 1024, True, 1024 * 1024),
    RequestShape("distilled-4-steps 1MP +garment 0.5MP", 4, False, 1024 * 1024, True, 512 * 1024),
    RequestShape("distilled-4-steps 1MP +garment 0.25MP", 4, False, 1024 * 1024, True, 256 * 1024),
    RequestShape("distilled-4-steps 1MP text-only", 4, False, 1024 * 1024, False),
    RequestShape("distilled-4-steps 0.5MP +garment 0.5MP", 4, False, 512 * 1024, True, 512 * 1024),
)


def garment_reference(garment: Any, pixels: int) -> Any:
    """The garment photo at no more than ``pixels`` (its aspect kept): its tokens in every pass.
    At MIN_GARMENT_PIXELS or more, a photo within 8:1 keeps 64 px on its short side."""
    from PIL import Image

    width, height = garment.size
    if width * height <= pixels:
        return garment
    scale = math.sqrt(pixels / (width * height))
    size = (max(MIN_SIDE, int(width * scale)), max(MIN_SIDE, int(height * scale)))
    return garment.resize(size, Image.Resampling.LANCZOS)


class Flux2KleinFamily:
    name = "flux2-klein-4b"
    pipeline_class = "Flux2KleinPipeline"
    display_name = "FLUX.2 [klein] 4B"
    base = None
    distilled = DISTILLED
    accepts_lora = False
    uses_garment_pixels = True
    limits = InputLimits(min_side=MIN_SIDE, max_aspect=MAX_ASPECT)
    fp8_keep = frozenset({"x_embedder", "context_embedder", "proj_out"})
    bench_tiny_overrides: ClassVar[dict[str, dict[str, Any]]] = {
        "transformer": {"in_channels": TINY_LATENT_CHANNELS * 4, "num_layers": 1, "num_single_layers": 1,
                        "attention_head_dim": 16, "num_attention_heads": 2, "joint_attention_dim": 3 * TINY_TEXT_HIDDEN,
                        "axes_dims_rope": [4, 4, 4, 4]},
        "vae": {"block_out_channels": [8, 8, 8], "latent_channels": TINY_LATENT_CHANNELS, "layers_per_block": 1,
                "norm_num_groups": 4, "down_block_types": ["DownEncoderBlock2D"] * 3,
                "up_block_types": ["UpDecoderBlock2D"] * 3},
        "text_encoder": {"hidden_size": TINY_TEXT_HIDDEN, "intermediate_size": 32, "num_hidden_layers": 27,
                         "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8},
    }  # fmt: skip

    def check_model_index(self, index: dict[str, Any]) -> str | None:
        if index.get("is_distilled") is not True:
            return (
                "model_index.json does not say is_distilled: true; this server serves the step-distilled "
                "FLUX.2 [klein] 4B (4 steps, no guidance), not its base model"
            )
        return None

    def import_classes(self) -> None:
        import diffusers
        import transformers

        for module, name in (
            (diffusers, "Flux2KleinPipeline"),
            (diffusers, "Flux2Transformer2DModel"),
            (diffusers, "AutoencoderKLFlux2"),
            (transformers, "Qwen3ForCausalLM"),
        ):
            getattr(module, name)

    # --- serving ---------------------------------------------------------------------------------

    def prompt(
        self, description: str, mode: str, has_garment_image: bool, garment_category: str = "auto"
    ) -> EditPrompt:
        return tryon_prompt(description, mode, has_garment_image, REFERENCE_NAMES, garment_category)

    def load_pipeline(self, settings: Any, device: str) -> Any:
        """Each component straight to ``device`` (the transformer first, quantized in place), then
        the pipeline from the loaded parts, told it is step-distilled."""
        from diffusers import (
            AutoencoderKLFlux2,
            FlowMatchEulerDiscreteScheduler,
            Flux2KleinPipeline,
            Flux2Transformer2DModel,
        )
        from transformers import Qwen2Tokenizer, Qwen3ForCausalLM

        model_dir = settings.model_dir
        dtype = loading.load_dtype(device, settings.quantization)
        config = loading.quantization_config(settings.quantization, loading.compute_capability(device))
        on_device = {"device_map": device, "low_cpu_mem_usage": True}

        transformer = Flux2Transformer2DModel.from_pretrained(
            str(model_dir), subfolder="transformer", torch_dtype=dtype, **on_device
        )
        if config is not None:
            loading.quantize_transformer(transformer, config, self.fp8_keep)
        text_encoder = Qwen3ForCausalLM.from_pretrained(str(model_dir / "text_encoder"), dtype=dtype, device_map=device)
        vae = AutoencoderKLFlux2.from_pretrained(str(model_dir), subfolder="vae", torch_dtype=dtype, **on_device)
        pipe = Flux2KleinPipeline(
            scheduler=FlowMatchEulerDiscreteScheduler.from_pretrained(str(model_dir), subfolder="scheduler"),
            vae=vae.eval(),
            text_encoder=text_encoder.eval(),
            tokenizer=Qwen2Tokenizer.from_pretrained(str(model_dir / "tokenizer")),
            transformer=transformer.eval(),
            is_distilled=True,
        )
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def generate(self, pipe: Any, request: Any, settings: Any, device: str) -> Any:
        import torch

        from tryon_model_server.model import output_size

        prompt = self.prompt(
            request.garment_description, request.mode, request.garment is not None, request.garment_category
        )
        images = [request.person]
        if request.garment is not None:
            images.append(garment_reference(request.garment, settings.garment_pixels))
        width, height = output_size(request.person.size, settings.output_pixels, pipe.vae_scale_factor * 2)
        generator = torch.Generator(device=device).manual_seed(request.seed)
        with torch.inference_mode():
            result = pipe(
                image=images,  # the order the prompt names them in: the person, then the garment
                prompt=prompt.prompt,
                guidance_scale=settings.true_cfg_scale,  # 1.0: distilled, no CFG
                num_inference_steps=settings.steps_for(request.num_inference_steps),
                height=height,
                width=width,
                generator=generator,
                output_type="pil",
            )
        return result.images[0]

    # --- the tiny random model (tests, make model-tiny FAMILY=flux2-klein-4b) -----------------------

    def build_tiny_pipeline(self, seed: int = 0) -> Any:
        """A 1+1-block transformer, a width-16 Qwen3 with 27 layers (so hidden states 9, 18, 27
        exist), a 4x VAE with 4 latent channels, the byte-level tokenizer: about 0.7 MB."""
        import torch

        torch.manual_seed(seed)
        overrides = self.bench_tiny_overrides
        tokenizer = build_tokenizer()
        architecture = {
            "transformer": {"config": {**TRANSFORMER_DEFAULTS, **overrides["transformer"]}},
            "text_encoder": {"config": {**overrides["text_encoder"], "vocab_size": len(tokenizer),
                                        "tie_word_embeddings": True}},
            "vae": {"config": overrides["vae"]},
        }  # fmt: skip
        return self._assemble(architecture, "cpu", torch.float32, "none", tokenizer)

    def save_model_directory(self, pipe: Any, directory: Path, note: dict[str, object]) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        pipe.save_pretrained(directory)
        (directory / "TINY_RANDOM_MODEL.json").write_text(json.dumps(note) + "\n")
        return directory

    # --- the capacity plan -----------------------------------------------------------------------

    def request_shapes(self) -> tuple[RequestShape, ...]:
        return REQUEST_SHAPES

    def realtime_shape(self, with_lora: bool) -> RequestShape:
        """The default garment reference (1 MP): the LoRA question does not arise (no LoRA)."""
        return REQUEST_SHAPES[0]

    def meta_components(self, architecture: dict[str, Any], transformer_blocks: int | None = None) -> Components:
        import torch
        from diffusers import AutoencoderKLFlux2, Flux2Transformer2DModel
        from transformers import Qwen3Config, Qwen3ForCausalLM

        config = dict(architecture["transformer"]["config"])
        if transformer_blocks is not None:
            config["num_layers"] = config["num_single_layers"] = transformer_blocks
        with torch.device("meta"):
            transformer = Flux2Transformer2DModel.from_config(config)
            text_encoder = Qwen3ForCausalLM(Qwen3Config(**architecture["text_encoder"]["config"]))
            vae = AutoencoderKLFlux2(**architecture["vae"]["config"])
        return Components(*(part.to(torch.bfloat16).eval() for part in (transformer, text_encoder, vae)))

    def request_flops(self, shape: RequestShape, components: Components) -> RequestFlops:
        """The text encoder at 512 tokens (all layers and the vocabulary head run), the transformer's
        passes over the result's tokens plus each reference's, the VAE encoding the references and
        decoding the result. The person photo is taken at 1 MP (the pipeline's cap), square."""
        import torch

        grids = [latent_grid(shape.output_pixels), latent_grid(MAX_REFERENCE_PIXELS)]
        if shape.garment_image:
            grids.append(latent_grid(min(shape.garment_pixels or MAX_REFERENCE_PIXELS, MAX_REFERENCE_PIXELS)))
        tokens = sum(height * width for height, width in grids)
        transformer = components.transformer
        text_width = components.text_encoder.config.hidden_size
        with torch.device("meta"):
            hidden = torch.empty(1, tokens, transformer.config.in_channels, dtype=torch.bfloat16)
            text = torch.empty(1, PROMPT_TOKENS, transformer.config.joint_attention_dim, dtype=torch.bfloat16)
            img_ids = torch.zeros(1, tokens, 4, dtype=torch.long)
            txt_ids = torch.zeros(1, PROMPT_TOKENS, 4, dtype=torch.long)
            timestep = torch.empty(1, dtype=torch.bfloat16)
            embeddings = torch.empty(1, PROMPT_TOKENS, text_width, dtype=torch.bfloat16)
        one_pass = counted_flops(
            lambda: transformer(
                hidden_states=hidden,
                encoder_hidden_states=text,
                timestep=timestep,
                img_ids=img_ids,
                txt_ids=txt_ids,
                return_dict=False,
            )
        )
        # transformers builds the causal mask from the data (.item() on meta fails); the FLOPs do not
        # depend on it, so the layers get their masks as given: none.
        masks = {"full_attention": None, "sliding_attention": None}
        encoder = counted_flops(
            lambda: components.text_encoder(
                inputs_embeds=embeddings, attention_mask=masks, output_hidden_states=True, use_cache=False
            )
        )
        return RequestFlops(
            shape=shape,
            transformer=one_pass * shape.transformer_passes,
            text_encoder=encoder,
            vae=vae_flops(components.vae, grids),
            image_tokens=tokens,
        )

    # --- the benchmark ---------------------------------------------------------------------------

    def random_pipeline(self, architecture: dict[str, Any], device: str, dtype: Any, quantization: str) -> Any:
        tokenizer = build_tokenizer()
        text = dict(architecture["text_encoder"]["config"])
        if text.get("vocab_size", 0) < len(tokenizer):
            text["vocab_size"] = len(tokenizer)
        architecture = {**architecture, "text_encoder": {"config": text}}
        return self._assemble(architecture, device, dtype, quantization, tokenizer)

    def bench_settings(self, steps: int | None) -> list[tuple[str, int, float]]:
        return [("distilled", steps or DISTILLED.default, DISTILLED.guidance)]

    def bench_call(self, pipe: Any, person: Any, garment: Any, setting: tuple[str, int, float], size: int,
                   seed: int) -> None:  # fmt: skip
        import torch

        _, steps, guidance = setting
        prompt = self.prompt("black leather jacket with a white t-shirt underneath", "studio", True)
        with torch.inference_mode():
            pipe(
                image=[person, garment],
                prompt=prompt.prompt,
                guidance_scale=guidance,
                num_inference_steps=steps,
                height=size,
                width=size,
                generator=torch.Generator(device=pipe._execution_device).manual_seed(seed),
            )

    def _assemble(
        self, architecture: dict[str, Any], device: str, dtype: Any, quantization: str, tokenizer: Any
    ) -> Any:
        """Random weights made on ``device`` in the order the server loads them: the transformer
        (quantized in place as the server does), then the text encoder and the VAE."""
        import torch
        from diffusers import (
            AutoencoderKLFlux2,
            FlowMatchEulerDiscreteScheduler,
            Flux2KleinPipeline,
            Flux2Transformer2DModel,
        )
        from transformers import Qwen3Config, Qwen3ForCausalLM

        previous = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            with torch.device(device):
                transformer = Flux2Transformer2DModel(**architecture["transformer"]["config"])
                quantized = loading.quantization_config(quantization, loading.compute_capability(device))
                if quantized is not None:
                    loading.quantize_transformer(transformer, quantized, self.fp8_keep)
                    print(f"[{quantization}] transformer quantized with torchao's {type(quantized).__name__}")
                text_encoder = Qwen3ForCausalLM(Qwen3Config(**architecture["text_encoder"]["config"]))
                vae = AutoencoderKLFlux2(**architecture["vae"]["config"])
        finally:
            torch.set_default_dtype(previous)
        return Flux2KleinPipeline(
            scheduler=FlowMatchEulerDiscreteScheduler(**SCHEDULER_CONFIG),
            vae=vae.eval(),
            text_encoder=text_encoder.eval(),
            tokenizer=tokenizer,
            transformer=transformer.eval(),
            is_distilled=True,
        )


# The conversion script's klein transformer keys that the tiny model keeps as published.
TRANSFORMER_DEFAULTS: dict[str, Any] = {"patch_size": 1, "mlp_ratio": 3.0, "rope_theta": 2000, "eps": 1e-6,
                                        "guidance_embeds": False}  # fmt: skip
# black-forest-labs/FLUX.2-klein-4B scheduler/scheduler_config.json as diffusers' conversion script
# writes it (FlowMatchEulerDiscreteScheduler, dynamic shifting; the pipeline passes its own sigmas and mu).
SCHEDULER_CONFIG: dict[str, Any] = {"num_train_timesteps": 1000, "shift": 3.0, "use_dynamic_shifting": True}


def build_tokenizer() -> Any:
    """A byte-level BPE with no merges (every byte a token, so any text encodes), Qwen3's chat
    markers, a pad token (the pipeline pads every prompt to 512) and a chat template."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import Qwen2Tokenizer

    vocab = {symbol: index for index, symbol in enumerate(sorted(ByteLevel.alphabet()))}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[])
    tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS)})
    tokenizer.pad_token = "<|endoftext|>"  # noqa: S105 - a token, not a password
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    return tokenizer


def latent_grid(pixels: int) -> tuple[int, int]:
    """(height, width) in transformer tokens of a square image of about ``pixels``: VAE /8, 2x2 patches."""
    side = square_side(pixels, 16)
    return side // 16, side // 16


def vae_flops(vae: Any, grids: list[tuple[int, int]]) -> int:
    """Decoding the result (``grids[0]``) and encoding each reference (the rest)."""
    import torch

    channels = vae.config.latent_channels
    total = 0
    with torch.device("meta"):
        latent = torch.empty(1, channels, grids[0][0] * 2, grids[0][1] * 2, dtype=torch.bfloat16)
        photos = [torch.empty(1, 3, height * 16, width * 16, dtype=torch.bfloat16) for height, width in grids[1:]]
    total += counted_flops(lambda: vae.decode(latent))
    for photo in photos:
        total += counted_flops(lambda photo=photo: vae.encode(photo))
    return total


FAMILY = Flux2KleinFamily()

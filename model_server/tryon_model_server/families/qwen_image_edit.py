"""Qwen-Image-Edit-2511 (Qwen, Apache-2.0): everything the server, the tiny model, the capacity plan
and the benchmark need to know about this family. Its classes are named here and nowhere else.

- Loading: component by component onto the device, the few-step Lightning LoRA fused into the
  transformer (and the scheduler reconfigured as Lightning was distilled), then fp8.
- The call: ``QwenImageEditPlusPipeline(image=[person, garment], prompt, negative_prompt,
  true_cfg_scale, ...)``; its prompt template labels the photos "Picture 1", "Picture 2".
- Steps: the base model 40 steps with true CFG 4.0 (min 2: the last sigma is stretched to 0.02
  and one step would be 0/0), or the LoRA's fixed 4 steps without CFG.
- Inputs: any photo from 16 px a side (the pipeline resizes each to about 1 MP for the VAE and
  to 384x384 for the vision tower).
"""

from __future__ import annotations

import json
import math
import weakref
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from tryon_model_server import loading
from tryon_model_server.families.interface import BaseSteps, DistilledSteps, InputLimits
from tryon_model_server.planning import (
    Components,
    RequestFlops,
    RequestShape,
    TextTokens,
    counted_flops,
    parameter_count,
    prompt_tokens,
)
from tryon_model_server.prompts import EditPrompt, ReferenceNames, tryon_prompt

# The schedule ModelTC/Qwen-Image-Lightning distilled its LoRAs on (their diffusers example, and
# diffusers' Qwen-Image documentation): flow matching at a fixed shift of 3, whatever the image
# size (base_shift = max_shift), exponential time shift, and no terminal stretch. On the base
# model's schedule (shift 0.5-0.9 by size, shift_terminal 0.02) a 4-step LoRA runs on the wrong
# noise levels: 4 steps at 1 MP give sigmas [1, .77, .46, .02] instead of [1, .90, .75, .50].
LIGHTNING_SCHEDULER_CONFIG: dict[str, Any] = {
    "base_shift": math.log(3),
    "max_shift": math.log(3),
    "shift": 1.0,
    "shift_terminal": None,
    "time_shift_type": "exponential",
    "use_dynamic_shifting": True,
    "invert_sigmas": False,
    "stochastic_sampling": False,
    "use_karras_sigmas": False,
    "use_exponential_sigmas": False,
    "use_beta_sigmas": False,
}
# Qwen-Image-Edit-2511's published recommendation: 40 steps, true CFG 4.0 with a negative prompt.
# Past the maximum a request only costs GPU time. A Lightning LoRA runs without CFG at the steps
# it was distilled for (4 or 8 for the published ones).
BASE = BaseSteps(default=40, minimum=2, maximum=50, guidance=4.0)
LIGHTNING = DistilledSteps(default=4, maximum=16, guidance=1.0)
# Qwen's chat template inserts "Picture N: <vision tokens>" before the prompt, one per photo, in order.
REFERENCE_NAMES = ReferenceNames(person="Picture 1", garment="Picture 2")

# The special tokens Qwen2.5-VL's tokenizer and the pipeline's prompt template use (the tiny model).
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
TINY_TEXT_HIDDEN = 16
TINY_Z_DIM = 4
# The plan's requests: the Lightning LoRA (4 steps, no CFG) and the base model (40 steps, true CFG),
# at 1 MP and 0.5 MP, with and without the garment photo.
REQUEST_SHAPES = (
    RequestShape("lora-4-steps 1MP +garment", 4, False, 1024 * 1024, True),
    RequestShape("lora-4-steps 1MP text-only", 4, False, 1024 * 1024, False),
    RequestShape("lora-4-steps 0.5MP +garment", 4, False, 512 * 1024, True),
    RequestShape("base-40-steps-cfg 1MP +garment", 40, True, 1024 * 1024, True),
    RequestShape("base-40-steps-cfg 1MP text-only", 40, True, 1024 * 1024, False),
    RequestShape("base-40-steps-cfg 0.5MP +garment", 40, True, 512 * 1024, True),
)


@cache
def processor_class() -> type:
    """``Qwen2VLProcessor`` without its video half.

    ``Qwen2VLProcessor`` always wants a video processor, and transformers only builds one when
    torchvision is installed. The try-on never sends video, so the server loads the processor as
    images + text only: the same image processor, tokenizer and image-token expansion, read from
    the model directory's ``processor/`` folder, with or without torchvision (the CPU test
    environment has none; the GPU container does). One code path in both.
    """
    from transformers import Qwen2VLProcessor

    class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):  # type: ignore[misc]
        def __init__(
            self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None, **kwargs: Any
        ):
            # ProcessorMixin pairs positional sub-processors with get_attributes(), which reads this
            # signature: image_processor and tokenizer. The None passed for video_processor is dropped.
            super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)

    return ImageOnlyQwen2VLProcessor


class QwenImageEditFamily:
    name = "qwen-image-edit-2511"
    pipeline_class = "QwenImageEditPlusPipeline"
    display_name = "Qwen-Image-Edit-2511"
    base: BaseSteps | None = BASE
    distilled = LIGHTNING
    accepts_lora = True
    uses_garment_pixels = False
    limits = InputLimits(min_side=16, max_aspect=None)
    fp8_keep = frozenset({"img_in", "txt_in", "proj_out"})
    bench_tiny_overrides: ClassVar[dict[str, dict[str, Any]]] = {
        "transformer": {"num_layers": 1, "attention_head_dim": 16, "num_attention_heads": 2,
                        "joint_attention_dim": 32, "axes_dims_rope": [4, 6, 6]},
        "vae": {"base_dim": 4, "dim_mult": [1, 1, 1, 1, 1], "temperal_downsample": [False, False, True, True]},
        "text_encoder": {
            "text_config": {
                "hidden_size": 32, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                "num_key_value_heads": 1,
                "rope_scaling": {"type": "mrope", "rope_type": "default", "mrope_section": [2, 3, 3]},
            },
            "vision_config": {"depth": 1, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2,
                              "out_hidden_size": 32, "fullatt_block_indexes": [0]},
        },
    }  # fmt: skip

    def check_model_index(self, index: dict[str, Any]) -> str | None:
        return None

    def import_classes(self) -> None:
        import diffusers
        import transformers

        for module, name in (
            (diffusers, "QwenImageEditPlusPipeline"),
            (diffusers, "QwenImageTransformer2DModel"),
            (diffusers, "AutoencoderKLQwenImage"),
            (transformers, "Qwen2_5_VLForConditionalGeneration"),
        ):
            getattr(module, name)

    # --- serving ---------------------------------------------------------------------------------

    def prompt(
        self, description: str, mode: str, has_garment_image: bool, garment_category: str = "auto"
    ) -> EditPrompt:
        return tryon_prompt(description, mode, has_garment_image, REFERENCE_NAMES, garment_category)

    def load_pipeline(self, settings: Any, device: str) -> Any:
        """Each component straight to ``device`` (the transformer first, its LoRA fused and its
        weights quantized in place), then the pipeline from the loaded parts."""
        from diffusers import AutoencoderKLQwenImage, QwenImageEditPlusPipeline, QwenImageTransformer2DModel
        from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2Tokenizer

        model_dir = settings.model_dir
        dtype = loading.load_dtype(device, settings.quantization)
        config = loading.quantization_config(settings.quantization, loading.compute_capability(device))
        on_device = {"device_map": device, "low_cpu_mem_usage": True}

        transformer = QwenImageTransformer2DModel.from_pretrained(
            str(model_dir), subfolder="transformer", torch_dtype=dtype, **on_device
        )
        if settings.lora_path is not None:
            fuse_lora(transformer, settings.lora_path)
        if config is not None:
            loading.quantize_transformer(transformer, config, self.fp8_keep)
        text_encoder = Qwen2_5_VLForConditionalGeneration.from_pretrained(
            str(model_dir / "text_encoder"), dtype=dtype, device_map=device
        )
        vae = AutoencoderKLQwenImage.from_pretrained(str(model_dir), subfolder="vae", torch_dtype=dtype, **on_device)
        pipe = QwenImageEditPlusPipeline(
            scheduler=build_scheduler(model_dir, settings.lora_path is not None),
            vae=vae.eval(),
            text_encoder=text_encoder.eval(),
            tokenizer=Qwen2Tokenizer.from_pretrained(str(model_dir / "tokenizer")),
            processor=processor_class().from_pretrained(str(model_dir / "processor")),
            transformer=transformer.eval(),
        )
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def generate(self, pipe: Any, request: Any, settings: Any, device: str) -> Any:
        import torch

        from tryon_model_server.model import output_size

        prompt = self.prompt(
            request.garment_description, request.mode, request.garment is not None, request.garment_category
        )
        images = [request.person] if request.garment is None else [request.person, request.garment]
        width, height = output_size(request.person.size, settings.output_pixels, pipe.vae_scale_factor * 2)
        generator = torch.Generator(device=device).manual_seed(request.seed)
        with torch.inference_mode():
            result = pipe(
                image=images,
                prompt=prompt.prompt,
                # Without true CFG (a few-step LoRA) a negative prompt would only cost an encoding.
                negative_prompt=prompt.negative_prompt if settings.true_cfg_scale > 1 else None,
                true_cfg_scale=settings.true_cfg_scale,
                num_inference_steps=settings.steps_for(request.num_inference_steps),
                height=height,
                width=width,
                generator=generator,
                output_type="pil",
            )
        return result.images[0]

    # --- the tiny random model (tests, make model-tiny) --------------------------------------------

    def build_tiny_pipeline(self, seed: int = 0) -> Any:
        import torch
        from diffusers import AutoencoderKLQwenImage, QwenImageEditPlusPipeline, QwenImageTransformer2DModel

        torch.manual_seed(seed)
        transformer = QwenImageTransformer2DModel(
            patch_size=2,
            in_channels=TINY_Z_DIM * 4,
            out_channels=TINY_Z_DIM,
            num_layers=2,
            attention_head_dim=16,
            num_attention_heads=2,
            joint_attention_dim=TINY_TEXT_HIDDEN,
            guidance_embeds=False,
            axes_dims_rope=(8, 4, 4),
            zero_cond_t=True,  # as Qwen-Image-Edit-2511's transformer config
        )
        # Four downsamplings (the real VAE has three): the pipeline always encodes its input images at
        # about 1 MP, and a 16x smaller latent keeps the tiny transformer's sequence short on a CPU.
        vae = AutoencoderKLQwenImage(
            base_dim=4,
            z_dim=TINY_Z_DIM,
            dim_mult=[1, 1, 1, 1, 1],
            num_res_blocks=1,
            temperal_downsample=[False, False, True, True],
            latents_mean=[0.0] * TINY_Z_DIM,
            latents_std=[1.0] * TINY_Z_DIM,
        )
        tokenizer = build_tokenizer()
        return QwenImageEditPlusPipeline(
            scheduler=published_scheduler(),
            vae=vae,
            text_encoder=tiny_text_encoder(tokenizer),
            tokenizer=tokenizer,
            processor=tiny_processor(tokenizer),
            transformer=transformer,
        )

    def save_model_directory(self, pipe: Any, directory: Path, note: dict[str, object]) -> Path:
        """``pipe`` with the published repository's layout and processor naming."""
        directory.mkdir(parents=True, exist_ok=True)
        pipe.save_pretrained(directory)
        # Name the processor as the published repository does (the server loads it image-only).
        for name, key in (
            ("model_index.json", "processor"),
            ("processor/processor_config.json", "processor_class"),
            ("processor/tokenizer_config.json", "processor_class"),
        ):
            path = directory / name
            config = json.loads(path.read_text())
            config[key] = ["transformers", "Qwen2VLProcessor"] if key == "processor" else "Qwen2VLProcessor"
            path.write_text(json.dumps(config, indent=2) + "\n")
        (directory / "TINY_RANDOM_MODEL.json").write_text(json.dumps(note) + "\n")
        return directory

    def build_scaled_pipeline(self, seed: int = 0) -> Any:
        """Some hundreds of MB for make model-load-memory: the real head size, RoPE split, latent
        channels and VAE layout; fewer layers and narrower widths."""
        import torch
        from diffusers import AutoencoderKLQwenImage, QwenImageEditPlusPipeline, QwenImageTransformer2DModel
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

        torch.manual_seed(seed)
        tokenizer = build_tokenizer()
        ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
        # The transformer with 2 of its 60 blocks and 8 of its 24 heads (head size 128 and the RoPE
        # axes as published).
        transformer = QwenImageTransformer2DModel(
            patch_size=2,
            in_channels=64,
            out_channels=16,
            num_layers=2,
            attention_head_dim=128,
            num_attention_heads=8,
            joint_attention_dim=1024,
            guidance_embeds=False,
            axes_dims_rope=(16, 56, 56),
            zero_cond_t=True,
        )
        # Qwen2.5-VL with 4 of its 28 layers, 1024 wide (3584), its RoPE sections; a 2-block vision tower.
        text_encoder = Qwen2_5_VLForConditionalGeneration(
            Qwen2_5_VLConfig(
                text_config={
                    "hidden_size": 1024,
                    "intermediate_size": 4096,
                    "num_hidden_layers": 4,
                    "num_attention_heads": 8,
                    "num_key_value_heads": 2,
                    "rope_scaling": {"mrope_section": [16, 24, 24], "rope_type": "default", "type": "default"},
                    "vocab_size": len(tokenizer),
                },
                vision_config={"depth": 2, "hidden_size": 256, "intermediate_size": 512, "num_heads": 4,
                               "out_hidden_size": 1024},
                image_token_id=ids["<|image_pad|>"],
                video_token_id=ids["<|video_pad|>"],
                vision_start_token_id=ids["<|vision_start|>"],
                vision_end_token_id=ids["<|vision_end|>"],
            )
        )  # fmt: skip
        vae = AutoencoderKLQwenImage(base_dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2)
        return QwenImageEditPlusPipeline(
            scheduler=published_scheduler(),
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            processor=tiny_processor(tokenizer),
            transformer=transformer,
        )

    # --- the capacity plan -----------------------------------------------------------------------

    def request_shapes(self) -> tuple[RequestShape, ...]:
        return REQUEST_SHAPES

    def realtime_shape(self, with_lora: bool) -> RequestShape:
        return REQUEST_SHAPES[0] if with_lora else REQUEST_SHAPES[3]

    def meta_components(self, architecture: dict[str, Any], transformer_blocks: int | None = None) -> Components:
        """The published transformer, text encoder and VAE on the meta device (``transformer_blocks``
        shortens the transformer for the tests)."""
        import torch
        from diffusers import AutoencoderKLQwenImage, QwenImageTransformer2DModel
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

        config = dict(architecture["transformer"]["config"])
        if transformer_blocks is not None:
            config["num_layers"] = transformer_blocks
        with torch.device("meta"):
            transformer = QwenImageTransformer2DModel.from_config(config).to(torch.bfloat16).eval()
            text_encoder = Qwen2_5_VLForConditionalGeneration(
                Qwen2_5_VLConfig(**architecture["text_encoder"]["config"])
            )
            vae = AutoencoderKLQwenImage(**architecture["vae"]["config"])
        return Components(transformer, text_encoder.to(torch.bfloat16).eval(), vae.to(torch.bfloat16).eval())

    def request_flops(self, shape: RequestShape, components: Components) -> RequestFlops:
        """The server's own prompt (and negative prompt with true CFG) through the text encoder, the
        denoising loop, and the VAE encoding each photo and decoding the result."""
        prompt = self.prompt("a red hooded sweatshirt with a white logo", "studio", shape.garment_image)
        images = 2 if shape.garment_image else 1
        positive, negative = text_tokens(prompt.prompt, images), text_tokens(prompt.negative_prompt, images)
        encoder = text_encoder_flops(components.text_encoder, positive, images)
        if shape.true_cfg:
            encoder += text_encoder_flops(components.text_encoder, negative, images)
        grid = output_latent_grid(shape.output_pixels)
        reference = reference_latent_grid()
        return RequestFlops(
            shape=shape,
            transformer=denoise_flops(components.transformer, shape, positive, negative),
            text_encoder=encoder,
            vae=vae_flops(components.vae, shape),
            image_tokens=grid[0] * grid[1] + images * reference[0] * reference[1],
        )

    # --- the benchmark ---------------------------------------------------------------------------

    def random_pipeline(self, architecture: dict[str, Any], device: str, dtype: Any, quantization: str) -> Any:
        """The published sizes (``architecture``), random weights made on ``device``, in the order the
        server loads them: the transformer (quantized in place as the server does), then the rest."""
        import torch
        from diffusers import AutoencoderKLQwenImage, QwenImageEditPlusPipeline, QwenImageTransformer2DModel
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        tokenizer = build_tokenizer()
        ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
        text = architecture["text_encoder"]["config"]
        config = Qwen2_5_VLConfig(
            text_config=text["text_config"],
            vision_config=text["vision_config"],
            image_token_id=ids["<|image_pad|>"],
            video_token_id=ids["<|video_pad|>"],
            vision_start_token_id=ids["<|vision_start|>"],
            vision_end_token_id=ids["<|vision_end|>"],
        )
        small = text["vision_config"]["depth"] < 4  # --tiny-on-cpu: few vision patches
        image_processor = Qwen2VLImageProcessorPil(max_pixels=112 * 112) if small else Qwen2VLImageProcessorPil()
        previous = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            with torch.device(device):
                transformer = QwenImageTransformer2DModel(**architecture["transformer"]["config"])
                quantized = loading.quantization_config(quantization, loading.compute_capability(device))
                if quantized is not None:
                    loading.quantize_transformer(transformer, quantized, self.fp8_keep)
                    print(f"[{quantization}] transformer quantized with torchao's {type(quantized).__name__}")
                text_encoder = Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=dtype)
                vae = AutoencoderKLQwenImage(**architecture["vae"]["config"])
        finally:
            torch.set_default_dtype(previous)
        return QwenImageEditPlusPipeline(
            scheduler=published_scheduler(),
            vae=vae.eval(),
            text_encoder=text_encoder.eval(),
            tokenizer=tokenizer,
            processor=processor_class()(image_processor=image_processor, tokenizer=tokenizer),
            transformer=transformer.eval(),
        )

    def bench_settings(self, steps: int | None) -> list[tuple[str, int, float]]:
        """The base model (40 steps, true CFG 4.0: two passes a step) and the few-step setting (what
        a fused Lightning LoRA runs: 4 steps on its scheduler; a fused LoRA adds no per-step cost)."""
        base = [("base", steps or BASE.default, BASE.guidance)] if steps != 0 else []
        return [*base, ("few-step", LIGHTNING.default, LIGHTNING.guidance)]

    def bench_call(self, pipe: Any, person: Any, garment: Any, setting: tuple[str, int, float], size: int,
                   seed: int) -> None:  # fmt: skip
        import torch
        from diffusers import FlowMatchEulerDiscreteScheduler

        label, steps, guidance = setting
        overrides = LIGHTNING_SCHEDULER_CONFIG if label == "few-step" else {}
        pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(published_scheduler().config, **overrides)
        prompt = self.prompt("black leather jacket with a white t-shirt underneath", "studio", True)
        with torch.inference_mode():
            pipe(
                image=[person, garment],
                prompt=prompt.prompt,
                negative_prompt=prompt.negative_prompt if guidance > 1 else None,
                true_cfg_scale=guidance,
                num_inference_steps=steps,
                height=size,
                width=size,
                generator=torch.Generator(device=pipe._execution_device).manual_seed(seed),
            )


# --- loading -------------------------------------------------------------------------------------


def build_scheduler(model_dir: Path, distilled: bool) -> Any:
    """The model directory's scheduler; reconfigured as Lightning was distilled when a LoRA is fused."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    scheduler = FlowMatchEulerDiscreteScheduler.from_pretrained(str(model_dir), subfolder="scheduler")
    if distilled:
        scheduler = FlowMatchEulerDiscreteScheduler.from_config(scheduler.config, **LIGHTNING_SCHEDULER_CONFIG)
    return scheduler


def fuse_lora(transformer: Any, lora_path: Path) -> None:
    """Merge a few-step LoRA into the transformer's weights: no LoRA cost per step, and the
    quantizer then sees plain linear layers. diffusers loads LoRAs through a pipeline, so a
    pipeline holding only the transformer does it."""
    from diffusers import QwenImageEditPlusPipeline

    if not lora_path.exists():
        raise FileNotFoundError(f"TRYON_LORA_PATH {lora_path} does not exist")
    holder = QwenImageEditPlusPipeline(None, None, None, None, None, transformer)  # type: ignore[arg-type]
    if lora_path.is_file():
        holder.load_lora_weights(str(lora_path.parent), weight_name=lora_path.name, adapter_name="fewstep")
    else:
        holder.load_lora_weights(str(lora_path), adapter_name="fewstep")
    holder.fuse_lora(adapter_names=["fewstep"], lora_scale=1.0)
    holder.unload_lora_weights()


def save_lora(pipe: Any, directory: Path, layers: dict[str, Any], weight_name: str) -> Path:
    """A LoRA saved as diffusers saves them (the format the Lightning LoRA ships in)."""
    type(pipe).save_lora_weights(directory, transformer_lora_layers=layers, weight_name=weight_name)
    return directory / weight_name


# --- the tiny model's parts ----------------------------------------------------------------------


def build_tokenizer() -> Any:
    """A byte-level BPE with no merges: every byte is a token, so any text encodes; plus the Qwen
    chat and vision special tokens. Built here: nothing is downloaded."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import Qwen2Tokenizer

    vocab = {symbol: index for index, symbol in enumerate(sorted(ByteLevel.alphabet()))}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[])
    tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS[1:])})
    return tokenizer


def tiny_processor(tokenizer: Any) -> Any:
    # Fewer pixels than the real processor's default so the tiny vision tower sees few patches;
    # patch size, merge size and temporal patch size match the real model.
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    image_processor = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=112 * 112)
    return processor_class()(image_processor=image_processor, tokenizer=tokenizer)


def tiny_text_encoder(tokenizer: Any) -> Any:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    config = Qwen2_5_VLConfig(
        text_config={
            "hidden_size": TINY_TEXT_HIDDEN,
            "intermediate_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
            "rope_scaling": {"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
            "rope_theta": 1000000.0,
            "vocab_size": len(tokenizer),
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
        },
        vision_config={"depth": 2, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2, "out_hidden_size": 16},
        hidden_size=TINY_TEXT_HIDDEN,
        vocab_size=len(tokenizer),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
    )
    return Qwen2_5_VLForConditionalGeneration(config)


def published_scheduler() -> Any:
    """Qwen/Qwen-Image-Edit-2511 scheduler/scheduler_config.json (dynamic shifting, exponential
    time shift, the last sigma stretched to 0.02)."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(
        base_image_seq_len=256,
        base_shift=0.5,
        max_image_seq_len=8192,
        max_shift=0.9,
        num_train_timesteps=1000,
        shift=1.0,
        shift_terminal=0.02,
        time_shift_type="exponential",
        use_dynamic_shifting=True,
    )


# --- tokens and FLOPs, from the pipeline's and the processor's own constants ---------------------


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


def text_tokens(prompt: str, images: int) -> TextTokens:
    """The pipeline's prompt template: a system prompt (dropped after encoding), 'Picture N:' with
    the image's merged vision tokens per photo, the prompt, and the chat markers."""
    system_tokens = 64  # QwenImageEditPlusPipeline.prompt_template_encode_start_idx
    per_image = vision_patches_per_image() // 4 + 8  # 2x2 merge; 'Picture N: ' and the vision markers
    chat_markers = 8
    encoder = system_tokens + images * per_image + prompt_tokens(prompt) + chat_markers
    return TextTokens(encoder=encoder, transformer=encoder - system_tokens)


_PASS_FLOPS: weakref.WeakKeyDictionary[Any, dict[tuple[tuple[int, int], int, int], int]] = weakref.WeakKeyDictionary()


def transformer_pass_flops(transformer: Any, output_grid: tuple[int, int], references: int, text_length: int) -> int:
    """One forward, counted once per model and shape (the plan's requests share shapes)."""
    counts = _PASS_FLOPS.setdefault(transformer, {})
    key = (output_grid, references, text_length)
    if key not in counts:
        counts[key] = count_transformer_pass(transformer, output_grid, references, text_length)
    return counts[key]


def count_transformer_pass(transformer: Any, output_grid: tuple[int, int], references: int, text_length: int) -> int:
    """One forward of the transformer: the noisy latent plus each reference photo's latent, and the text."""
    import torch

    reference_grid = reference_latent_grid()
    shapes = [(1, *output_grid)] + [(1, *reference_grid)] * references
    image_tokens = sum(frames * height * width for frames, height, width in shapes)
    with torch.device("meta"):
        hidden = torch.empty(1, image_tokens, transformer.config.in_channels, dtype=torch.bfloat16)
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
    transformer: Any, shape: RequestShape, prompt: TextTokens, negative: TextTokens, *, steps_counted: int = 1
) -> int:
    """The denoising loop: ``steps_counted`` steps run under the counter (each one pass, or two with
    true CFG as the pipeline does: one with the prompt, one with the negative prompt), scaled to
    ``shape.steps``. Every step has the same shapes, which the tests check by counting all of them."""
    references = 2 if shape.garment_image else 1
    grid = output_latent_grid(shape.output_pixels)
    count = transformer_pass_flops if steps_counted == 1 else count_transformer_pass
    counted = 0
    for _ in range(steps_counted):
        counted += count(transformer, grid, references, prompt.transformer)
        if shape.true_cfg:
            counted += count(transformer, grid, references, negative.transformer)
    return counted * shape.steps // steps_counted


def text_encoder_flops(text_encoder: Any, tokens: TextTokens, images: int) -> int:
    """The language model counted on meta at the encoder's length. The vision tower's window
    indexing needs real grid values, so it is estimated: 2 FLOPs per parameter per patch (its
    attention, over at most a few hundred patches a window, is left out: under 10%)."""
    import torch

    language_model = text_encoder.model.language_model
    width = language_model.config.hidden_size
    with torch.device("meta"):
        embeddings = torch.empty(1, tokens.encoder, width, dtype=torch.bfloat16)
        positions = torch.zeros(3, 1, tokens.encoder, dtype=torch.long)
    language = counted_flops(lambda: language_model(inputs_embeds=embeddings, position_ids=positions))
    vision = 2 * parameter_count(text_encoder.model.visual) * vision_patches_per_image() * images
    return language + vision


def vae_flops(vae: Any, shape: RequestShape) -> int:
    """Encoding each photo at VAE_IMAGE_SIZE and decoding the result (5-D: the VAE is a video one)."""
    import torch

    reference = reference_latent_grid()
    output = output_latent_grid(shape.output_pixels)
    references = 2 if shape.garment_image else 1
    z_dim = vae.config.z_dim
    with torch.device("meta"):
        photo = torch.empty(1, 3, 1, reference[0] * 16, reference[1] * 16, dtype=torch.bfloat16)
        latent = torch.empty(1, z_dim, 1, output[0] * 2, output[1] * 2, dtype=torch.bfloat16)
    return references * counted_flops(lambda: vae.encode(photo)) + counted_flops(lambda: vae.decode(latent))


FAMILY = QwenImageEditFamily()

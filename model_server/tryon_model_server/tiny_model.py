"""Write a tiny random-weight Qwen-Image-Edit model directory, offline.

The directory has the layout and classes of the published ``Qwen/Qwen-Image-Edit-2511``
repository (``model_index.json``, ``transformer/``, ``vae/``, ``text_encoder/``, ``tokenizer/``,
``processor/``, ``scheduler/``), so the server loads it with the same
``QwenImageEditPlusPipeline.from_pretrained`` call as the real weights. Every size is small
(a few MB in all) and every weight is random: the images it makes are noise, but every code path
(prompt template, vision tokens, VAE, transformer, scheduler, LoRA loading) runs for real.

Nothing is downloaded: the tokenizer is a byte-level BPE built here from the 256 byte symbols
plus the Qwen chat and vision special tokens.

    python -m tryon_model_server.tiny_model DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKLQwenImage,
    FlowMatchEulerDiscreteScheduler,
    QwenImageEditPlusPipeline,
    QwenImageTransformer2DModel,
)
from tokenizers.pre_tokenizers import ByteLevel
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2Tokenizer
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from tryon_model_server.processor import ImageOnlyQwen2VLProcessor

# The special tokens Qwen2.5-VL's tokenizer and the pipeline's prompt template use.
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
TEXT_HIDDEN = 16
Z_DIM = 4


def build_tokenizer() -> Qwen2Tokenizer:
    """A byte-level BPE with no merges: every byte is a token, so any text encodes."""
    vocab = {symbol: index for index, symbol in enumerate(sorted(ByteLevel.alphabet()))}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[])
    tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS[1:])})
    return tokenizer


def build_processor(tokenizer: Qwen2Tokenizer) -> ImageOnlyQwen2VLProcessor:
    # Fewer pixels than the real processor's default so the tiny vision tower sees few patches;
    # patch size, merge size and temporal patch size match the real model.
    image_processor = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=112 * 112)
    return ImageOnlyQwen2VLProcessor(image_processor=image_processor, tokenizer=tokenizer)


def build_text_encoder(tokenizer: Qwen2Tokenizer) -> Qwen2_5_VLForConditionalGeneration:
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    config = Qwen2_5_VLConfig(
        text_config={
            "hidden_size": TEXT_HIDDEN,
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
        hidden_size=TEXT_HIDDEN,
        vocab_size=len(tokenizer),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
    )
    return Qwen2_5_VLForConditionalGeneration(config)


def build_scheduler() -> FlowMatchEulerDiscreteScheduler:
    """The published scheduler config of Qwen-Image (dynamic shifting, exponential time shift)."""
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


def build_pipeline(seed: int = 0) -> QwenImageEditPlusPipeline:
    torch.manual_seed(seed)
    transformer = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=Z_DIM * 4,
        out_channels=Z_DIM,
        num_layers=2,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=TEXT_HIDDEN,
        guidance_embeds=False,
        axes_dims_rope=(8, 4, 4),
        zero_cond_t=True,  # as Qwen-Image-Edit-2511's transformer config
    )
    # Four downsamplings (the real VAE has three): the pipeline always encodes its input images at
    # about 1 MP, and a 16x smaller latent keeps the tiny transformer's sequence short on a CPU.
    vae = AutoencoderKLQwenImage(
        base_dim=4,
        z_dim=Z_DIM,
        dim_mult=[1, 1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, False, True, True],
        latents_mean=[0.0] * Z_DIM,
        latents_std=[1.0] * Z_DIM,
    )
    scheduler = build_scheduler()
    tokenizer = build_tokenizer()
    return QwenImageEditPlusPipeline(
        scheduler=scheduler,
        vae=vae,
        text_encoder=build_text_encoder(tokenizer),
        tokenizer=tokenizer,
        processor=build_processor(tokenizer),
        transformer=transformer,
    )


def write_tiny_model(directory: Path, seed: int = 0) -> Path:
    return save_model_directory(
        build_pipeline(seed), directory, {"what": "random weights for tests; its images are noise", "seed": seed}
    )


def save_model_directory(pipe: QwenImageEditPlusPipeline, directory: Path, note: dict[str, object]) -> Path:
    """Save ``pipe`` with the published repository's layout and processor naming."""
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = write_tiny_model(args.directory, args.seed)
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    print(f"tiny model written to {path} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

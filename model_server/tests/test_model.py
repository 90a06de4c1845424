"""The model layer: the tiny model's classes, output sizes, prompts, the few-step LoRA."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model_state_dict

from tests.conftest import photo
from tryon_model_server.contract import TryOnRequest
from tryon_model_server.model import QwenEditTryOnModel, output_size
from tryon_model_server.prompts import BACKGROUNDS, tryon_prompt
from tryon_model_server.refusal import is_refused
from tryon_model_server.settings import DEFAULT_BLOCKED_TERMS, LIGHTNING_STEPS, ServerSettings

# model_index.json of the published Qwen/Qwen-Image-Edit-2511 repository.
PUBLISHED_CLASSES = {
    "_class_name": "QwenImageEditPlusPipeline",
    "processor": ["transformers", "Qwen2VLProcessor"],
    "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
    "text_encoder": ["transformers", "Qwen2_5_VLForConditionalGeneration"],
    "tokenizer": ["transformers", "Qwen2Tokenizer"],
    "transformer": ["diffusers", "QwenImageTransformer2DModel"],
    "vae": ["diffusers", "AutoencoderKLQwenImage"],
}


def test_the_tiny_model_has_the_published_layout_and_classes(tiny_model_dir: Path) -> None:
    index = json.loads((tiny_model_dir / "model_index.json").read_text())
    assert {key: index[key] for key in PUBLISHED_CLASSES} == PUBLISHED_CLASSES
    for folder in ("transformer", "vae", "text_encoder", "tokenizer", "processor", "scheduler"):
        assert (tiny_model_dir / folder).is_dir(), folder
    assert json.loads((tiny_model_dir / "transformer" / "config.json").read_text())["zero_cond_t"] is True
    assert sum(p.stat().st_size for p in tiny_model_dir.rglob("*") if p.is_file()) < 5_000_000


def test_a_named_garment_category_says_which_clothes_change_and_auto_adds_nothing() -> None:
    auto = tryon_prompt("a pleated skirt", "studio", False).prompt
    assert tryon_prompt("a pleated skirt", "studio", False, "auto").prompt == auto
    bottoms = tryon_prompt("a pleated skirt", "studio", False, "bottoms").prompt
    assert "lower-body garment" in bottoms and "keep the top" in bottoms and "lower-body" not in auto
    assert "one-piece" in tryon_prompt("a red dress", "studio", True, "one-pieces").prompt


@pytest.mark.parametrize(
    ("size", "pixels", "multiple", "expected"),
    [
        ((1000, 1000), 1024 * 1024, 16, (1024, 1024)),
        ((600, 900), 1024 * 1024, 16, (832, 1248)),
        ((1536, 614), 1024 * 1024, 16, (1616, 640)),
        ((300, 450), 256 * 256, 32, (224, 320)),
        ((10, 1000), 64 * 64, 32, (32, 640)),
    ],
)
def test_output_size_keeps_the_persons_aspect_ratio(
    size: tuple[int, int], pixels: int, multiple: int, expected: tuple[int, int]
) -> None:
    width, height = output_size(size, pixels, multiple)
    assert (width, height) == expected
    assert width % multiple == 0 and height % multiple == 0


def test_prompts_differ_per_case_and_carry_the_description() -> None:
    prompts = {
        (mode, garment): tryon_prompt("  Black leather jacket. ", mode, garment).prompt
        for mode in ("studio", "environment")
        for garment in (False, True)
    }
    assert len(set(prompts.values())) == 4
    for (mode, garment), prompt in prompts.items():
        assert "Black leather jacket" in prompt
        assert BACKGROUNDS[mode] in prompt
        assert ("Picture 2" in prompt) is garment


@pytest.mark.parametrize(
    ("description", "refused"),
    [("nude", True), ("Topless at the beach", True), ("denim jacket", False), ("nudeish beige trench coat", False)],
)
def test_refusal_matches_whole_words(description: str, refused: bool) -> None:
    assert is_refused(description, DEFAULT_BLOCKED_TERMS) is refused


def write_tiny_lora(model: QwenEditTryOnModel, directory: Path) -> Path:
    """A rank-2 LoRA on the tiny transformer's attention, with non-zero weights, saved as
    diffusers saves LoRAs (the format the Lightning LoRA ships in)."""
    transformer = model.pipe.transformer
    transformer.add_adapter(
        LoraConfig(r=2, lora_alpha=2, target_modules=["to_q", "to_k", "to_v", "to_out.0"], init_lora_weights=False)
    )
    layers = get_peft_model_state_dict(transformer)
    type(model.pipe).save_lora_weights(
        directory, transformer_lora_layers=layers, weight_name="fewstep-lora.safetensors"
    )
    return directory / "fewstep-lora.safetensors"


def test_a_fewstep_lora_from_a_local_path_is_merged_and_changes_the_defaults(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    env = {"TRYON_DEVICE": "cpu", "TRYON_OUTPUT_PIXELS": str(128 * 128)}
    lora_file = write_tiny_lora(QwenEditTryOnModel.load(ServerSettings.from_env(env, tiny_model_dir)), tmp_path)
    plain_settings = ServerSettings.from_env({**env, "TRYON_DEFAULT_STEPS": str(LIGHTNING_STEPS)}, tiny_model_dir)
    lora_settings = ServerSettings.from_env({**env, "TRYON_LORA_PATH": str(lora_file)}, tiny_model_dir)
    assert lora_settings.default_steps == LIGHTNING_STEPS
    assert lora_settings.true_cfg_scale == 1.0

    plain = QwenEditTryOnModel.load(plain_settings)
    with_lora = QwenEditTryOnModel.load(lora_settings)
    before = plain.pipe.transformer.state_dict()
    after = with_lora.pipe.transformer.state_dict()
    assert before.keys() == after.keys(), "the LoRA is fused into the base weights, not left as adapters"
    changed = [name for name in before if not torch.equal(before[name], after[name])]
    assert changed and all(any(part in name for part in ("to_q", "to_k", "to_v", "to_out")) for name in changed)

    request = TryOnRequest(photo((120, 160)), None, "green parka", "environment", 3, "png", None)
    assert with_lora.generate(request).tobytes() != plain.generate(request).tobytes()

"""The model layer, for each family: the tiny model's classes, output sizes, prompts, and (Qwen) the
few-step LoRA."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model_state_dict

from tests.conftest import KLEIN, QWEN, photo
from tryon_model_server.contract import TryOnRequest
from tryon_model_server.families import FAMILY_NAMES, get_family
from tryon_model_server.families.qwen_image_edit import LIGHTNING, save_lora
from tryon_model_server.model import DiffusersTryOnModel, output_size
from tryon_model_server.prompts import BACKGROUNDS
from tryon_model_server.refusal import is_refused
from tryon_model_server.settings import DEFAULT_BLOCKED_TERMS, ServerSettings

# model_index.json of each published repository (Qwen/Qwen-Image-Edit-2511 and
# black-forest-labs/FLUX.2-klein-4B). The tokenizer class: klein publishes Qwen2TokenizerFast, which
# transformers 5 makes the same class as Qwen2Tokenizer (the one it writes).
PUBLISHED_CLASSES = {
    QWEN: {
        "_class_name": "QwenImageEditPlusPipeline",
        "processor": ["transformers", "Qwen2VLProcessor"],
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
        "text_encoder": ["transformers", "Qwen2_5_VLForConditionalGeneration"],
        "tokenizer": ["transformers", "Qwen2Tokenizer"],
        "transformer": ["diffusers", "QwenImageTransformer2DModel"],
        "vae": ["diffusers", "AutoencoderKLQwenImage"],
    },
    KLEIN: {
        "_class_name": "Flux2KleinPipeline",
        "is_distilled": True,
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
        "text_encoder": ["transformers", "Qwen3ForCausalLM"],
        "tokenizer": ["transformers", "Qwen2Tokenizer"],
        "transformer": ["diffusers", "Flux2Transformer2DModel"],
        "vae": ["diffusers", "AutoencoderKLFlux2"],
    },
}


def test_the_tiny_model_has_the_published_layout_and_classes(family: str, tiny_model_dir: Path) -> None:
    index = json.loads((tiny_model_dir / "model_index.json").read_text())
    expected = PUBLISHED_CLASSES[family]
    assert {key: index.get(key) for key in expected} == expected
    folders = [key for key, value in expected.items() if isinstance(value, list)]
    for folder in folders:
        assert (tiny_model_dir / folder).is_dir(), folder
    if family == QWEN:
        assert json.loads((tiny_model_dir / "transformer" / "config.json").read_text())["zero_cond_t"] is True
    else:
        text = json.loads((tiny_model_dir / "text_encoder" / "config.json").read_text())
        assert text["num_hidden_layers"] >= 27, "the pipeline reads hidden states 9, 18 and 27"
    assert sum(p.stat().st_size for p in tiny_model_dir.rglob("*") if p.is_file()) < 5_000_000


@pytest.mark.parametrize("family_name", FAMILY_NAMES)
def test_a_named_garment_category_says_which_clothes_change_and_auto_adds_nothing(family_name: str) -> None:
    family = get_family(family_name)
    auto = family.prompt("a pleated skirt", "studio", False).prompt
    assert family.prompt("a pleated skirt", "studio", False, "auto").prompt == auto
    bottoms = family.prompt("a pleated skirt", "studio", False, "bottoms").prompt
    assert "lower-body garment" in bottoms and "keep the top" in bottoms and "lower-body" not in auto
    assert "one-piece" in family.prompt("a red dress", "studio", True, "one-pieces").prompt


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


@pytest.mark.parametrize(("name", "garment_label"), [(QWEN, "Picture 2"), (KLEIN, "image 2")])
def test_prompts_differ_per_case_and_carry_the_description(name: str, garment_label: str) -> None:
    family = get_family(name)
    prompts = {
        (mode, garment): family.prompt("  Black leather jacket. ", mode, garment).prompt
        for mode in ("studio", "environment")
        for garment in (False, True)
    }
    assert len(set(prompts.values())) == 4
    for (mode, garment), prompt in prompts.items():
        assert "Black leather jacket" in prompt
        assert BACKGROUNDS[mode] in prompt
        assert (garment_label in prompt) is garment


@pytest.mark.parametrize(
    ("description", "refused"),
    [("nude", True), ("Topless at the beach", True), ("denim jacket", False), ("nudeish beige trench coat", False)],
)
def test_refusal_matches_whole_words(description: str, refused: bool) -> None:
    assert is_refused(description, DEFAULT_BLOCKED_TERMS) is refused


def write_tiny_lora(model: DiffusersTryOnModel, directory: Path) -> Path:
    """A rank-2 LoRA on the tiny transformer's attention, with non-zero weights, saved as
    diffusers saves LoRAs (the format the Lightning LoRA ships in)."""
    transformer = model.pipe.transformer
    transformer.add_adapter(
        LoraConfig(r=2, lora_alpha=2, target_modules=["to_q", "to_k", "to_v", "to_out.0"], init_lora_weights=False)
    )
    return save_lora(model.pipe, directory, get_peft_model_state_dict(transformer), "fewstep-lora.safetensors")


def test_a_fewstep_lora_from_a_local_path_is_merged_and_changes_the_defaults(
    tiny_qwen_dir: Path, tmp_path: Path
) -> None:
    env = {"TRYON_DEVICE": "cpu", "TRYON_OUTPUT_PIXELS": str(128 * 128)}
    lora_file = write_tiny_lora(DiffusersTryOnModel.load(ServerSettings.from_env(env, tiny_qwen_dir)), tmp_path)
    plain_settings = ServerSettings.from_env({**env, "TRYON_DEFAULT_STEPS": str(LIGHTNING.default)}, tiny_qwen_dir)
    lora_settings = ServerSettings.from_env({**env, "TRYON_LORA_PATH": str(lora_file)}, tiny_qwen_dir)
    assert lora_settings.default_steps == LIGHTNING.default
    assert lora_settings.true_cfg_scale == 1.0

    plain = DiffusersTryOnModel.load(plain_settings)
    with_lora = DiffusersTryOnModel.load(lora_settings)
    before = plain.pipe.transformer.state_dict()
    after = with_lora.pipe.transformer.state_dict()
    assert before.keys() == after.keys(), "the LoRA is fused into the base weights, not left as adapters"
    changed = [name for name in before if not torch.equal(before[name], after[name])]
    assert changed and all(any(part in name for part in ("to_q", "to_k", "to_v", "to_out")) for name in changed)

    request = TryOnRequest(photo((120, 160)), None, "green parka", "environment", 3, "png", None)
    assert with_lora.generate(request).tobytes() != plain.generate(request).tobytes()

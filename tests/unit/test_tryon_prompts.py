"""Prompts for the image models, built from the parsed description."""

from __future__ import annotations

import pytest

from tryon_api.garments.description import parse_description
from tryon_api.garments.prompts import MAX_PROMPT_CHARS, SCENES, garment_edit, garment_phrase, scene_prompt


@pytest.mark.parametrize(
    ("text", "search"),
    [
        ("Black leather jacket with white t-shirt underneath", "upper body clothing"),
        ("striped linen shirt", "upper body clothing"),
        ("blue slim jeans", "lower body clothing"),
        ("red floral summer dress", "all clothing"),
        ("grey hoodie and black joggers", "all clothing"),
    ],
)
def test_search_prompt_names_the_region_the_garment_covers(text: str, search: str) -> None:
    assert garment_edit(parse_description(text), "studio").search_prompt == search


def test_layers_read_in_order_in_the_prompt() -> None:
    description = parse_description("Black leather jacket with white t-shirt underneath")
    assert garment_phrase(description) == "black leather jacket over a white t-shirt"
    edit = garment_edit(description, "studio")
    assert "wearing a black leather jacket over a white t-shirt" in edit.prompt
    assert "white studio background" in edit.prompt
    assert "deformed" in edit.negative_prompt


def test_reference_photo_notes_follow_the_users_words_and_are_capped() -> None:
    description = parse_description("oversized denim jacket")
    edit = garment_edit(description, "environment", "Colour: light blue.  Pattern:\nsolid " + "x" * 5000, "a street")
    assert edit.prompt.index("Shopper's description") < edit.prompt.index("reference photo")
    assert "Pattern: solid" in edit.prompt
    assert "in a street" in edit.prompt
    assert len(edit.prompt) < 3000


def test_prompt_stays_within_the_model_limit_for_the_longest_description() -> None:
    description = parse_description("red wool coat " * 70)
    assert len(garment_edit(description, "studio", "y " * 5000).prompt) <= MAX_PROMPT_CHARS


def test_scene_follows_style_and_is_fixed_by_the_seed() -> None:
    formal = parse_description("navy wool suit and tie")
    casual = parse_description("white t-shirt and jeans")
    assert "office" in scene_prompt(formal, 1)
    assert "street" in scene_prompt(casual, 1)
    assert scene_prompt(formal, 41) == scene_prompt(formal, 41)
    assert len({scene_prompt(casual, seed) for seed in range(10)}) == len(SCENES["street"])

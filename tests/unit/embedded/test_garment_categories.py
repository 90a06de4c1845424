"""garment_category: tops re-dress the upper body, bottoms the legs, one-pieces both (synthetic full body
with known boxes; the bundled photos show no legs, so on them the upper body must stay as it was)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from PIL import Image

from tests.photos import ASTRONAUT, GRACE_HOPPER
from tests.unit.embedded.synthetic_person import (
    BACKGROUND,
    SKIN,
    TOP,
    TROUSERS,
    SyntheticPerson,
    crop,
    synthetic_person,
)
from tryon_api.backends.embedded.dressing import DressedPerson, dress_person
from tryon_api.backends.embedded.image_operations import rgb_array
from tryon_api.backends.embedded.leg_regions import leg_cut, resolve_category
from tryon_api.garments.colours import lookup_colour
from tryon_api.garments.description import parse_description
from tryon_api.tryon.errors import BadRequest


@cache
def person() -> SyntheticPerson:
    return synthetic_person()


@cache
def dressed(description: str, category: str) -> DressedPerson:
    p = person()
    return dress_person(p.rgb, parse_description(description), 5, analysis=p.analysis, garment_category=category)


def mean(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    return crop(image, box).reshape(-1, 3).astype(np.float32).mean(axis=0)


def near(colour: np.ndarray, name: str, tolerance: float = 60.0) -> bool:
    named = lookup_colour(name)
    assert named is not None
    return float(np.abs(colour - np.array(named.rgb, np.float32)).max()) < tolerance


def test_bottoms_dress_the_legs_and_leave_the_top() -> None:
    result, p = dressed("blue jeans", "bottoms"), person()
    assert np.array_equal(crop(result.rgb, p.chest), crop(p.rgb, p.chest))
    assert np.array_equal(crop(result.rgb, p.face), crop(p.rgb, p.face))
    for box in (p.thighs, p.shins):
        colour = mean(result.rgb, box)
        assert colour[2] > colour[0] + 60  # blue denim, no longer brown
        assert np.abs(colour - TROUSERS).max() > 50
    assert np.array_equal(crop(result.rgb, p.shoes), crop(p.rgb, p.shoes))  # trousers end at the ankles
    assert result.garment[p.thighs[1] : p.thighs[3], p.thighs[0] : p.thighs[2]].min() > 0.9
    assert result.garment[p.chest[1] : p.chest[3], p.chest[0] : p.chest[2]].max() == 0


def test_tops_leave_the_legs() -> None:
    result, p = dressed("yellow t-shirt", "tops"), person()
    assert near(mean(result.rgb, p.chest), "yellow", 70)
    for box in (p.thighs, p.shins, p.shoes):
        assert np.array_equal(crop(result.rgb, box), crop(p.rgb, box))


def test_one_pieces_dress_the_torso_and_the_legs() -> None:
    result, p = dressed("green dress", "one-pieces"), person()
    for box in (p.chest, p.thighs):
        colour = mean(result.rgb, box)
        assert colour[1] > colour[0] + 30 and colour[1] > colour[2] + 30  # green
    assert np.abs(mean(result.rgb, p.chest) - TOP).max() > 30


def test_a_skirt_covers_the_gap_between_the_legs_and_stops_above_the_ankles() -> None:
    result, p = dressed("red skirt", "bottoms"), person()
    assert crop(p.analysis.matte, p.between_knees).max() < 0.1  # background in the photo
    assert crop(result.matte, p.between_knees).min() > 0.9  # skirt in the new matte
    assert (
        mean(result.rgb, p.between_knees)[0] > 120 and np.abs(mean(result.rgb, p.between_knees) - BACKGROUND).max() > 60
    )
    assert_bare_skin(result, p)  # a knee-length skirt: below it the old trouser legs are painted as skin


def test_trousers_leave_the_gap_between_the_legs_empty() -> None:
    result, p = dressed("blue jeans", "bottoms"), person()
    assert crop(result.matte, p.between_knees).max() < 0.1


def test_shorts_end_above_the_knees_and_bare_the_legs_below() -> None:
    result, p = dressed("white shorts", "bottoms"), person()
    assert np.abs(mean(result.rgb, p.thighs) - TROUSERS).max() > 50
    assert_bare_skin(result, p)


def assert_bare_skin(result: DressedPerson, p: SyntheticPerson) -> None:
    """The shins have the face's skin hue and lightness (not the brown trousers'), the shoes are untouched."""
    shins = mean(result.rgb, p.shins)
    chroma = shins / shins.sum()
    assert np.abs(chroma - np.array(SKIN) / sum(SKIN)).max() < 0.02
    assert shins.mean() > np.mean(TROUSERS) + 40  # as light as skin, not the dark trousers
    assert np.array_equal(crop(result.rgb, p.shoes), crop(p.rgb, p.shoes))


def test_a_top_and_trousers_in_one_outfit_each_go_where_they_belong() -> None:
    result, p = dressed("yellow t-shirt and blue jeans", "auto"), person()
    assert near(mean(result.rgb, p.chest), "yellow", 70)
    thighs = mean(result.rgb, p.thighs)
    assert thighs[2] > thighs[0] + 60


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("blue jeans", "bottoms"),
        ("black pleated skirt", "bottoms"),
        ("red floral dress", "one-pieces"),
        ("white shirt and grey trousers", "one-pieces"),
        ("navy jumpsuit", "one-pieces"),
        ("grey hoodie", "tops"),
        ("navy blazer over a white shirt", "tops"),
    ],
)
def test_auto_reads_the_category_from_the_garment_words(description: str, expected: str) -> None:
    assert resolve_category("auto", parse_description(description)) == expected
    assert resolve_category("tops", parse_description(description)) == "tops"  # an explicit category wins


def test_an_unknown_category_is_refused() -> None:
    with pytest.raises(BadRequest, match="auto, tops, bottoms, one-pieces") as raised:
        resolve_category("shoes", parse_description("red shoes"))
    assert raised.value.status == 400


@pytest.mark.parametrize(
    ("noun", "kind"), [("jeans", "trousers"), ("skirt", "skirt"), ("dress", "skirt"), ("shorts", "shorts")]
)
def test_leg_cuts_follow_the_noun(noun: str, kind: str) -> None:
    assert leg_cut(parse_description(f"blue {noun}").items[0]).kind == kind


@pytest.mark.parametrize("path", [ASTRONAUT, GRACE_HOPPER], ids=["astronaut", "grace_hopper"])
def test_on_the_bundled_photos_bottoms_keep_the_upper_body(path: object) -> None:
    """Neither bundled photo shows legs (the astronaut's hips are at the bottom border): the upper body
    stays the photo's, and only the strip below the astronaut's waistband can change."""
    rgb = rgb_array(Image.open(path).convert("RGB"))  # type: ignore[arg-type]
    result = dress_person(rgb, parse_description("blue jeans"), 5, garment_category="bottoms")
    changed_rows = np.nonzero(np.abs(result.rgb.astype(int) - rgb.astype(int)).max(axis=(1, 2)) > 0)[0]
    if changed_rows.size:
        assert changed_rows.min() > 0.85 * rgb.shape[0]
    tops = dress_person(rgb, parse_description("blue jeans"), 5, garment_category="tops")
    assert np.abs(tops.rgb.astype(int) - rgb.astype(int)).max() > 50  # tops would change it

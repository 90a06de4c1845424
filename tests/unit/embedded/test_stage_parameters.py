"""One named parameter changes one effect: the rest of the picture stays byte for byte the same.

Each stage's tuning is a frozen dataclass beside its code; the whole set travels as ``PreviewParameters``.
These tests change one field and check that only what it names moved (the default renders themselves
are pinned by test_default_parameters_digest.py).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import pytest

from tests.unit.embedded.synthetic_person import synthetic_person
from tryon_api.backends.embedded import fabric
from tryon_api.backends.embedded.body_shading import BodyShadingParameters, body_shape_shading
from tryon_api.backends.embedded.dressing import DressedPerson, dress_person
from tryon_api.backends.embedded.garment_cut import CutParameters
from tryon_api.backends.embedded.garment_regions import body_geometry
from tryon_api.backends.embedded.leg_regions import LegParameters
from tryon_api.backends.embedded.necklines import NecklineParameters, NecklineStyle
from tryon_api.backends.embedded.parameters import PREVIEW_DEFAULTS, PreviewParameters
from tryon_api.backends.embedded.sample_variation import VariationParameters
from tryon_api.backends.embedded.scenes import (
    EnvironmentParameters,
    StudioParameters,
    composite_environment_array,
    composite_studio_array,
)
from tryon_api.backends.embedded.shading import ShadingParameters, garment_shading
from tryon_api.garments.description import parse_description

PATTERNS = ["striped", "pinstriped", "plaid", "checked", "polka dot", "floral", "camo", "argyle", "geometric"]
MATERIALS = ["denim", "knit", "corduroy", "wool", "linen", "quilted", "suede", "cotton"]


def grid() -> tuple[np.ndarray, np.ndarray]:
    v, u = np.mgrid[0:120, 0:150].astype(np.float32) * 0.25
    return u - 18.0, v


COLOURS = [fabric.srgb_to_linear(np.array(c, np.float32)) for c in ((31, 42, 74), (230, 230, 228), (180, 40, 40))]


@pytest.mark.parametrize(
    ("changed", "affected"),
    [
        (fabric.PatternParameters(stripe_period=4.0), "striped"),
        (fabric.PatternParameters(plaid_period=12.0), "plaid"),
        (fabric.PatternParameters(polka_radius=1.0), "polka dot"),
    ],
)
def test_a_pattern_parameter_changes_only_its_pattern(changed: fabric.PatternParameters, affected: str) -> None:
    u, v = grid()
    for pattern in PATTERNS:
        before = fabric.pattern_albedo(pattern, u, v, COLOURS, 0.1, 3)
        after = fabric.pattern_albedo(pattern, u, v, COLOURS, 0.1, 3, changed)
        assert np.array_equal(before, after) == (pattern != affected), pattern


@pytest.mark.parametrize(
    ("changed", "affected"),
    [(fabric.WeaveParameters(denim_twill=0.0), "denim"), (fabric.WeaveParameters(quilt_channel=10.0), "quilted")],
)
def test_a_weave_parameter_changes_only_its_material(changed: fabric.WeaveParameters, affected: str) -> None:
    u, v = grid()
    for material in MATERIALS:
        before = fabric.weave(material, u, v, 0.1, 3)
        after = fabric.weave(material, u, v, 0.1, 3, changed)
        assert np.array_equal(before, after) == (material != affected), material


@cache
def person_rgb_and_geometry():  # type: ignore[no-untyped-def]
    person = synthetic_person()
    return person, body_geometry(person.analysis, person.rgb.shape[:2])


def test_the_highlight_limit_changes_the_broad_light_and_not_the_folds() -> None:
    person, geometry = person_rgb_and_geometry()
    region = np.zeros(person.rgb.shape[:2], bool)
    region[180:360, 130:230] = True
    rng = np.random.default_rng(0)
    rgb = person.rgb.copy()
    rgb[region] = np.clip(rgb[region] * rng.uniform(0.7, 1.3, (int(region.sum()), 1)), 0, 255).astype(np.uint8)
    rgb[180:360, 130:230] = np.clip(rgb[180:360, 130:230] * np.linspace(0.6, 1.4, 100)[None, :, None], 0, 255)
    before = garment_shading(rgb, region, geometry)
    after = garment_shading(rgb, region, geometry, parameters=ShadingParameters(highlight=0.05))
    assert not np.array_equal(before.broad, after.broad)
    assert after.broad[region].max() < before.broad[region].max()  # the bright side is held lower
    assert np.array_equal(before.fine, after.fine) and np.array_equal(before.print_mask, after.print_mask)


def test_no_elbow_creases_changes_the_body_light_only_round_the_elbows() -> None:
    person, geometry = person_rgb_and_geometry()
    before = body_shape_shading(person.analysis.matte, geometry)
    after = body_shape_shading(person.analysis.matte, geometry, BodyShadingParameters(elbow_creases=0.0))
    changed = np.nonzero(np.abs(before - after) > 1e-3)
    assert changed[0].size
    elbows = np.stack([geometry.left_elbow, geometry.right_elbow])
    points = np.stack([changed[1], changed[0]], axis=1).astype(np.float32)
    nearest = np.min(np.linalg.norm(points[:, None, :] - elbows[None, :, :], axis=2), axis=1)
    assert nearest.max() < 0.5 * geometry.shoulder_width


@cache
def dressed(description: str, category: str, parameters: PreviewParameters = PREVIEW_DEFAULTS) -> DressedPerson:
    person = synthetic_person()
    return dress_person(
        person.rgb, parse_description(description), 9, analysis=person.analysis, garment_category=category,
        parameters=parameters,
    )  # fmt: skip


def test_no_studio_shadow_changes_only_the_background() -> None:
    result = dressed("red t-shirt", "tops")
    before = composite_studio_array(result.rgb, result.matte, result.clean_edge)
    after = composite_studio_array(result.rgb, result.matte, result.clean_edge, StudioParameters(shadow_strength=0.0))
    person = result.matte >= 1.0
    assert np.array_equal(before[person], after[person])
    assert (after[~person].astype(int) >= before[~person].astype(int)).all()  # lighter or the same
    assert not np.array_equal(before, after)


def test_no_contact_shadow_changes_only_the_scene() -> None:
    result = dressed("red t-shirt", "tops")
    before = composite_environment_array(result.rgb, result.matte, "casual", 9, result.clean_edge)
    changed = EnvironmentParameters(occlusion_strength=0.0)
    after = composite_environment_array(result.rgb, result.matte, "casual", 9, result.clean_edge, changed)
    person = result.matte >= 1.0
    assert np.array_equal(before[person], after[person]) and not np.array_equal(before, after)


def test_a_flat_key_light_changes_only_the_garment() -> None:
    flat = replace(PREVIEW_DEFAULTS, variation=VariationParameters(light_tilt=0.0, light_fall=0.0))
    before, after = dressed("grey t-shirt", "tops"), dressed("grey t-shirt", "tops", flat)
    changed = np.abs(before.rgb.astype(int) - after.rgb.astype(int)).max(axis=2) > 0
    assert changed.any()
    assert before.garment[changed].min() > 0  # every changed pixel is garment
    assert np.array_equal(before.matte, after.matte)


def test_longer_shorts_move_the_hem_and_nothing_above_it_but_the_light_read_from_the_longer_cloth() -> None:
    longer = replace(PREVIEW_DEFAULTS, legs=LegParameters(shorts_length=0.9))
    before, after = dressed("white shorts", "bottoms"), dressed("white shorts", "bottoms", longer)
    difference = np.abs(before.rgb.astype(int) - after.rgb.astype(int)).max(axis=2)
    _person, geometry = person_rgb_and_geometry()
    hip, knee = float(geometry.left_hip[1]), float(geometry.left_knee[1])
    old_hem, new_hem = round(hip + 0.55 * (knee - hip)), round(hip + 0.9 * (knee - hip))
    # Above the old hem the same shorts, their light read afresh from the longer cloth (it moves most at
    # the cloth's edges); nothing at all above the waist.
    assert difference[: round(hip - 0.2 * geometry.shoulder_width) - 2].max() == 0
    shorts = before.garment[: old_hem - 3] > 0.5
    assert difference[: old_hem - 3][shorts].mean() < 4
    thighs = synthetic_person().thighs
    newly_covered = difference[old_hem + 3 : new_hem - 3, thighs[0] : thighs[2]]
    assert newly_covered.mean() > 40  # below it: white cloth where the brown trousers were
    assert difference[new_hem + 12 :].max() == 0  # (the cloth reaches 0.08 shoulder widths into the soft edge)
    # Leg parameters do nothing to a top.
    assert np.array_equal(dressed("grey t-shirt", "tops").rgb, dressed("grey t-shirt", "tops", longer).rgb)


def test_a_deeper_v_changes_v_necks_only() -> None:
    deeper = replace(PREVIEW_DEFAULTS, necklines=NecklineParameters(v=NecklineStyle("v", 0.45, 1.35, 0.0)))
    before, after = dressed("green v-neck sweater", "tops"), dressed("green v-neck sweater", "tops", deeper)
    assert not np.array_equal(before.rgb, after.rgb)
    assert after.garment.sum() < before.garment.sum()  # more of the chest bared
    assert np.array_equal(dressed("grey t-shirt", "tops").rgb, dressed("grey t-shirt", "tops", deeper).rgb)


def test_longer_short_sleeves_change_short_sleeved_garments_only() -> None:
    longer = replace(PREVIEW_DEFAULTS, cut=CutParameters(short_sleeve=0.8))
    before = dressed("white short-sleeve t-shirt", "tops")
    after = dressed("white short-sleeve t-shirt", "tops", longer)
    assert after.garment.sum() > before.garment.sum()  # the sleeve covers more of the arm
    assert np.array_equal(dressed("grey t-shirt", "tops").rgb, dressed("grey t-shirt", "tops", longer).rgb)

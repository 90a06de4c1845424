"""The preview's stages one at a time, on synthetic bodies and masks whose geometry is known.

Covers the stages that had no unit test: necklines, garment structure, garment coordinates, the light
(shading), the garment's cut and the painted skin; and the new sample variation. Each test checks a
geometric or colour property a wrong change would break, not only that the stage runs.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import cv2
import numpy as np
import pytest

from tests.unit.embedded.synthetic_person import SKIN, synthetic_person
from tryon_api.backends.embedded import fabric
from tryon_api.backends.embedded.garment_coordinates import ARM_U, LEG_U, SHOULDER_CM, garment_coordinates
from tryon_api.backends.embedded.garment_cut import garment_layout, shoulder_line, sleeve_fraction
from tryon_api.backends.embedded.garment_regions import (
    BodyGeometry,
    body_geometry,
    head_mask,
    old_clothing_mask,
    refine_matte,
    skin_probability,
)
from tryon_api.backends.embedded.garment_structure import (
    GarmentStructure,
    draw_structure,
    front_opening,
    garment_structure,
)
from tryon_api.backends.embedded.leg_regions import leg_points
from tryon_api.backends.embedded.necklines import collar_shape, neck_centre_x, neckline_edge, neckline_style
from tryon_api.backends.embedded.sample_variation import (
    VariationParameters,
    drape,
    key_light,
    sample_variation,
)
from tryon_api.backends.embedded.shading import LUMA, garment_shading
from tryon_api.backends.embedded.skin_painting import paint_bare_arms, paint_neck
from tryon_api.garments.description import parse_description

SHAPE = (400, 400)


def geometry() -> BodyGeometry:
    """Facing the camera, upright: shoulders 160 px apart at y 170, hips at y 380, arms hanging."""

    def point(x: float, y: float) -> np.ndarray:
        return np.array([x, y], np.float32)

    return BodyGeometry(
        left_shoulder=point(280, 170),
        right_shoulder=point(120, 170),
        left_elbow=point(300, 270),
        right_elbow=point(100, 270),
        left_wrist=point(305, 360),
        right_wrist=point(95, 360),
        left_hip=point(250, 380),
        right_hip=point(150, 380),
        chin=point(200, 95),
        face_box=(160, 10, 240, 97),
        hands=np.zeros((0, 2), np.float32),
    )


def item(text: str):  # type: ignore[no-untyped-def]
    description = parse_description(text)
    assert description.primary is not None
    return description.primary


# --- necklines ---------------------------------------------------------------------------------------


def test_neckline_styles_by_kind() -> None:
    assert neckline_style(item("grey v-neck sweater")).kind == "v"
    assert neckline_style(item("black turtleneck")).collar > 0.5
    assert neckline_style(item("red hoodie")).kind == "hoodie"
    assert neckline_style(item("white collared shirt")).kind == "shirt"
    assert neckline_style(item("navy t-shirt")).kind == "crew"


def test_a_v_neck_dips_deeper_than_a_crew_neck_and_both_meet_the_same_shoulders() -> None:
    g = geometry()
    v = neckline_edge(SHAPE[1], g, neckline_style(item("grey v-neck sweater")))
    crew = neckline_edge(SHAPE[1], g, neckline_style(item("navy t-shirt")))
    centre = round(neck_centre_x(g))
    assert v[centre] - crew[centre] > 0.15 * g.shoulder_width  # y grows downwards
    for x in (centre - 75, centre + 75):  # out on the shoulders the cut is the same
        assert abs(v[x] - crew[x]) < 1.5
    # Symmetric about the neck's centre, and the V is lowest at the centre line.
    assert np.allclose(v[centre - 40 : centre], v[centre + 40 : centre : -1], atol=1.0)
    assert int(np.argmax(v[centre - 60 : centre + 61])) in range(58, 63)


def test_a_turtleneck_rises_above_the_neck_base_and_stays_round_the_neck() -> None:
    g = geometry()
    collar = collar_shape(SHAPE, g, neckline_style(item("black turtleneck")))
    assert collar is not None
    rows = np.nonzero((collar.mask > 0.5).any(axis=1))[0]
    assert rows.min() < g.neck_base_y - 10  # it rises up the neck
    cols = np.nonzero((collar.mask > 0.5).any(axis=0))[0]
    centre = neck_centre_x(g)
    assert cols.min() > centre - 2.5 * g.neck_half_width and cols.max() < centre + 2.5 * g.neck_half_width
    assert collar_shape(SHAPE, g, neckline_style(item("navy t-shirt"))) is None  # a crew neck has none
    hood = collar_shape(SHAPE, g, neckline_style(item("red hoodie")))
    assert hood is not None
    assert np.ptp(np.nonzero(hood.silhouette > 0.5)[1]) > np.ptp(cols)  # a hood lies wider than a collar


# --- garment structure -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("white shirt", GarmentStructure(buttons=6)),
        ("navy polo", GarmentStructure(buttons=2)),
        ("grey hoodie", GarmentStructure(drawstrings=True)),
        ("green anorak", GarmentStructure(zip=True)),
    ],
)
def test_structure_by_kind(text: str, expected: GarmentStructure) -> None:
    assert garment_structure(item(text), None) == expected


def test_an_open_jacket_implies_an_inner_layer_that_contrasts() -> None:
    dark = garment_structure(item("black blazer"), None)
    light = garment_structure(item("white blazer"), None)
    assert dark.opening and dark.inner is not None and dark.inner.noun == "shirt"
    assert dark.inner.colour is not None and dark.inner.colour.name == "white"
    assert light.inner is not None and light.inner.colour is not None and light.inner.colour.name == "navy"


@cache
def flat_coordinates():  # type: ignore[no-untyped-def]
    return garment_coordinates(geometry(), SHAPE, np.ones(SHAPE, np.float32))


def test_buttons_and_the_placket_lie_on_the_centre_line_below_the_start() -> None:
    coords = flat_coordinates()
    grey = np.full((*SHAPE, 3), 0.3, np.float32)
    drawn = draw_structure(grey, coords, geometry(), GarmentStructure(buttons=6), start_along=20.0)
    changed = np.abs(drawn - grey).max(axis=2) > 0.02
    assert changed.any()
    assert np.abs(coords.across[changed]).max() < 0.06 * geometry().shoulder_width
    assert coords.along[changed].min() > 20.0 - 0.02 * geometry().shoulder_width
    assert not (changed & coords.on_arm).any()


def test_a_cardigans_opening_closes_in_a_v() -> None:
    coords = flat_coordinates()
    opening, _lapel, _gap = front_opening(coords, geometry(), item("grey cardigan"), cardigan=True)
    widths = [int(opening[y].sum()) for y in (160, 180, 200)]
    assert widths[0] > widths[1] > widths[2] >= 0
    assert opening[170, 200]  # the centre line is open near the top


# --- garment coordinates -----------------------------------------------------------------------------


def test_coordinates_wrap_the_torso_as_a_cylinder() -> None:
    coords, g = flat_coordinates(), geometry()
    row = 250
    centre = round(g.centre_x)
    assert abs(coords.u[row, centre]) < 0.5
    assert np.allclose(coords.u[row, centre - 50 : centre], -coords.u[row, centre + 50 : centre : -1], atol=0.5)
    step_middle = abs(coords.u[row, centre + 1] - coords.u[row, centre])
    step_side = abs(coords.u[row, centre + 60] - coords.u[row, centre + 59])
    assert step_side > 1.15 * step_middle  # the side turns away: more cloth per pixel
    assert np.all(np.diff(coords.v[150:380, centre]) > 0)  # down the body
    assert coords.v[380, centre] - coords.v[150, centre] == pytest.approx(
        230 * SHOULDER_CM / g.shoulder_width, rel=0.01
    )


def test_arms_and_legs_get_bands_of_their_own() -> None:
    g = geometry()
    coords = flat_coordinates()
    assert abs(coords.u[320, 302] - ARM_U) < 20  # on the left forearm
    points = leg_points(g)
    legs = np.zeros(SHAPE, bool)
    legs[385:400, 140:260] = True
    joints = tuple((points[f"{s}_hip"], points[f"{s}_knee"], points[f"{s}_ankle"]) for s in ("left", "right"))
    with_legs = garment_coordinates(g, SHAPE, np.ones(SHAPE, np.float32), legs=(legs, joints))
    assert np.abs(with_legs.u[legs] - LEG_U).max() < 20
    assert np.array_equal(with_legs.u[~legs], coords.u[~legs])  # the rest as before


# --- shading -----------------------------------------------------------------------------------------


def lit_garment() -> tuple[np.ndarray, np.ndarray]:
    """A garment half white, half navy, under one light falling off to the right, with a bright badge."""
    height, width = SHAPE
    light = np.linspace(1.0, 0.6, width, dtype=np.float32)[None, :].repeat(height, axis=0)
    albedo = np.where(np.arange(height)[:, None, None] < 260, np.float32(0.7), np.float32(0.02)) * np.ones(
        3, np.float32
    )
    linear = albedo * light[..., None]
    linear[200:215, 190:205] = (0.9, 0.1, 0.1)  # a red badge on the white half
    rgb = fabric.linear_to_srgb(linear)
    region = np.zeros(SHAPE, bool)
    region[170:380, 110:290] = True
    return rgb, region


def test_shading_divides_out_the_garments_colours_and_fills_in_badges() -> None:
    rgb, region = lit_garment()
    shading = garment_shading(rgb, region, geometry())
    # White and navy under the same light give about the same light: the colours are gone.
    white_side, navy_side = shading.broad[235, 130:270], shading.broad[300, 130:270]
    assert np.abs(white_side - navy_side).max() < 0.2  # their albedos differ 35 times
    assert white_side[0] > white_side[-1]  # and the light's fall-off to the right stays
    assert shading.print_mask[207, 197]  # the badge is print
    assert abs(float(shading.fine[200:215, 190:205].mean()) - 1.0) < 0.05  # no ghost of it in the folds


def test_shading_of_a_region_too_small_to_read_is_the_bodys_own() -> None:
    rgb, _region = lit_garment()
    body = np.full(SHAPE, 0.9, np.float32)
    region = np.zeros(SHAPE, bool)
    region[0:5, 0:5] = True
    shading = garment_shading(rgb, region, geometry(), body)
    assert np.array_equal(shading.broad, body) and np.all(shading.fine == 1.0)


# --- garment cut -------------------------------------------------------------------------------------


def test_sleeve_fractions() -> None:
    assert sleeve_fraction(item("black sleeveless top")) == 0.0
    assert sleeve_fraction(item("white short-sleeve shirt")) == pytest.approx(0.42)
    assert sleeve_fraction(item("navy sweater")) == 1.0
    assert sleeve_fraction(None) == 1.0


def test_the_shoulder_line_falls_from_the_neck_to_the_shoulders() -> None:
    g = geometry()
    line = shoulder_line(g, np.arange(SHAPE[1], dtype=np.float32))
    centre = round(g.centre_x)
    assert line[centre] < line[centre + 60] < line[centre + 100]
    assert line[centre - 60] == pytest.approx(line[centre + 60], abs=0.5)


@cache
def person_layout(text: str):  # type: ignore[no-untyped-def]
    p = synthetic_person()
    shape = p.rgb.shape[:2]
    g = body_geometry(p.analysis, shape)
    matte = refine_matte(p.rgb, p.analysis.matte)
    head = head_mask(shape, p.analysis, g)
    skin = skin_probability(p.rgb, p.analysis, g)
    old = old_clothing_mask(p.rgb, matte, head, skin, g)
    garment_item = item(text)
    layout = garment_layout(
        p.rgb, p.analysis, g, matte, head, skin, old, neckline_style(garment_item), sleeve_fraction(garment_item)
    )
    return p, g, layout


def test_the_cut_covers_the_chest_never_the_head_and_short_sleeves_bare_the_forearms() -> None:
    p, _g, layout = person_layout("white short-sleeve t-shirt")
    x0, y0, x1, y1 = p.chest
    assert layout.garment[y0:y1, x0:x1].all()
    assert not (layout.garment & layout.head).any()
    forearm = (slice(300, 340), slice(100, 106))  # the right forearm, between elbow and wrist
    assert layout.bare_arm[forearm].mean() > 0.8 and not layout.garment[forearm].any()
    assert not layout.bare_arm[180:200, 115:125].any()  # the upper arm keeps its sleeve
    long_sleeves = person_layout("white t-shirt")[2]
    assert not long_sleeves.bare_arm.any() and long_sleeves.garment[forearm].mean() > 0.8


# --- skin painting -----------------------------------------------------------------------------------


def chroma(linear: np.ndarray) -> np.ndarray:
    return linear / max(float(linear @ LUMA), 1e-4)


def test_bared_arms_are_painted_in_the_faces_skin_and_nothing_else_changes() -> None:
    p, g, layout = person_layout("white short-sleeve t-shirt")
    linear = fabric.srgb_to_linear(p.rgb)
    flat = np.ones(p.rgb.shape[:2], np.float32)
    painted = paint_bare_arms(linear.copy(), p.rgb, linear, layout.bare_arm, flat, flat, p.analysis, g)
    inside = painted[layout.bare_arm].mean(axis=0)
    skin = fabric.srgb_to_linear(np.array(SKIN, np.float32))
    assert np.abs(chroma(inside) - chroma(skin)).max() < 0.15  # skin's hue, not the grey sleeve's
    assert np.abs(chroma(inside) - chroma(linear[320, 103])).max() > 0.3
    far = cv2.dilate(layout.bare_arm.astype(np.uint8), np.ones((21, 21), np.uint8)) == 0
    assert np.array_equal(painted[far], linear[far])


def test_the_neck_is_painted_as_skin_where_a_collar_was() -> None:
    p = synthetic_person()
    shape = p.rgb.shape[:2]
    g = body_geometry(p.analysis, shape)
    rgb = p.rgb.copy()
    rgb[130:166, 164:197] = (40, 40, 90)  # a dark collar over the neck
    linear = fabric.srgb_to_linear(rgb)
    neck = np.zeros(shape, bool)
    neck[130:166, 166:195] = True
    skin = skin_probability(rgb, p.analysis, g)
    head = head_mask(shape, p.analysis, g)
    painted = paint_neck(linear.copy(), linear, neck, skin, p.analysis, g, head & (np.arange(shape[0])[:, None] < 114))
    middle = painted[140:160, 172:190].reshape(-1, 3).mean(axis=0)
    assert np.abs(chroma(middle) - chroma(fabric.srgb_to_linear(np.array(SKIN, np.float32)))).max() < 0.2
    assert float(middle @ LUMA) > 3 * float(linear[150, 180] @ LUMA)  # not the dark collar


# --- sample variation --------------------------------------------------------------------------------


def test_a_seed_decides_the_variation_and_consecutive_seeds_light_from_opposite_sides() -> None:
    assert sample_variation(7) == sample_variation(7)
    assert sample_variation(7).folds != sample_variation(8).folds
    for seed in range(20):
        assert np.sign(sample_variation(seed).light_tilt[0]) != np.sign(sample_variation(seed + 1).light_tilt[0])


def test_changing_one_variation_parameter_changes_only_its_effect() -> None:
    base = sample_variation(3)
    shifted = sample_variation(3, VariationParameters(pattern_shift_cm=2.0))
    assert shifted.folds == base.folds and shifted.light_tilt == base.light_tilt
    assert shifted.pattern_shift != base.pattern_shift and max(shifted.pattern_shift) <= 2.0
    flat_light = sample_variation(3, VariationParameters(light_tilt=0.0, light_fall=0.0))
    assert flat_light.folds == base.folds and flat_light.pattern_shift == base.pattern_shift
    assert np.all(key_light(flat_light, flat_coordinates(), geometry().shoulder_width) == 1.0)


def test_folds_are_ridges_on_the_body_and_nothing_elsewhere() -> None:
    coords, g = flat_coordinates(), geometry()
    variation = sample_variation(11)
    field = drape(variation, coords, g.shoulder_width)
    torso = (np.abs(coords.u) < 18) & (coords.v > 5) & (coords.v < 50)
    assert np.abs(field[torso]).max() > 0.1  # folds of some strength on the torso
    assert field[torso].max() > 0 > field[torso].min()  # each a lit and a shaded side
    nothing = replace(variation, folds=())
    assert not drape(nothing, coords, g.shoulder_width).any()


def test_the_key_light_is_brighter_on_the_side_it_comes_from() -> None:
    coords, g = flat_coordinates(), geometry()
    even, odd = sample_variation(4), sample_variation(5)
    centre = round(g.centre_x)
    for variation in (even, odd):
        light = key_light(variation, coords, g.shoulder_width)
        left, right = light[250, centre - 60], light[250, centre + 60]
        side = np.sign(variation.light_tilt[0])  # ``across`` is positive on the image's left
        assert np.sign(left - right) == side

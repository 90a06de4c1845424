"""The preview's most visible artefacts, measured on the bundled photos (boxes hand-measured on them)."""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab

from tests.photos import ASTRONAUT, GRACE_HOPPER
from tryon_api.backends.embedded import try_on
from tryon_api.backends.embedded.dressing import DressedPerson, dress_person
from tryon_api.backends.embedded.scenes import composite_environment_array, composite_studio_array, paint_scene
from tryon_api.garments.description import parse_description

pytestmark = pytest.mark.integration


@cache
def lab_render(path: str, description: str) -> np.ndarray:
    image = try_on(Image.open(path).convert("RGB"), description, mode="studio", seed=7).image
    return rgb2lab(np.asarray(image) / 255.0)


def median_lab(lab: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.median(lab[y0:y1, x0:x1].reshape(-1, 3), axis=0)


def test_painted_neck_has_the_cheek_skin_tone_not_a_grey_one() -> None:
    """The astronaut's neck is all painted (a turtleneck covered it): same lightness and colour as her cheek."""
    cheek = median_lab(rgb2lab(np.asarray(Image.open(ASTRONAUT).convert("RGB")) / 255.0), (195, 128, 215, 140))
    neck = median_lab(lab_render(str(ASTRONAUT), "emerald green cable knit sweater"), (205, 180, 240, 205))
    assert abs(neck[0] - cheek[0]) <= 8
    assert np.hypot(neck[1], neck[2]) >= 0.8 * np.hypot(cheek[1], cheek[2])
    hue = np.degrees(np.arctan2(neck[2], neck[1]) - np.arctan2(cheek[2], cheek[1]))
    assert abs(hue) <= 12


def test_kept_and_painted_neck_meet_without_a_cut_line() -> None:
    """Down Grace Hopper's neck the photo's skin turns into painted skin: no step between two rows."""
    lab = lab_render(str(GRACE_HOPPER), "Black leather jacket with white t-shirt underneath")
    rows = np.median(lab[330:425, 250:290, 0], axis=1)
    assert np.abs(np.diff(rows)).max() <= 9
    assert rows.max() - rows.min() >= 2  # shaded, not one flat tone


def test_white_shirt_keeps_its_folds() -> None:
    """The white t-shirt under the open jacket is white cloth in light and shadow, not clipped paper white."""
    lightness = lab_render(str(GRACE_HOPPER), "Black leather jacket with white t-shirt underneath")[450:580, 240:290, 0]
    assert np.median(lightness) > 80
    assert lightness.std() >= 3.0
    assert (lightness > 99).mean() <= 0.2


def test_dark_jacket_has_no_grey_clouds_where_the_medals_were() -> None:
    """Grace Hopper's left chest (ribbons, a lit shoulder in the photo) stays dark leather with a soft sheen."""
    lightness = lab_render(str(GRACE_HOPPER), "Black leather jacket with white t-shirt underneath")[420:560, 390:470, 0]
    coarse = cv2.GaussianBlur(lightness.astype(np.float32), (0, 0), 6)
    assert np.median(lightness) < 20  # still black
    assert coarse.max() - np.median(coarse) <= 10  # no patch far brighter than the cloth around it
    assert coarse.std() <= 4


@cache
def dressed(path: str, description: str) -> DressedPerson:
    return dress_person(np.asarray(Image.open(path).convert("RGB")), parse_description(description), 7)


def edge_bands(person: DressedPerson, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Above the shoulders: pixels ``lo``..``hi`` px outside the person's matte, and as far inside it."""
    inside = (person.matte > 0.5).astype(np.uint8)
    upper = np.zeros(inside.shape, bool)
    upper[: int(person.geometry.shoulder_y)] = True
    outside_distance = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5)
    inside_distance = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
    return (
        upper & (outside_distance > lo) & (outside_distance <= hi),
        upper & (inside_distance > lo) & (inside_distance <= hi),
    )


@pytest.mark.parametrize("path", [GRACE_HOPPER, ASTRONAUT])
def test_studio_background_has_no_grey_band_around_the_head(path: object) -> None:
    """A few pixels beyond the hat and hair the studio is near white: the shadow falls wide and faint."""
    person = dressed(str(path), "Black leather jacket with white t-shirt underneath")
    lightness = rgb2lab(composite_studio_array(person.rgb, person.matte) / 255.0)[..., 0]
    outside, _ = edge_bands(person, 6, 10)
    assert np.percentile(lightness[outside], 5) >= 94


@pytest.mark.parametrize("path", [GRACE_HOPPER, ASTRONAUT])
def test_scene_light_does_not_wrap_a_pale_band_round_the_head(path: object) -> None:
    """Light wrap touches only the outermost pixels: 3-6 px inside the edge the dark hat stays itself."""
    description = "Black leather jacket with white t-shirt underneath"
    person = dressed(str(path), description)
    style = parse_description(description).style
    lightness = rgb2lab(composite_environment_array(person.rgb, person.matte, style, 7) / 255.0)[..., 0]
    own = rgb2lab(person.rgb / 255.0)[..., 0]
    _, inside = edge_bands(person, 3, 6)
    assert np.percentile(lightness[inside] - own[inside], 95) <= 10
    outside, _ = edge_bands(person, 3, 15)
    scene = rgb2lab(paint_scene(style, 7, person.matte.shape) / 255.0)[..., 0]
    assert np.percentile(lightness[outside] - scene[outside], 95) <= 2  # no light band outside either


def test_no_white_gap_between_the_jaw_and_the_jacket() -> None:
    """Where Grace Hopper's shirt collar stood beside her neck, the studio's white no longer shows through."""
    lightness = lab_render(str(GRACE_HOPPER), "Black leather jacket with white t-shirt underneath")[..., 0]
    for x0, y0, x1, y1 in ((200, 346, 232, 390), (310, 346, 330, 360)):
        assert (lightness[y0:y1, x0:x1] > 93).mean() <= 0.02


def test_no_skin_block_above_the_astronauts_shoulder() -> None:
    """Filling those gaps stays a narrow strip: the air above the astronaut's raised shoulder stays studio."""
    lightness = lab_render(str(ASTRONAUT), "emerald green cable knit sweater")[195:212, 137:177, 0]
    assert lightness.mean() >= 85


def test_shoulder_outline_is_smooth() -> None:
    """Between the chin and the shoulders the outline has no stair steps, bites or teeth a 7 px disc would smooth."""
    person = dressed(str(GRACE_HOPPER), "Black leather jacket with white t-shirt underneath")
    mask = (person.matte > 0.5).astype(np.uint8)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    smoothed = cv2.morphologyEx(cv2.morphologyEx(mask, cv2.MORPH_OPEN, disc), cv2.MORPH_CLOSE, disc)
    g = person.geometry
    rows = slice(int(g.chin[1]), int(g.shoulder_y + 0.1 * g.shoulder_width))
    assert (smoothed[rows] != mask[rows]).sum() <= 25

"""The preview's most visible artefacts, measured on the bundled photos (boxes hand-measured on them)."""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab

from handler.backends.embedded import try_on
from tests.photos import ASTRONAUT, GRACE_HOPPER

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

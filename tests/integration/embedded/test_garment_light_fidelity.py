"""The new garment keeps the photo's light whatever its colour: folds survive dark to light, light to dark
and saturated to neutral, the face is untouched and the hue is the one asked for.

Boxes are hand-measured on the original photos: plain cloth only (no patch, name tag, ribbons,
button or lapel edge), so the photo's own luminance there is the light and folds on the garment.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab
from skimage.metrics import structural_similarity

from tests.photos import ASTRONAUT, GRACE_HOPPER
from tryon_api.backends.embedded import render_try_on
from tryon_api.backends.embedded.body_shading import body_shape_shading
from tryon_api.backends.embedded.garment_regions import body_geometry, refine_matte
from tryon_api.backends.embedded.person_analysis import analyse_person
from tryon_api.garments.colours import lookup_colour

pytestmark = pytest.mark.integration

Box = tuple[int, int, int, int]  # x0, y0, x1, y1
PHOTOS = {
    "astronaut": {"path": ASTRONAUT, "face": (186, 80, 256, 176), "cloth": [(45, 300, 125, 345), (45, 425, 130, 480)]},
    "grace_hopper": {
        "path": GRACE_HOPPER,
        "face": (200, 160, 340, 330),
        "cloth": [(70, 405, 190, 465), (20, 530, 200, 600), (340, 400, 480, 480), (300, 540, 480, 600)],
    },
}
# (description, the colour direction it tests on the navy uniform / the orange spacesuit)
DESCRIPTIONS = [
    "White cable-knit turtleneck sweater",  # dark to light / saturated to neutral
    "Mustard yellow wool cardigan",  # dark to light
    "light grey cotton sweatshirt",  # dark to light / saturated to neutral
    "burgundy wool sweater",  # dark to dark / light to dark
    "black cotton t-shirt",  # dark to darker / light to dark
]
MIN_CORRELATION = 0.3
# Below this relative spread (std / mean of the linear luminance) a photo's garment is flat: no folds to keep.
FLAT_SPREAD = 0.04


@cache
def photo(name: str) -> np.ndarray:
    return np.asarray(Image.open(PHOTOS[name]["path"]).convert("RGB"))  # type: ignore[call-overload]


@cache
def rendered(name: str, description: str, flat: bool = False) -> np.ndarray:
    source = flat_garment_photo(name) if flat else photo(name)
    return np.asarray(render_try_on(Image.fromarray(source), description, mode="studio", seed=7).image)


def lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L*, lightly blurred: the light and folds, not the weave or JPEG noise."""
    return cv2.GaussianBlur(rgb2lab(rgb / 255.0)[..., 0].astype(np.float32), (0, 0), 2.0)


def cloth_folds(name: str, light: np.ndarray) -> np.ndarray:
    """The fold scale of a light image in the cloth boxes: each box's broad light removed (the broad light
    of any two renders agrees) from within the box only (the studio's white beside it must not count)."""
    boxes: list[Box] = PHOTOS[name]["cloth"]  # type: ignore[assignment]
    crops = [light[y0:y1, x0:x1] for x0, y0, x1, y1 in boxes]
    return np.concatenate([(c - cv2.GaussianBlur(c, (0, 0), 12.0)).ravel() for c in crops])


def cloth(name: str, image: np.ndarray) -> np.ndarray:
    """The pixels of the plain-cloth boxes: N values of a HxW image, Nx3 of a HxWx3 one."""
    boxes: list[Box] = PHOTOS[name]["cloth"]  # type: ignore[assignment]
    channels = image.shape[2:]
    return np.concatenate([image[y0:y1, x0:x1].reshape(-1, *channels) for x0, y0, x1, y1 in boxes])


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def relative_spread(rgb_pixels: np.ndarray) -> float:
    linear = np.where(rgb_pixels <= 10, rgb_pixels / 255 / 12.92, ((rgb_pixels / 255 + 0.055) / 1.055) ** 2.4)
    luminance = linear @ np.array([0.2126, 0.7152, 0.0722])
    return float(luminance.std() / max(luminance.mean(), 1e-4))


@cache
def flat_garment_photo(name: str) -> np.ndarray:
    """The photo with its garment boxes (and all cloth of that colour around them) painted one flat colour."""
    image = photo(name).copy()
    boxes: list[Box] = PHOTOS[name]["cloth"]  # type: ignore[assignment]
    colour = np.median(np.concatenate([image[y0:y1, x0:x1].reshape(-1, 3) for x0, y0, x1, y1 in boxes]), axis=0)
    lab = rgb2lab(image / 255.0)
    target = rgb2lab(colour[None, None] / 255.0)[0, 0]
    similar = np.linalg.norm(lab[..., 1:] - target[1:], axis=2) < 30  # the cloth's hue in light and shadow
    similar[: PHOTOS[name]["face"][3]] = False  # type: ignore[index]
    for x0, y0, x1, y1 in boxes:
        similar[y0:y1, x0:x1] = True
    image[similar] = colour.astype(np.uint8)
    return image


@cache
def body_shading(name: str, flat: bool = False) -> np.ndarray:
    source = flat_garment_photo(name) if flat else photo(name)
    analysis = analyse_person(source)
    geometry = body_geometry(analysis, source.shape[:2])
    return body_shape_shading(refine_matte(source, analysis.matte), geometry)


def light_correlation(name: str, description: str, flat: bool = False) -> tuple[float, float]:
    """(correlation, spread in L*) of the new garment's light with the light it must follow.

    That is the photo's own folds where the photo's garment varies, else the body's shape (the
    whole light: a body's shape has no folds to compare at fold scale).
    """
    source = flat_garment_photo(name) if flat else photo(name)
    after = lightness(rendered(name, description, flat))
    spread = float(cloth(name, after).std())
    if relative_spread(cloth(name, source)) >= FLAT_SPREAD:
        return correlation(cloth_folds(name, lightness(source)), cloth_folds(name, after)), spread
    reference = cv2.GaussianBlur(body_shading(name, flat), (0, 0), 2.0)
    return correlation(cloth(name, reference), cloth(name, after)), spread


@pytest.mark.parametrize("name", list(PHOTOS))
@pytest.mark.parametrize("description", DESCRIPTIONS)
def test_garment_keeps_the_photos_folds_in_any_colour(name: str, description: str) -> None:
    r, spread = light_correlation(name, description)
    assert spread >= 1.0, "a flat fill"
    assert r >= MIN_CORRELATION


@pytest.mark.parametrize("name", list(PHOTOS))
@pytest.mark.parametrize("description", DESCRIPTIONS)
def test_folds_are_as_strong_as_the_new_cloth_needs(name: str, description: str) -> None:
    """A navy uniform's faint folds, worn as white or mustard, are amplified until they show (in L*)."""
    colour = lookup_colour(description)
    assert colour is not None
    target = rgb2lab(np.array(colour.rgb, float)[None, None] / 255.0)[0, 0, 0]
    folds = cloth_folds(name, lightness(rendered(name, description)))
    assert folds.std() >= (1.5 if target >= 50 else 0.4)


@pytest.mark.parametrize("name", list(PHOTOS))
@pytest.mark.parametrize("description", ["White cable-knit turtleneck sweater", "Mustard yellow wool cardigan"])
def test_a_flat_photo_garment_takes_the_bodys_shape_for_light(name: str, description: str) -> None:
    """With no folds in the photo at all, the new garment is still shaded, by shoulders, chest and arms."""
    source = flat_garment_photo(name)
    assert relative_spread(cloth(name, source)) < FLAT_SPREAD
    r, spread = light_correlation(name, description, flat=True)
    assert spread >= 1.0, "a flat fill"
    assert r >= MIN_CORRELATION


@pytest.mark.parametrize("name", list(PHOTOS))
@pytest.mark.parametrize("description", DESCRIPTIONS)
def test_face_stays_the_photos_own(name: str, description: str) -> None:
    x0, y0, x1, y1 = PHOTOS[name]["face"]  # type: ignore[misc]
    before, after = photo(name)[y0:y1, x0:x1], rendered(name, description)[y0:y1, x0:x1]
    assert structural_similarity(before, after, channel_axis=2, data_range=255) >= 0.9


@pytest.mark.parametrize("name", list(PHOTOS))
@pytest.mark.parametrize("description", DESCRIPTIONS)
def test_garment_has_the_colour_asked_for(name: str, description: str) -> None:
    colour = lookup_colour(description)
    assert colour is not None
    lab = rgb2lab(cloth(name, rendered(name, description))[None] / 255.0)[0]
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    if colour.is_neutral:
        assert np.median(chroma) <= 12
        expected = rgb2lab(np.array(colour.rgb, float)[None, None] / 255.0)[0, 0, 0]
        assert abs(float(np.median(lab[:, 0])) - expected) <= 25
    else:
        hue = np.degrees(np.arctan2(np.median(lab[:, 2]), np.median(lab[:, 1]))) % 360
        target = rgb2lab(np.array(colour.rgb, float)[None, None] / 255.0)[0, 0]
        expected_hue = np.degrees(np.arctan2(target[2], target[1])) % 360
        difference = abs(hue - expected_hue) % 360
        assert min(difference, 360 - difference) <= 20

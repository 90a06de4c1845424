"""Measured fidelity of the embedded preview on the two bundled photos.

Regions are hand-measured on the original photos (not taken from the backend's own masks): the
face box, boxes that are certainly garment, and boxes that are certainly background.
"""

from __future__ import annotations

import colorsys
import io
import threading
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab
from skimage.metrics import structural_similarity

from tests.photos import ASTRONAUT, GRACE_HOPPER
from tryon_api.backends.embedded import EmbeddedTryOnBackend, recolour_garment, remove_background, render_try_on
from tryon_api.garments.colours import lookup_colour
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.interface import GenerationInput

pytestmark = pytest.mark.integration

Box = tuple[int, int, int, int]  # x0, y0, x1, y1
PHOTOS: dict[str, dict[str, object]] = {
    "astronaut": {
        "path": ASTRONAUT,
        "face": (186, 80, 256, 176),  # forehead to chin, cheek to cheek
        "garment": [(40, 290, 200, 460)],
        "background": [(430, 0, 512, 110), (0, 0, 60, 150)],
    },
    "grace_hopper": {
        "path": GRACE_HOPPER,
        "face": (200, 160, 340, 330),
        "garment": [(30, 420, 180, 590), (370, 420, 490, 590)],
        "background": [(0, 0, 70, 250), (440, 0, 512, 300)],
    },
}


@cache
def photo(name: str) -> Image.Image:
    return Image.open(PHOTOS[name]["path"]).convert("RGB")  # type: ignore[arg-type]


@cache
def render(name: str, description: str, mode: str = "studio", seed: int = 7) -> np.ndarray:
    return np.asarray(render_try_on(photo(name), description, mode=mode, seed=seed).image)


def crop(image: np.ndarray, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return image[y0:y1, x0:x1]


def garment_pixels(name: str, image: np.ndarray) -> np.ndarray:
    boxes: list[Box] = PHOTOS[name]["garment"]  # type: ignore[assignment]
    return np.concatenate([crop(image, box).reshape(-1, 3) for box in boxes])


def hue_distance(a: float, b: float) -> float:
    d = abs(a - b) % 360
    return min(d, 360 - d)


def median_hue(pixels: np.ndarray) -> float:
    """The circular median-ish hue of the saturated pixels (mean of unit vectors)."""
    hsv = np.array([colorsys.rgb_to_hsv(*(p / 255.0)) for p in pixels[::7]])
    saturated = hsv[hsv[:, 1] > 0.2]
    angles = saturated[:, 0] * 2 * np.pi
    return float(np.degrees(np.arctan2(np.sin(angles).mean(), np.cos(angles).mean())) % 360)


NAMES = list(PHOTOS)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mode", ["studio", "environment"])
def test_face_is_unchanged(name: str, mode: str) -> None:
    before = np.asarray(photo(name))
    after = render(name, "emerald green knit sweater", mode)
    face: Box = PHOTOS[name]["face"]  # type: ignore[assignment]
    score = structural_similarity(crop(before, face), crop(after, face), channel_axis=2, data_range=255)
    assert score >= 0.97


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("description", ["emerald green knit sweater", "red hoodie", "mustard yellow t-shirt"])
def test_garment_takes_the_described_hue(name: str, description: str) -> None:
    colour = lookup_colour(description)
    assert colour is not None and not colour.is_neutral
    pixels = garment_pixels(name, render(name, description))
    assert hue_distance(median_hue(pixels), colour.hue_degrees) <= 20


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("description", "low", "high"),
    [("black cotton t-shirt", 0, 32), ("white cotton t-shirt", 72, 100), ("grey sweatshirt", 35, 70)],
)
def test_neutral_garments_have_the_right_lightness(name: str, description: str, low: float, high: float) -> None:
    pixels = garment_pixels(name, render(name, description))
    lightness = float(np.median(rgb2lab(pixels[None].astype(np.float64) / 255.0)[0, :, 0]))
    assert low <= lightness <= high


@pytest.mark.parametrize(
    ("name", "description"), [("astronaut", "emerald green knit sweater"), ("grace_hopper", "mustard yellow t-shirt")]
)
def test_old_garment_colour_does_not_survive(name: str, description: str) -> None:
    before = rgb2lab(garment_pixels(name, np.asarray(photo(name)))[None] / 255.0)[0]
    after = rgb2lab(garment_pixels(name, render(name, description))[None] / 255.0)[0]
    kept = np.linalg.norm(before - after, axis=1) < 12.0
    assert kept.mean() <= 0.05


def near_white_fraction(image: np.ndarray, boxes: list[Box]) -> float:
    pixels = np.concatenate([crop(image, box).reshape(-1, 3) for box in boxes])
    return float((pixels.min(axis=1) >= 235).mean())


@pytest.mark.parametrize("name", NAMES)
def test_studio_background_is_white_and_environment_is_not(name: str) -> None:
    boxes: list[Box] = PHOTOS[name]["background"]  # type: ignore[assignment]
    studio = render(name, "red hoodie", "studio")
    environment = render(name, "red hoodie", "environment")
    assert near_white_fraction(studio, boxes) >= 0.95
    assert near_white_fraction(environment, boxes) <= 0.2
    # Over the whole background (by the person cutout's matte), the studio stays white too.
    alpha = np.asarray(remove_background(photo(name)))[..., 3]
    background = studio[alpha < 3]
    assert (background.min(axis=1) >= 230).mean() >= 0.95


def test_open_jacket_shows_the_white_shirt_between_dark_sides() -> None:
    image = render("grace_hopper", "black leather jacket with white t-shirt underneath")
    lightness = rgb2lab(image / 255.0)[..., 0]
    centre = float(np.median(lightness[450:580, 240:290]))
    sides = float(np.median(np.concatenate([lightness[450:580, 60:150].ravel(), lightness[450:580, 400:480].ravel()])))
    assert centre > 75 and sides < 30


def test_stripes_alternate_down_the_torso() -> None:
    image = render("grace_hopper", "navy and white striped t-shirt")
    profile = rgb2lab(image[430:590, 60:160] / 255.0)[..., 0].mean(axis=1)
    light, dark = profile > 60, profile < 35
    assert light.sum() > 20 and dark.sum() > 20
    assert np.count_nonzero(np.diff(light.astype(int)) != 0) >= 6  # several stripes, not one band


def test_reference_garment_colours_and_logo_are_worn() -> None:
    garment = Image.new("RGB", (400, 420), (245, 245, 245))
    from PIL import ImageDraw

    draw = ImageDraw.Draw(garment)
    draw.polygon(
        [
            (120, 30),
            (280, 30),
            (380, 120),
            (330, 170),
            (300, 140),
            (300, 400),
            (100, 400),
            (100, 140),
            (70, 170),
            (20, 120),
        ],
        fill=(30, 140, 60),
    )
    draw.ellipse((170, 110, 230, 170), fill=(250, 210, 20))  # a yellow logo on the chest
    image = np.asarray(render_try_on(photo("grace_hopper"), "t-shirt", mode="studio", seed=3, garment=garment).image)
    pixels = garment_pixels("grace_hopper", image)
    assert hue_distance(median_hue(pixels), colorsys.rgb_to_hsv(30 / 255, 140 / 255, 60 / 255)[0] * 360) <= 20
    chest = image[380:560, 150:380].reshape(-1, 3).astype(int)
    yellow = (chest[:, 0] > 150) & (chest[:, 1] > 120) & (chest[:, 2] < 90)
    assert yellow.sum() > 200


def test_recolour_keeps_the_original_background() -> None:
    before = np.asarray(photo("astronaut"))
    after = np.asarray(recolour_garment(photo("astronaut"), "navy blue polo shirt"))
    assert after.shape == before.shape
    corner = crop(before, (430, 0, 512, 110)).astype(int) - crop(after, (430, 0, 512, 110)).astype(int)
    assert np.abs(corner).mean() < 2


def test_backend_is_deterministic_and_safe_from_two_threads() -> None:
    backend = EmbeddedTryOnBackend()
    jobs = [
        GenerationInput(person=photo(name), clothing_description="plaid flannel shirt", mode="environment", seed=11)
        for name in NAMES
    ]
    sequential = [backend.generate(job, Deadline.after(60)).data for job in jobs]
    results: dict[int, bytes] = {}

    def run(index: int) -> Callable[[], None]:
        def target() -> None:
            results[index] = backend.generate(jobs[index], Deadline.after(60)).data

        return target

    threads = [threading.Thread(target=run(i)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [results[i] for i in range(len(jobs))] == sequential
    decoded = Image.open(io.BytesIO(sequential[0]))
    assert decoded.format == "JPEG" and decoded.size == photo(NAMES[0]).size


@pytest.mark.parametrize("name", NAMES)
def test_skin_coloured_clothes_are_still_found(name: str) -> None:
    """Dress the person in a nude t-shirt first, then ask for navy: the skin-coloured garment must go."""
    nude = recolour_garment(photo(name), "nude cotton t-shirt", seed=1)
    navy = np.asarray(recolour_garment(nude, "navy blue t-shirt", seed=1))
    colour = lookup_colour("navy blue")
    assert colour is not None
    assert hue_distance(median_hue(garment_pixels(name, navy)), colour.hue_degrees) <= 20
    lightness = rgb2lab(garment_pixels(name, navy)[None] / 255.0)[0, :, 0]
    assert float(np.median(lightness)) < 35


def test_no_blue_fringe_from_the_old_background_at_the_edge() -> None:
    """Grace Hopper stands before a blue backdrop: on white, her soft edge must not turn blue."""
    cutout = np.asarray(remove_background(photo("grace_hopper"))).astype(float)
    alpha = cutout[..., 3] / 255.0
    edge = (alpha > 0.1) & (alpha < 0.9)
    edge[:, :330] = False  # the right side, where the backdrop is plain blue (the flag is on the left)
    assert edge.sum() > 100
    original = np.asarray(photo("grace_hopper")).astype(float)

    def blueness(pixels: np.ndarray) -> float:
        return float(np.mean(pixels[:, 2] - (pixels[:, 0] + pixels[:, 1]) / 2))

    assert blueness(original[edge]) > 25  # the photo's edge pixels are mixed with the blue backdrop
    assert blueness(cutout[..., :3][edge]) < 15  # the cutout's edge colours are the person's own

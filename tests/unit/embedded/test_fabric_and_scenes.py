"""Pure image functions of the embedded backend: fabric patterns, colour conversion, scenes, garment cut-out."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tryon_api.backends.embedded import fabric
from tryon_api.backends.embedded.reference_garment import ReferenceLayout, garment_mask
from tryon_api.backends.embedded.scenes import choose_scene, composite_studio_array, estimate_foreground, paint_scene


def grid(size: int = 200, span_cm: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    v, u = np.mgrid[0:size, 0:size].astype(np.float32) * (span_cm / size)
    return u, v


NAVY = fabric.srgb_to_linear(np.array([31, 42, 74], np.float32))
WHITE = fabric.srgb_to_linear(np.array([244, 244, 242], np.float32))


def test_srgb_round_trip_is_exact_for_bytes() -> None:
    values = np.arange(256, dtype=np.uint8)
    assert np.array_equal(fabric.linear_to_srgb(fabric.srgb_to_linear(values)), values)


def test_stripes_run_across_and_repeat_down() -> None:
    u, v = grid()
    albedo = fabric.pattern_albedo("striped", u, v, [NAVY, WHITE], pixel_cm=0.2, seed=0)
    luminance = albedo @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    assert np.allclose(luminance[:, 0], luminance[:, 150], atol=1e-4)  # constant along a row
    column = luminance[:, 0] > 0.5
    changes = np.count_nonzero(np.diff(column.astype(int)))
    assert 20 <= changes <= 40  # a 2.6 cm repeat over 40 cm: about 15 stripes, two edges each


@pytest.mark.parametrize(
    "pattern",
    [
        "plaid",
        "checked",
        "polka dot",
        "floral",
        "camo",
        "houndstooth",
        "herringbone",
        "leopard",
        "zebra",
        "tie-dye",
        "argyle",
        "paisley",
        "pinstriped",
        "geometric",
    ],
)
def test_every_pattern_mixes_its_colours(pattern: str) -> None:
    u, v = grid()
    albedo = fabric.pattern_albedo(pattern, u, v, [NAVY, WHITE], pixel_cm=0.2, seed=1)
    assert albedo.shape == (200, 200, 3)
    assert np.isfinite(albedo).all() and albedo.min() >= 0
    distance_to_main = np.linalg.norm(albedo - NAVY, axis=2)
    assert 0.02 < (distance_to_main > 0.05).mean() < 0.98  # some pattern, and some ground


@pytest.mark.parametrize(
    "material", ["denim", "knit", "corduroy", "tweed", "linen", "quilted", "suede", "sequin", "lace", None]
)
def test_weave_stays_near_one(material: str | None) -> None:
    u, v = grid()
    texture = fabric.weave(material, u, v, pixel_cm=0.2, seed=2)
    assert 0.5 < float(texture.mean()) < 1.3
    assert texture.std() > 0.001


def test_scene_is_deterministic_per_seed_and_follows_the_style() -> None:
    first = paint_scene("formal", 4, (120, 100))
    again = paint_scene("formal", 4, (120, 100))
    other = paint_scene("formal", 5, (120, 100))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert choose_scene("outdoor", 3) == "park"
    assert {choose_scene("formal", s) for s in range(4)} == {"office", "street"}
    assert first.min(axis=2).mean() < 235  # a scene, not a white page


def test_foreground_estimation_removes_the_old_background_from_the_edge() -> None:
    red, green = np.array([200, 30, 30], np.float32), np.array([20, 200, 20], np.float32)
    alpha = np.zeros((60, 60), np.float32)
    alpha[:, :30] = 1.0
    alpha[:, 30] = 0.5
    image = (red * alpha[..., None] + green * (1 - alpha[..., None])).astype(np.uint8)
    foreground = estimate_foreground(image, alpha)
    assert abs(float(foreground[30, 30, 1]) - 30) < 25  # the half-covered column is red, not olive
    studio = composite_studio_array(image, alpha)
    assert studio[5, 55].min() >= 235


def test_garment_is_cut_from_a_plain_background_with_its_sleeves() -> None:
    image = Image.new("RGB", (300, 300), (240, 240, 240))
    draw = ImageDraw.Draw(image)
    draw.polygon(
        [(90, 20), (210, 20), (290, 90), (250, 130), (220, 105), (220, 290), (80, 290), (80, 105), (50, 130), (10, 90)],
        fill=(200, 40, 40),
    )
    draw.ellipse((130, 100, 170, 140), fill=(240, 240, 240))  # a logo the colour of the background
    mask = garment_mask(np.asarray(image))
    assert mask[200, 150] and not mask[5, 5] and mask[120, 150]  # the logo hole belongs to the garment
    layout = ReferenceLayout(mask)
    assert abs(layout.centre - 150) < 5 and 60 < layout.torso_half < 80
    assert layout.cuffs[-1][0] < 60 and layout.cuffs[1][0] > 240


def test_a_swatch_with_no_background_is_all_garment() -> None:
    swatch = np.full((100, 100, 3), 128, np.uint8)
    swatch[::10] = (30, 30, 90)  # a striped fabric close-up filling the frame
    assert garment_mask(swatch).all()
    assert garment_mask(np.full((100, 100, 3), 128, np.uint8)).all()

"""Backgrounds: a white studio sweep with a soft shadow, or a procedurally painted lifestyle scene.

Scenes are painted by this code at a quarter of the output size (street, office, park), then
blurred as a lens would at portrait distance, with bokeh on the highlights and film grain, so
the person stays the only sharp thing. The person is matched to the scene: clean edge colours
(foreground estimated where the matte is soft), the scene's colour temperature, and light wrap.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon_api.backends.embedded import fabric
from tryon_api.garments.vocabulary import Style


@dataclass(frozen=True)
class StudioParameters:
    """The white seamless's shadow (lengths as fractions of the image's width or height)."""

    shadow_offset: tuple[float, float] = (0.03, 0.02)  # the cast shadow's shift right and down
    shadow_blur: float = 0.06  # of the width: a wide, faint shadow, never a grey band hugging the hair
    shadow_strength: float = 0.08
    floor_from: float = 0.9  # of the height: where the floor's contact shadow starts
    floor_rise: float = 0.1  # ... reaching full strength this much lower
    floor_blur: float = 0.04
    floor_strength: float = 0.12


@dataclass(frozen=True)
class EnvironmentParameters:
    """How the person is matched to a painted scene, and the scene's camera (fractions of the width)."""

    colour_temperature: float = 0.12  # how far the person is pulled towards the scene's light (an exponent)
    wrap_blur: float = 0.02  # the scene's light that wraps round the person's edge, blurred this much
    wrap_edge: float = 0.002  # ... over the outermost pixels only
    wrap_strength: float = 0.8
    wrap_most: float = 0.25
    occlusion_blur: float = 0.05  # the person darkens the scene close behind them
    occlusion_strength: float = 0.18
    sharpen_blur: float = 1 / 400  # the scene's extra blur after upscaling
    grain: float = 2.2  # film grain's standard deviation, in 8-bit levels
    vignette: float = 0.22
    grades: tuple[tuple[float, float, float], ...] = (
        (1.06, 1.0, 0.9),
        (1.0, 1.0, 1.0),
        (0.95, 1.0, 1.06),
        (1.08, 1.02, 0.88),
    )  # colour grades, one chosen per seed: warm, neutral, cool, golden


STUDIO = StudioParameters()
ENVIRONMENT = EnvironmentParameters()

SCENES_BY_STYLE: dict[str, tuple[str, ...]] = {
    "formal": ("office", "street"),
    "casual": ("street", "park"),
    "sporty": ("park", "street"),
    "outdoor": ("park",),
}


def estimate_foreground(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The person's own colour at soft matte edges, without the old background mixed in (float 0..255)."""
    image = rgb.astype(np.float32)
    height, width = alpha.shape
    sigma = max(2.0, max(height, width) / 120)
    solid = (alpha > 0.97).astype(np.float32)
    empty = (alpha < 0.03).astype(np.float32)
    inside = (
        fabric.fast_blur(image * solid[..., None], sigma) / np.maximum(fabric.fast_blur(solid, sigma), 1e-4)[..., None]
    )
    behind = (
        fabric.fast_blur(image * empty[..., None], sigma) / np.maximum(fabric.fast_blur(empty, sigma), 1e-4)[..., None]
    )
    a = np.clip(alpha, 0.0, 1.0)[..., None]
    solved = np.clip((image - (1 - a) * behind) / np.maximum(a, 0.05), 0, 255)
    trust = np.clip((a - 0.2) / 0.5, 0, 1)
    foreground = solved * trust + inside * (1 - trust)
    return np.where(a > 0.97, image, foreground).astype(np.float32)


def studio_background(alpha: np.ndarray, parameters: StudioParameters = STUDIO) -> np.ndarray:
    """Pure white with a soft shadow cast behind and below the person (float 0..255)."""
    p = parameters
    height, width = alpha.shape
    # The seamless stands well behind the person: its shadow is wide and faint, never a grey band hugging the hair.
    dx, dy = int(p.shadow_offset[0] * width), int(p.shadow_offset[1] * height)
    shifted = np.zeros_like(alpha)
    shifted[dy:, dx:] = alpha[: height - dy, : width - dx]
    shadow = fabric.fast_blur(shifted, p.shadow_blur * width) * p.shadow_strength
    floor = np.clip((np.arange(height, dtype=np.float32)[:, None] / height - p.floor_from) / p.floor_rise, 0, 1)
    shadow = np.maximum(shadow, fabric.fast_blur(alpha, p.floor_blur * width) * floor * p.floor_strength)
    return np.repeat((255.0 * (1 - shadow))[..., None], 3, axis=2)


def composite(foreground: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    a = alpha[..., None]
    return np.clip(foreground * a + background * (1 - a), 0, 255).astype(np.uint8)


def _foreground(rgb: np.ndarray, alpha: np.ndarray, clean: np.ndarray | None) -> np.ndarray:
    """The person's colours at the edge: estimated from the old background, except where already clean."""
    foreground = estimate_foreground(rgb, alpha)
    if clean is None:
        return foreground
    weight = np.clip(clean, 0, 1)[..., None]
    return foreground * (1 - weight) + rgb.astype(np.float32) * weight


def composite_studio_array(
    rgb: np.ndarray, alpha: np.ndarray, clean: np.ndarray | None = None, parameters: StudioParameters = STUDIO
) -> np.ndarray:
    """The person on the studio's white; ``clean`` marks soft-edge pixels whose colour has no background in it."""
    return composite(_foreground(rgb, alpha, clean), alpha, studio_background(alpha, parameters))


def composite_environment_array(
    rgb: np.ndarray,
    alpha: np.ndarray,
    style: str,
    seed: int,
    clean: np.ndarray | None = None,
    parameters: EnvironmentParameters = ENVIRONMENT,
) -> np.ndarray:
    """The person in a painted scene chosen from the outfit's style, deterministic for a seed."""
    p = parameters
    height, width = alpha.shape
    scene = paint_scene(style, seed, (height, width), p).astype(np.float32)
    foreground = _foreground(rgb, alpha, clean)
    # Colour temperature: pull the person a little towards the scene's light.
    scene_linear = fabric.srgb_to_linear(scene.mean(axis=(0, 1)))
    balance = (scene_linear / max(float(scene_linear.mean()), 1e-3)) ** p.colour_temperature
    person_linear = fabric.srgb_to_linear(foreground) * balance
    foreground = fabric.linear_to_srgb(person_linear).astype(np.float32)
    # Light wrap: the bright scene bleeds over the person's edge, as it does through a real lens. Only the
    # outermost pixel or two and faintly: wider or stronger, it read as a pale halo round a dark hat or hair.
    wrap_light = fabric.fast_blur(scene, p.wrap_blur * width)
    inner = fabric.fast_blur(alpha, max(0.8, p.wrap_edge * width))
    wrap = np.clip(alpha * (1 - inner) * p.wrap_strength, 0, p.wrap_most)[..., None]
    foreground = foreground * (1 - wrap) + wrap_light * wrap
    # Contact: the person darkens the scene close behind them a little.
    occlusion = fabric.fast_blur(alpha, p.occlusion_blur * width) * p.occlusion_strength
    shaded = scene * (1 - occlusion[..., None])
    return composite(foreground, alpha, shaded)


def choose_scene(style: str, seed: int) -> str:
    options = SCENES_BY_STYLE.get(style, SCENES_BY_STYLE["casual"])
    return options[seed % len(options)]


def paint_scene(
    style: Style | str, seed: int, shape: tuple[int, int], parameters: EnvironmentParameters = ENVIRONMENT
) -> np.ndarray:
    """A blurred, graded lifestyle scene (uint8 HxWx3)."""
    p = parameters
    height, width = shape
    small = (max(32, height // 4), max(32, width // 4))
    rng = np.random.default_rng(seed)
    kind = choose_scene(style, seed)
    painter = {"street": _street, "office": _office, "park": _park}[kind]
    canvas, lights = painter(small, rng)
    canvas = _daylight(canvas, rng)
    blurred = _lens(canvas, np.zeros_like(lights))
    full = cv2.resize(blurred, (width, height), interpolation=cv2.INTER_CUBIC)
    full = fabric.fast_blur(full, max(1.0, width * p.sharpen_blur))
    full = full + _bokeh(lights, (height, width))
    full = full * _vignette((height, width), p.vignette)[..., None]
    grade = np.array(p.grades[int(rng.integers(len(p.grades)))], np.float32)
    full = full * grade
    grain = np.random.default_rng(seed + 1).normal(0, p.grain, (height, width, 1)).astype(np.float32)
    return np.clip(full + grain, 0, 255).astype(np.uint8)


def _daylight(canvas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One light source: a soft gradient across the scene and a haze that lifts the far distance."""
    height, width = canvas.shape[:2]
    sun_x = rng.uniform(-0.3, 1.3) * width
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    distance = np.hypot((xs - sun_x) / width, (ys + 0.3 * height) / height)
    light = 1.12 - 0.3 * np.clip(distance, 0, 1.4)
    haze_colour = canvas[: max(1, height // 10)].reshape(-1, 3).mean(axis=0)
    haze = np.clip(1.0 - np.abs(ys / height - 0.45) / 0.35, 0, 1)[..., None] * 0.18
    return np.clip((canvas * (1 - haze) + haze_colour * haze) * light[..., None], 0, 255)


def _bokeh(lights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Out-of-focus highlights as round discs with a brighter rim, drawn at full size."""
    height, width = shape
    out = np.zeros((height, width, 3), np.float32)
    scale_y, scale_x = height / lights.shape[0], width / lights.shape[1]
    radius = max(3, int(min(height, width) * 0.03))
    for y, x in zip(*np.nonzero(lights.max(axis=2) > 0), strict=True):
        colour = lights[y, x] * 0.22
        centre = (int(x * scale_x), int(y * scale_y))
        cv2.circle(out, centre, radius, colour.tolist(), -1, lineType=cv2.LINE_AA)
        cv2.circle(out, centre, radius, (colour * 0.6).tolist(), max(1, radius // 6), lineType=cv2.LINE_AA)
    return fabric.fast_blur(out, max(0.8, radius * 0.08))


def _vignette(shape: tuple[int, int], strength: float) -> np.ndarray:
    height, width = shape
    ys = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
    return 1.0 - strength * np.clip(xs**2 + ys**2, 0, 2) / 2


def _lens(canvas: np.ndarray, lights: np.ndarray) -> np.ndarray:
    """Depth of field: a wide blur, and bright points opened into soft discs (bokeh)."""
    height, width = canvas.shape[:2]
    radius = max(2, int(min(height, width) * 0.035))
    disc = np.zeros((2 * radius + 1, 2 * radius + 1), np.float32)
    cv2.circle(disc, (radius, radius), radius, 1.0, -1)
    disc = fabric.fast_blur(disc, 0.6)
    disc /= disc.sum()
    blurred = cv2.filter2D(canvas, -1, disc)
    blurred = fabric.fast_blur(blurred, radius * 0.4)
    bokeh = cv2.filter2D(lights, -1, disc) * (disc.size * 0.16)
    return np.clip(blurred + bokeh, 0, 255)


def _gradient(height: int, width: int, top: tuple[float, ...], bottom: tuple[float, ...]) -> np.ndarray:
    t = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    column = np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t
    return np.repeat(column, width, axis=1)


def _noise(shape: tuple[int, int], cells: float, rng: np.random.Generator) -> np.ndarray:
    return fabric.value_noise(shape, cells, int(rng.integers(1 << 30)))


def _street(shape: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    height, width = shape
    canvas = _gradient(height, width, (150, 180, 215), (225, 225, 225))
    lights = np.zeros_like(canvas)
    palette = [(150, 85, 65), (205, 190, 165), (170, 170, 168), (225, 215, 195), (120, 95, 80), (190, 150, 110)]
    x = -int(rng.integers(0, width // 6))
    ground = int(height * rng.uniform(0.72, 0.8))
    while x < width:
        w = int(width * rng.uniform(0.18, 0.32))
        top = int(height * rng.uniform(-0.05, 0.25))
        colour = np.array(palette[int(rng.integers(len(palette)))], np.float32) * rng.uniform(0.85, 1.05)
        canvas[max(0, top) : ground, max(0, x) : x + w] = colour
        floor_h = max(4, int(height * rng.uniform(0.08, 0.11)))
        bay = max(4, int(w / rng.integers(3, 6)))
        shop_top = ground - int(floor_h * 1.3)
        for fy in range(max(0, top) + floor_h // 3, shop_top - floor_h // 2, floor_h):
            for bx in range(max(0, x) + bay // 4, min(width, x + w) - bay // 2, bay):
                glass = np.array((80, 95, 110), np.float32) + rng.uniform(-15, 40)
                canvas[fy : fy + int(floor_h * 0.55), bx : bx + int(bay * 0.5)] = glass
        canvas[shop_top:ground, max(0, x) : x + w] = colour * 0.45
        for bx in range(max(0, x) + 2, min(width, x + w) - 3, max(3, bay)):
            warm = np.array((255, 200, 130), np.float32) * rng.uniform(0.6, 1.0)
            canvas[shop_top + 2 : ground - 2, bx : bx + max(2, bay // 2)] = warm * 0.8
            if rng.random() < 0.6:
                cy, cx = int(rng.integers(shop_top + 1, ground)), int(rng.integers(bx, bx + max(3, bay // 2)))
                lights[min(cy, height - 1), min(cx, width - 1)] = (255, 210, 150)
        x += w
    pavement = _gradient(height - ground, width, (150, 148, 145), (105, 103, 100))
    canvas[ground:] = pavement + (_noise((height - ground, width), 12, rng)[..., None] - 0.5) * 25
    for _ in range(int(rng.integers(1, 3))):  # street trees: a trunk and a ragged crown
        cx, cy = int(rng.integers(0, width)), int(height * rng.uniform(0.25, 0.45))
        cv2.line(canvas, (cx, cy), (cx, ground), (55, 45, 35), max(1, width // 90))
        for _leaf in range(25):
            lx, ly = int(cx + rng.normal(0, width * 0.06)), int(cy + rng.normal(0, height * 0.07))
            shade = np.array((60, 100, 50), np.float32) * rng.uniform(0.7, 1.3)
            cv2.circle(canvas, (lx, ly), max(2, int(width * rng.uniform(0.015, 0.035))), shade.tolist(), -1)
    for _ in range(int(rng.integers(8, 16))):
        lights[int(rng.integers(0, ground)), int(rng.integers(0, width))] = (255, 235, 200)
    return canvas, lights


def _office(shape: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    height, width = shape
    wall = np.array((222, 216, 204), np.float32) * rng.uniform(0.9, 1.02)
    canvas = np.broadcast_to(wall, (height, width, 3)).astype(np.float32).copy()
    lights = np.zeros_like(canvas)
    # A wall of windows onto a bright city, with mullions.
    wx0 = int(width * rng.uniform(-0.1, 0.3))
    wx1 = wx0 + int(width * rng.uniform(0.5, 0.8))
    wy0, wy1 = int(height * 0.08), int(height * 0.7)
    view = _gradient(wy1 - wy0, max(1, wx1 - wx0), (200, 220, 240), (235, 235, 230))
    skyline = _noise((wy1 - wy0, max(1, wx1 - wx0)), 6, rng)
    view = np.where((skyline > 0.55)[..., None], view * 0.85, view)
    canvas[wy0:wy1, max(0, wx0) : wx1] = view[
        :, max(0, -wx0) : max(0, -wx0) + canvas[wy0:wy1, max(0, wx0) : wx1].shape[1]
    ]
    mullion = max(1, width // 120)
    for mx in range(wx0, wx1 + 1, max(4, (wx1 - wx0) // int(rng.integers(3, 5)))):
        canvas[wy0:wy1, max(0, mx) : max(0, mx) + mullion] = (70, 72, 75)
    canvas[wy0 : wy0 + mullion, max(0, wx0) : wx1] = (70, 72, 75)
    # Ceiling lights, a desk, a plant.
    for lx in range(int(width * rng.uniform(0.05, 0.2)), width, max(8, width // 3)):
        cv2.ellipse(canvas, (lx, int(height * 0.03)), (width // 14, 2), 0, 0, 360, (255, 250, 240), -1)
        lights[int(height * 0.03), min(lx, width - 1)] = (255, 245, 225)
    desk_y = int(height * rng.uniform(0.72, 0.8))
    canvas[desk_y:] = _gradient(height - desk_y, width, (120, 90, 65), (80, 60, 45))
    px = int(width * (0.08 if rng.random() < 0.5 else 0.88))
    for _ in range(12):
        leaf = (int(px + rng.normal(0, width * 0.05)), int(height * rng.uniform(0.45, 0.7)))
        cv2.ellipse(canvas, leaf, (width // 25, height // 40), float(rng.uniform(0, 180)), 0, 360, (50, 95, 45), -1)
    canvas[desk_y - height // 12 : desk_y, px - width // 30 : px + width // 30] = (235, 235, 230)
    return canvas, lights


def _park(shape: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    height, width = shape
    canvas = _gradient(height, width, (135, 175, 225), (215, 228, 235))
    lights = np.zeros_like(canvas)
    horizon = int(height * rng.uniform(0.5, 0.6))
    ys = np.arange(height, dtype=np.float32)[:, None]
    canopy = _noise((height, width), 5, rng)
    tree_top = height * (0.1 + 0.35 * canopy[0:1, :]) + (_noise((1, width), 3, rng) - 0.5) * height * 0.2
    trees = ys > tree_top
    foliage = np.stack([45 + 40 * canopy, 80 + 50 * canopy, 35 + 25 * canopy], axis=2)
    detail = _noise((height, width), 40, rng)[..., None]
    canvas = np.where(trees[..., None], foliage * (0.75 + 0.5 * detail), canvas)
    sun = (detail[..., 0] > 0.9) & trees & (ys < horizon) & (_noise((height, width), 60, rng) > 0.75)
    lights[sun] = (200, 190, 140)
    grass = _gradient(height - horizon, width, (120, 150, 70), (85, 120, 50))
    grass = grass * (0.85 + 0.3 * _noise((height - horizon, width), 30, rng)[..., None])
    canvas[horizon:] = grass
    # Grass darkens towards the camera; a path winds from the horizon to the foreground.
    depth = np.linspace(0, 1, height - horizon, dtype=np.float32)[:, None, None]
    canvas[horizon:] = canvas[horizon:] * (1.05 - 0.3 * depth)
    path_x = width * rng.uniform(0.25, 0.75)
    bend = width * rng.uniform(-0.35, 0.35)
    for y in range(horizon, height):
        t = (y - horizon) / max(1, height - horizon)
        half = int(width * (0.008 + 0.16 * t**1.5))
        centre = int(path_x + bend * t**2)
        tone = np.array((205, 190, 160), np.float32) * (1.0 - 0.2 * t)
        canvas[y, max(0, centre - half) : max(0, centre + half)] = tone
    return canvas.astype(np.float32), lights

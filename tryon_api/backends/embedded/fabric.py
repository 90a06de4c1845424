"""Procedural fabric: patterns and material textures drawn in body-aligned centimetres.

Every function takes garment coordinates ``u`` (across, around the body) and ``v`` (down, along
the body or the arm) in centimetres, already bent by the body's curvature and the folds, so a
stripe follows the torso and a sleeve instead of lying flat on the photo. Colours are linear RGB
in 0..1; the result is an HxWx3 albedo, or an HxW multiplier for the material's weave.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FloatArray = np.ndarray


@dataclass(frozen=True)
class PatternParameters:
    """Each pattern's repeat and proportions, in centimetres of cloth (so they scale with the body)."""

    stripe_period: float = 2.6
    stripe_half_width: float = 0.65
    pinstripe_period: float = 1.6
    pinstripe_half_width: float = 0.07  # at least; thinner than a pixel it is drawn a pixel wide and fainter
    pinstripe_strength: float = 0.85
    plaid_period: float = 9.0
    plaid_wide_half_width: float = 2.2
    plaid_thin_half_width: float = 0.35
    plaid_wide_strength: float = 0.55  # each direction's wide bands; where they cross, both
    plaid_thin_strength: float = 0.8
    twill_depth: float = 0.07  # the twill's light and dark at the plaid's crossings
    twill_period: float = 0.35
    check_period: float = 1.6
    check_half_width: float = 0.4
    polka_cell: float = 3.2
    polka_radius: float = 0.6
    floral_cell: float = 6.5
    camo_scales: tuple[float, float] = (7.0, 6.0)  # the two noise fields' feature sizes
    houndstooth_tile: float = 0.32  # one of the 8 x 8 tile's squares
    herringbone_column: float = 2.0
    herringbone_period: float = 0.9
    leopard_spot_scale: float = 2.2
    argyle_diamond: tuple[float, float] = (8.0, 11.0)  # across, down
    geometric_period: float = 6.0


@dataclass(frozen=True)
class WeaveParameters:
    """How strongly each material's surface texture modulates the light (a multiplier around 1)."""

    denim_twill: float = 0.06
    denim_twill_period: float = 0.28
    denim_slub: float = 0.16
    knit_ribs: float = 0.09
    knit_rib_period: float = 0.55
    knit_cable: float = 0.1
    corduroy_wales: float = 0.14
    corduroy_period: float = 0.45
    wool_flecks: float = 0.14
    tweed_flecks: float = 0.35
    linen_slub: float = 0.18
    quilt_channel: float = 7.0  # cm between a quilted jacket's seams
    suede_nap: float = 0.1
    lace_holes: float = 0.35
    plain_grain: float = 0.04  # any other cloth's faint grain
    finest: float = 0.12  # cm: textures finer than this per pixel fade out


PATTERNS = PatternParameters()
WEAVES = WeaveParameters()


def _to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


_LINEAR_OF_BYTE = _to_linear(np.arange(256, dtype=np.float32) / 255.0)
_ENCODE_STEPS = 8192
_encode = np.linspace(0.0, 1.0, _ENCODE_STEPS, dtype=np.float32)
_BYTE_OF_LINEAR = np.clip(
    np.where(_encode <= 0.0031308, _encode * 12.92, 1.055 * np.power(_encode, 1 / 2.4) - 0.055) * 255.0 + 0.5, 0, 255
).astype(np.uint8)


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    if isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8:
        return _LINEAR_OF_BYTE[rgb]
    return _to_linear(np.asarray(rgb, dtype=np.float32) / 255.0)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Encode linear light to sRGB bytes (a table lookup: the pipeline's hottest conversion)."""
    index = np.clip(linear, 0.0, 1.0) * (_ENCODE_STEPS - 1) + 0.5
    return _BYTE_OF_LINEAR[index.astype(np.int32)]


def fast_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur; wide ones run on a downscaled copy (same look, a fraction of the time)."""
    sigma = max(float(sigma), 0.3)
    if sigma < 6.0:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    height, width = image.shape[:2]
    factor = min(int(sigma / 3.0), max(1, min(height, width) // 8))
    small = cv2.resize(image, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _band(distance: FloatArray, half_width: float, pixel: float) -> FloatArray:
    """1 inside a band of ``half_width`` around 0, with an anti-aliased edge one pixel wide."""
    return np.clip((half_width - np.abs(distance)) / max(pixel, 1e-3) + 0.5, 0.0, 1.0)


def _periodic(value: FloatArray, period: float) -> FloatArray:
    """Signed distance to the nearest multiple of ``period``."""
    return (value + period / 2) % period - period / 2


def value_noise(shape: tuple[int, int], cells: float, seed: int) -> FloatArray:
    """Smooth noise in 0..1 with about ``cells`` features across the shorter side."""
    rng = np.random.default_rng(seed)
    height, width = shape
    step = max(2.0, min(height, width) / max(cells, 1.0))
    gh, gw = int(height / step) + 3, int(width / step) + 3
    grid = rng.random((gh, gw)).astype(np.float32)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _mix(a: np.ndarray, b: np.ndarray, t: FloatArray) -> np.ndarray:
    return a + (b - a) * t[..., None]


def _noise_at(u: FloatArray, v: FloatArray, scale: float, seed: int) -> FloatArray:
    """Smooth noise sampled at garment coordinates (so it follows the body too)."""
    if u.ndim == 2 and u.size > 300_000:  # smooth anyway: sample every other pixel, then upscale
        half = _noise_at(u[::2, ::2], v[::2, ::2], scale, seed)
        return cv2.resize(half, (u.shape[1], u.shape[0]), interpolation=cv2.INTER_LINEAR)
    rng = np.random.default_rng(seed)
    size = 64
    grid = rng.random((size, size)).astype(np.float32)
    x = (u / scale) % (size - 1)
    y = (v / scale) % (size - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    x1, y1 = (x0 + 1) % size, (y0 + 1) % size
    top = grid[y0, x0] * (1 - fx) + grid[y0, x1] * fx
    bottom = grid[y1, x0] * (1 - fx) + grid[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def fbm(u: FloatArray, v: FloatArray, scale: float, seed: int, octaves: int = 3) -> FloatArray:
    total = np.zeros_like(u)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        total += amplitude * _noise_at(u, v, scale / (2**octave), seed + octave * 7919)
        norm += amplitude
        amplitude *= 0.5
    return total / norm


def pattern_albedo(
    pattern: str | None,
    u: FloatArray,
    v: FloatArray,
    colours: list[np.ndarray],
    pixel_cm: float,
    seed: int,
    parameters: PatternParameters = PATTERNS,
) -> np.ndarray:
    """The garment's albedo (linear RGB) with ``pattern`` drawn in ``colours`` (main colour first)."""
    p = parameters
    main = colours[0]
    second = colours[1] if len(colours) > 1 else _contrast(main)
    third = colours[2] if len(colours) > 2 else (main * 0.55 + second * 0.45)
    base = np.broadcast_to(main, (*u.shape, 3)).astype(np.float32)
    px = max(pixel_cm, 0.05)
    if pattern == "striped":
        return _mix(base, second, _band(_periodic(v, p.stripe_period), p.stripe_half_width, px))
    if pattern == "pinstriped":
        stripe = _band(_periodic(u, p.pinstripe_period), max(p.pinstripe_half_width, px * 0.45), px)
        return _mix(base, second, stripe * p.pinstripe_strength)
    if pattern == "plaid":
        period, half = p.plaid_period, p.plaid_period / 2
        wide_u = _band(_periodic(u, period), p.plaid_wide_half_width, px)
        wide_v = _band(_periodic(v, period), p.plaid_wide_half_width, px)
        thin_u = _band(_periodic(u + half, period), p.plaid_thin_half_width, px)
        thin_v = _band(_periodic(v + half, period), p.plaid_thin_half_width, px)
        out = _mix(base, second, np.clip(p.plaid_wide_strength * wide_u + p.plaid_wide_strength * wide_v, 0, 1))
        out = _mix(out, third, np.clip(thin_u + thin_v, 0, 1) * p.plaid_thin_strength)
        # The twill shows at the crossings: a fine diagonal texture.
        twill = (1 - p.twill_depth) + p.twill_depth * np.cos((u + v) * 2 * np.pi / p.twill_period)
        return out * twill[..., None]
    if pattern == "checked":
        a = _band(_periodic(u, p.check_period), p.check_half_width, px)
        b = _band(_periodic(v, p.check_period), p.check_half_width, px)
        white = np.array([0.85, 0.85, 0.83], np.float32)
        out = _mix(np.broadcast_to(white, base.shape).astype(np.float32), main, np.clip(0.5 * a + 0.5 * b, 0, 1))
        return _mix(out, main * 0.8, a * b)
    if pattern == "polka dot":
        cell = p.polka_cell
        cu = _periodic(u + (np.floor(v / cell) % 2) * cell / 2, cell)
        cv = _periodic(v, cell)
        return _mix(base, second, _band(np.hypot(cu, cv), p.polka_radius, px))
    if pattern == "floral":
        flowers = [second, third, colours[3] if len(colours) > 3 else _leaf()]
        return _floral(base, u, v, flowers, px, seed, cell=p.floral_cell)
    if pattern == "camo":
        palette = [main, second if len(colours) > 1 else main * 0.55, third, main * 0.35 + 0.02]
        n1 = fbm(u, v, p.camo_scales[0], seed, 3)
        n2 = fbm(u + 31.0, v + 17.0, p.camo_scales[1], seed + 1, 3)
        out = base.copy()
        out = _mix(out, palette[1], np.clip((n1 - 0.52) * 12, 0, 1))
        out = _mix(out, palette[2], np.clip((n2 - 0.58) * 12, 0, 1))
        return _mix(out, palette[3], np.clip((n1 * n2 - 0.36) * 14, 0, 1))
    if pattern == "houndstooth":
        return _houndstooth(base, second, u, v, p.houndstooth_tile)
    if pattern == "herringbone":
        column = np.floor(u / p.herringbone_column)
        direction = np.where(column % 2 == 0, 1.0, -1.0)
        lines = _band(_periodic(v + direction * (u % p.herringbone_column), p.herringbone_period), 0.22, px)
        return _mix(base, second * 0.5 + main * 0.5, lines * 0.7)
    if pattern in ("leopard", "zebra"):
        if pattern == "zebra":
            wave = np.sin(u * 0.9 + 1.8 * np.sin(v * 0.25) + 2.5 * fbm(u, v, 9.0, seed))
            return _mix(base, second, np.clip(wave * 4, 0, 1))
        spots = fbm(u, v, p.leopard_spot_scale, seed, 2)
        ring = _band(spots - 0.62, 0.05, 0.02)
        centre = np.clip((spots - 0.66) * 20, 0, 1)
        out = _mix(base, third if len(colours) > 2 else main * 0.65, centre)
        return _mix(out, np.array([0.02, 0.015, 0.01], np.float32), ring)
    if pattern == "tie-dye":
        radius = np.hypot(u, v - 25.0)
        angle = np.arctan2(v - 25.0, u)
        t = (np.sin(radius * 0.45 + angle * 2 + 3 * fbm(u, v, 10.0, seed)) + 1) / 2
        return _mix(_mix(base, second, np.clip(t * 1.6, 0, 1)), third, np.clip((t - 0.6) * 2.5, 0, 1))
    if pattern == "argyle":
        du, dv = p.argyle_diamond
        diamond = (np.abs(_periodic(u, du)) / (du / 2) + np.abs(_periodic(v, dv)) / (dv / 2)) < 1.0
        parity = (np.floor((u + du / 2) / du) + np.floor((v + dv / 2) / dv)) % 2
        out = np.where((diamond & (parity == 0))[..., None], second, base)
        lines = _band(_periodic(u * dv / du + v, dv), 0.15, px) + _band(_periodic(u * dv / du - v, dv), 0.15, px)
        return _mix(out.astype(np.float32), third, np.clip(lines, 0, 1) * 0.9)
    if pattern == "paisley":
        return _floral(base, u, v, [second, third, second * 0.5 + third * 0.5], px, seed, petals=1, cell=p.floral_cell)
    if pattern == "colour block":
        return np.where((u > 0)[..., None], base, np.broadcast_to(second, base.shape)).astype(np.float32)
    if pattern == "geometric":
        period = p.geometric_period
        tri = _band(_periodic(u + np.abs(_periodic(v, period)), period), 0.5, px)
        return _mix(base, second, tri)
    return base


def _contrast(colour: np.ndarray) -> np.ndarray:
    """A second colour for a pattern the text gave one colour for: white on dark, navy on light."""
    luminance = float(colour @ np.array([0.2126, 0.7152, 0.0722], np.float32))
    if luminance < 0.25:
        return np.array([0.86, 0.86, 0.84], np.float32)
    return np.array([0.013, 0.024, 0.07], np.float32)


def _leaf() -> np.ndarray:
    return np.array([0.05, 0.2, 0.06], np.float32)


def _floral(
    base: np.ndarray,
    u: FloatArray,
    v: FloatArray,
    colours: list[np.ndarray],
    px: float,
    seed: int,
    petals: int = 5,
    cell: float = 6.5,
) -> np.ndarray:
    """Flowers on a jittered grid of ``cell`` cm: petals around a centre, a leaf, each flower its own colour."""
    iu, iv = np.floor(u / cell), np.floor(v / cell)
    hashed = np.sin(iu * 12.9898 + iv * 78.233 + seed * 0.017) * 43758.5453
    jitter = hashed - np.floor(hashed)
    cu = (u - iu * cell) - cell / 2 - (jitter - 0.5) * cell * 0.4
    cv = (v - iv * cell) - cell / 2 - (((jitter * 7.3) % 1) - 0.5) * cell * 0.4
    radius = np.hypot(cu, cv)
    angle = np.arctan2(cv, cu) + jitter * 6.28
    if petals > 1:
        edge = 1.5 + 0.9 * np.abs(np.cos(angle * petals / 2))
    else:
        edge = 1.2 + 1.4 * (0.5 + 0.5 * np.cos(angle)) ** 3
    flower = np.clip((edge - radius) / max(px, 1e-3) + 0.5, 0, 1)
    which = np.floor(jitter * 3).astype(int) % 2
    petal_colour = np.where((which == 0)[..., None], colours[0], colours[1])
    leaf_u, leaf_v = cu - 2.4, cv + 1.6
    leaf = np.clip((0.8 - np.hypot(leaf_u * 0.6, leaf_v * 1.4)) / max(px, 1e-3) + 0.5, 0, 1) * (1 - flower)
    out = _mix(base, colours[2], leaf)
    out = out * (1 - flower[..., None]) + petal_colour * flower[..., None]
    heart = np.clip((0.45 - radius) / max(px, 1e-3) + 0.5, 0, 1)
    return _mix(out.astype(np.float32), np.array([0.75, 0.55, 0.08], np.float32), heart * (petals > 1))


_HOUNDSTOOTH = np.array(
    [
        [1, 1, 1, 1, 0, 0, 0, 1],
        [1, 1, 1, 1, 0, 0, 1, 1],
        [1, 1, 1, 1, 0, 1, 1, 1],
        [1, 1, 1, 1, 1, 1, 1, 0],
        [0, 0, 0, 1, 1, 1, 1, 0],
        [0, 0, 1, 1, 1, 1, 0, 0],
        [0, 1, 1, 1, 1, 0, 0, 0],
        [1, 1, 1, 1, 0, 0, 0, 0],
    ],
    dtype=np.float32,
)


def _houndstooth(base: np.ndarray, second: np.ndarray, u: FloatArray, v: FloatArray, size: float) -> np.ndarray:
    ix = np.floor(u / size).astype(int) % 8
    iy = np.floor(v / size).astype(int) % 8
    return _mix(base, second, _HOUNDSTOOTH[iy, ix])


def weave(
    material: str | None,
    u: FloatArray,
    v: FloatArray,
    pixel_cm: float,
    seed: int,
    parameters: WeaveParameters = WEAVES,
) -> FloatArray:
    """A multiplier around 1 for the material's surface: twill, ribs, flecks, slubs, channels."""
    p = parameters
    ones = np.ones_like(u)
    fine = min(1.0, p.finest / max(pixel_cm, 1e-3))  # fade textures finer than a pixel
    if material == "denim":
        twill = np.cos((u * 0.6 + v) * 2 * np.pi / p.denim_twill_period)
        slub = fbm(u * 0.3, v * 3.0, 1.2, seed, 2) - 0.5
        return ones + p.denim_twill * twill * fine + p.denim_slub * slub
    if material in ("knit", "jersey") and material == "knit":
        ribs = np.cos(u * 2 * np.pi / p.knit_rib_period)
        cable = np.cos((np.abs(_periodic(u, 6.0)) * 1.5 + v) * 2 * np.pi / 1.4) * (np.abs(_periodic(u, 6.0)) < 1.4)
        return ones + p.knit_ribs * ribs * min(1.0, 3 * fine) + p.knit_cable * cable
    if material == "corduroy":
        return ones + p.corduroy_wales * np.cos(u * 2 * np.pi / p.corduroy_period) * min(1.0, 3 * fine)
    if material in ("wool", "tweed", "fleece"):
        flecks = fbm(u, v, 0.5, seed, 2) - 0.5
        return ones + (p.tweed_flecks if material == "tweed" else p.wool_flecks) * flecks
    if material == "linen":
        slub = fbm(u * 0.15, v * 2.5, 0.8, seed, 2) - 0.5
        return ones + p.linen_slub * slub
    if material == "quilted":
        channel = np.abs(np.sin(v * np.pi / p.quilt_channel))
        return 0.62 + 0.48 * channel**0.6
    if material == "suede":
        return ones + p.suede_nap * (fbm(u, v, 1.5, seed, 3) - 0.5)
    if material == "sequin":
        sparkle = (fbm(u, v, 0.25, seed, 1) > 0.78).astype(np.float32)
        return ones * 0.9 + 0.9 * sparkle
    if material == "lace" or material == "mesh":
        holes = _band(_periodic(u, 0.8), 0.22, pixel_cm) * _band(_periodic(v, 0.8), 0.22, pixel_cm)
        return ones - p.lace_holes * holes
    return ones + p.plain_grain * (_noise_at(u, v, 0.6, seed) - 0.5)


# How a material treats light: (contrast of the broad shading, strength of the highlights, sheen at the rim).
MATERIAL_LIGHT: dict[str, tuple[float, float, float]] = {
    "leather": (1.35, 0.55, 0.0),
    "satin": (1.3, 0.7, 0.0),
    "silk": (1.25, 0.5, 0.0),
    "metallic": (1.4, 0.9, 0.0),
    "sequin": (1.2, 0.4, 0.0),
    "nylon": (1.2, 0.35, 0.0),
    "velvet": (1.5, 0.0, 0.35),
    "suede": (0.85, 0.0, 0.1),
    "wool": (0.9, 0.0, 0.05),
    "fleece": (0.8, 0.0, 0.1),
    "knit": (0.95, 0.0, 0.0),
    "denim": (1.0, 0.05, 0.0),
    "quilted": (1.1, 0.3, 0.0),
}

"""Dressing the person: the new garment drawn over the old one, lit by the photo's own shading.

The photo's luminance inside the old garment is divided by the typical luminance of each of its
main colours (so a white shirt and a navy jacket give the same light) and split into broad form
and fine folds; small colour clusters (patches, logos, name tags, ribbons) are treated as print
and their shading is filled in from around them, so they leave no ghost. The new fabric is drawn
in body-aligned centimetres: a cylinder around the torso and each arm, bent by the folds.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon_api.backends.embedded import fabric
from tryon_api.backends.embedded.garment_regions import (
    BodyGeometry,
    arm_mask,
    body_geometry,
    discount_skin_coloured_clothes,
    head_mask,
    measure_neck,
    neckline_mask,
    old_clothing_mask,
    refine_matte,
    skin_probability,
    torso_polygon,
)
from tryon_api.backends.embedded.person_analysis import CHEEK_POINTS, FACE_OVAL, PersonAnalysis, analyse_person
from tryon_api.garments.description import GarmentDescription, GarmentItem, implied_colour, lookup_colour

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
SHOULDER_CM = 40.0  # a shoulder width, to draw fabric at its real size
ALBEDO_CAP = 0.72  # linear; about sRGB 222, so light above the average still shows on white cloth

# How deep the front of the neckline dips, in face heights, by garment kind.
_NECKLINES = {
    "t-shirt": 0.14,
    "top": 0.2,
    "sweater": 0.1,
    "hoodie": 0.12,
    "sweatshirt": 0.1,
    "polo": 0.12,
    "polo shirt": 0.12,
    "shirt": 0.12,
    "blouse": 0.22,
    "dress": 0.3,
    "tank top": 0.4,
    "camisole": 0.55,
}


@dataclass(frozen=True)
class DressedPerson:
    """The photo with the new clothes (original background still there) and the person's matte."""

    rgb: np.ndarray  # uint8 HxWx3
    matte: np.ndarray  # float32 HxW
    garment: np.ndarray  # float32 HxW, where the new garment is
    geometry: BodyGeometry
    head: np.ndarray  # bool HxW


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return fabric.fast_blur(image, sigma)


def _masked_blur(values: np.ndarray, weights: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised convolution: the blur of ``values`` counting only where ``weights`` > 0."""
    weights = weights.astype(np.float32)
    numerator = _blur(values * weights, sigma)
    denominator = _blur(weights, sigma)
    return numerator / np.maximum(denominator, 1e-4)


@dataclass(frozen=True)
class Shading:
    broad: np.ndarray  # the body's form, around 1
    fine: np.ndarray  # folds and creases, around 1
    print_mask: np.ndarray  # bool, patches/logos whose shading was filled in
    steady: np.ndarray  # the form measured on plain cloth only, far from prints: the light for dark fabrics


def garment_shading(rgb: np.ndarray, region: np.ndarray, geometry: BodyGeometry) -> Shading:
    """The light on the old garment, without its colours, prints and logos."""
    height, width = region.shape
    sw = geometry.shoulder_width
    linear = fabric.srgb_to_linear(rgb)
    luminance = linear @ LUMA
    shading = np.ones((height, width), np.float32)
    if region.sum() < 50:
        return Shading(shading, shading.copy(), np.zeros_like(region), shading.copy())
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 0.3  # one material in light and shadow stays one cluster; white and navy still part
    pixels = lab[region]
    rng = np.random.default_rng(0)
    sample = pixels[rng.choice(len(pixels), size=min(len(pixels), 4000), replace=False)]
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    clusters = min(4, len(sample))
    cv2.setRNGSeed(0)  # k-means inside uses OpenCV's per-thread RNG: same input, same output
    _c, _labels, centres = cv2.kmeans(
        sample, clusters, np.zeros((len(sample), 1), np.int32), criteria, 2, cv2.KMEANS_PP_CENTERS
    )
    distances = ((pixels[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    labels = distances.argmin(axis=1)
    counts = np.bincount(labels, minlength=clusters)
    major = counts >= 0.18 * len(pixels)
    if not major.any():
        major[counts.argmax()] = True
    label_map = np.full((height, width), -1, np.int32)
    label_map[region] = labels
    valid = np.zeros((height, width), bool)
    gain = np.ones((height, width), np.float32)
    for index in np.nonzero(major)[0]:
        members = label_map == index
        median = float(np.median(luminance[members])) + 1e-4
        shading[members] = luminance[members] / median
        # Dark cloth carries mostly JPEG noise in its texture: trust its fine shading less.
        gain[members] = float(np.clip(np.sqrt(median) / 0.45, 0.2, 1.0))
        valid |= members
    # Whatever stands out of its neighbourhood (badges, ribbons, letters) is print too.
    level = np.clip(np.sqrt(luminance) * 255.0, 0, 255).astype(np.uint8)
    small = cv2.resize(level, (max(8, width // 4), max(8, height // 4)), interpolation=cv2.INTER_AREA)
    kernel = max(3, int(0.06 * sw / 4)) | 1
    local = (cv2.resize(cv2.medianBlur(small, min(kernel, 255)), (width, height)).astype(np.float32) / 255.0) ** 2
    outliers = region & ((luminance > 1.7 * local + 0.04) | (luminance < 0.5 * local - 0.04))
    valid &= ~outliers
    prints = region & ~valid
    grow = max(1, int(0.02 * sw))
    prints = cv2.dilate(prints.astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool) & region
    valid &= ~prints
    shading = np.clip(shading, 0.05, 3.0)
    filled = _masked_blur(shading, valid, 0.03 * sw)
    wide = _masked_blur(shading, valid, 0.12 * sw)
    cover = _blur(valid.astype(np.float32), 0.03 * sw)
    filled = np.where(cover > 0.05, filled, wide)
    shading = np.where(valid, shading, filled)
    # For dark fabrics the form is measured on the plain cloth only: filled-in prints (medals, name tags) and
    # their blurred rims (JPEG halos on dark cloth many times its own light) are left out too.
    margin = max(1, int(0.05 * sw))
    clean = valid & ~cv2.dilate(prints.astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)).astype(bool)
    clean &= shading < 1.8
    if clean.sum() < 50:
        clean = region
    near = _masked_blur(shading, clean, 0.05 * sw)
    trust = np.clip(_blur(clean.astype(np.float32), 0.05 * sw) / 0.15, 0, 1)
    steady = np.clip(near * trust + _masked_blur(shading, clean, 0.15 * sw) * (1 - trust), 0.35, 1.7)
    broad = _masked_blur(shading, region, 0.05 * sw)
    broad = np.clip(broad, 0.35, 1.7)
    # Dark cloth: its broad light is mostly noise and reflections of badges; keep it gentle.
    broad = 1 + (broad - 1) * np.clip(_masked_blur(gain, region, 0.05 * sw) * 1.3, 0.4, 1.0)
    fine = _blur(shading, 0.7) / np.maximum(broad, 1e-3)
    gain = _masked_blur(gain, valid | region, 0.02 * sw)
    fine = np.clip(1 + (fine - 1) * gain, 0.55, 1.45)
    fine = fine * gain + _blur(fine, 2.5) * (1 - gain)
    # Inside prints, clone the folds from beside them so the filled area is not suspiciously smooth.
    step = max(1, int(0.22 * sw))
    cloned = np.ones_like(fine)
    found = np.zeros_like(prints)
    for dy, dx in ((0, step), (0, -step), (step, 0), (-step, 0), (step, step), (-step, -step)):
        source_valid = np.roll(valid, (dy, dx), axis=(0, 1))
        take = prints & ~found & source_valid
        cloned = np.where(take, np.roll(fine, (dy, dx), axis=(0, 1)), cloned)
        found |= take
    fine = np.where(prints, cloned, fine)
    return Shading(broad.astype(np.float32), fine.astype(np.float32), prints, steady.astype(np.float32))


@dataclass(frozen=True)
class GarmentCoordinates:
    u: np.ndarray  # cm across / around
    v: np.ndarray  # cm down / along
    across: np.ndarray  # px from the torso axis (signed)
    along: np.ndarray  # px down the torso axis from the neck base
    on_arm: np.ndarray  # bool
    origin: tuple[int, int] = (0, 0)  # x, y of the first pixel in the image (the arrays may be a crop)


def garment_coordinates(
    geometry: BodyGeometry,
    shape: tuple[int, int],
    fine: np.ndarray,
    origin: tuple[int, int] = (0, 0),
    on_arm: np.ndarray | None = None,
) -> GarmentCoordinates:
    """Body-aligned cm for every pixel: a cylinder around the torso, one around each arm, bent by the folds.

    ``shape`` and ``fine`` may be a crop of the image starting at ``origin`` (x, y); ``on_arm`` is
    then the crop of the arm mask.
    """
    height, width = shape
    sw = geometry.shoulder_width
    cm = SHOULDER_CM / sw
    x0, y0 = origin
    ys, xs = np.mgrid[y0 : y0 + height, x0 : x0 + width].astype(np.float32)
    top = np.array([geometry.centre_x, geometry.neck_base_y], np.float32)
    hips = (geometry.left_hip + geometry.right_hip) / 2
    shoulders = (geometry.left_shoulder + geometry.right_shoulder) / 2
    axis = hips - shoulders
    axis = axis / max(float(np.linalg.norm(axis)), 1e-3)
    if axis[1] < 0.5:
        axis = np.array([0.0, 1.0], np.float32)
    normal = np.array([axis[1], -axis[0]], np.float32)
    dx, dy = xs - top[0], ys - top[1]
    along = dx * axis[0] + dy * axis[1]
    across = -(dx * normal[0] + dy * normal[1])
    radius = 0.62 * sw
    u = radius * np.arcsin(np.clip(across / radius, -0.999, 0.999)) * cm
    v = along * cm
    if on_arm is None:
        on_arm = arm_mask(shape, geometry) & ~_polygon_mask(shape, torso_polygon(geometry, grow=0.02))
    g = geometry
    left_nearer = _arm_distance(xs, ys, g.left_shoulder, g.left_elbow, g.left_wrist) < _arm_distance(
        xs, ys, g.right_shoulder, g.right_elbow, g.right_wrist
    )
    for shoulder, elbow, wrist, side in (
        (g.left_shoulder, g.left_elbow, g.left_wrist, left_nearer),
        (g.right_shoulder, g.right_elbow, g.right_wrist, ~left_nearer),
    ):
        members = on_arm & side
        if not members.any():
            continue
        for start, end, offset in ((shoulder, elbow, 0.0), (elbow, wrist, float(np.linalg.norm(elbow - shoulder)))):
            seg = end - start
            length = max(float(np.linalg.norm(seg)), 1e-3)
            direction = seg / length
            px, py = xs[members] - start[0], ys[members] - start[1]
            t = px * direction[0] + py * direction[1]
            chosen = (t >= 0) & (t <= length) if offset == 0 else t > 0
            perpendicular = px * direction[1] - py * direction[0]
            arm_radius = 0.2 * sw
            arm_u = arm_radius * np.arcsin(np.clip(perpendicular / arm_radius, -0.999, 0.999)) * cm
            arm_v = (t + offset) * cm
            index = np.nonzero(members)
            u[index[0][chosen], index[1][chosen]] = arm_u[chosen] + 100.0
            v[index[0][chosen], index[1][chosen]] = arm_v[chosen]
    # Folds: the fabric surface tilts where the fine shading changes, so the pattern drifts with it.
    folds = _blur(fine - 1.0, 0.012 * sw)
    v = v + 1.2 * folds
    u = u + 0.4 * folds
    return GarmentCoordinates(u.astype(np.float32), v.astype(np.float32), across, along, on_arm, origin)


def _polygon_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)


def _segment_distance(xs: np.ndarray, ys: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    seg = b - a
    length2 = max(float(seg @ seg), 1e-6)
    t = np.clip(((xs - a[0]) * seg[0] + (ys - a[1]) * seg[1]) / length2, 0, 1)
    return np.hypot(xs - (a[0] + t * seg[0]), ys - (a[1] + t * seg[1]))


def _arm_distance(
    xs: np.ndarray, ys: np.ndarray, shoulder: np.ndarray, elbow: np.ndarray, wrist: np.ndarray
) -> np.ndarray:
    return np.minimum(_segment_distance(xs, ys, shoulder, elbow), _segment_distance(xs, ys, elbow, wrist))


def _item_colours(item: GarmentItem | None, fallback: str) -> list[np.ndarray]:
    colours = []
    colour = implied_colour(item) if item is not None else None
    if colour is None:
        colour = lookup_colour(fallback)
    assert colour is not None
    colours.append(fabric.srgb_to_linear(np.array(colour.rgb, np.float32)))
    if item is not None:
        colours.extend(fabric.srgb_to_linear(np.array(c.rgb, np.float32)) for c in item.secondary_colours)
    return colours


def render_fabric(
    item: GarmentItem | None,
    coords: GarmentCoordinates,
    shading: Shading,
    geometry: BodyGeometry,
    seed: int,
    fallback_colour: str = "navy",
    albedo: np.ndarray | None = None,
) -> np.ndarray:
    """Linear RGB of the garment everywhere (the caller masks it): albedo x weave x light."""
    pixel_cm = SHOULDER_CM / geometry.shoulder_width
    pattern = item.patterns[0] if item is not None and item.patterns else None
    material = item.materials[0] if item is not None and item.materials else None
    if albedo is None:
        albedo = fabric.pattern_albedo(
            pattern, coords.u, coords.v, _item_colours(item, fallback_colour), pixel_cm, seed
        )
    # No cloth reflects all light: capped below white, a white shirt keeps its folds instead of clipping flat.
    albedo = np.minimum(albedo, ALBEDO_CAP)
    texture = fabric.weave(material, coords.u, coords.v, pixel_cm, seed)
    contrast, gloss, sheen = fabric.MATERIAL_LIGHT.get(material or "", (1.0, 0.0, 0.0))
    # Dark cloth takes the steady light: its small absolute differences would show only the filled-in badges.
    darkness = np.clip(1 - (albedo @ LUMA) / 0.05, 0, 1)
    form = shading.broad * (1 - darkness) + shading.steady * darkness
    broad = np.power(form, contrast)
    light = broad * shading.fine * texture
    linear = albedo * light[..., None]
    if gloss > 0:
        # Highlights from the body's broad form only, soft and weak: the old garment's fine shading on dark
        # cloth is JPEG noise and filled-in badges, and raised to a highlight it showed as grey clouds.
        # Relative to the garment's own light, so even a flatly lit jacket keeps a soft sheen where it is brightest.
        sheen_light = _blur(form, 0.02 * geometry.shoulder_width)
        low, high = np.percentile(sheen_light, (50, 99))
        highlight = np.clip((sheen_light - low) / max(float(high - low), 0.05), 0, 1) ** 2 * gloss * 0.05
        linear = linear + highlight[..., None]
    if sheen > 0:
        rim = np.clip(1.0 - form, 0, 1) * sheen
        linear = linear + rim[..., None] * albedo * 0.8
    return linear.astype(np.float32)


def _skin_colour(rgb: np.ndarray, analysis: PersonAnalysis, geometry: BodyGeometry) -> np.ndarray:
    return _skin_colour_linear(fabric.srgb_to_linear(rgb), analysis, geometry)


def _skin_colour_linear(linear: np.ndarray, analysis: PersonAnalysis, geometry: BodyGeometry) -> np.ndarray:
    """The cheeks' median colour, in linear light."""
    if analysis.face is None:
        x0, y0, x1, y1 = geometry.face_box
        patch = linear[(y0 + y1) // 2 : (y0 + 3 * y1) // 4, (2 * x0 + x1) // 3 : (x0 + 2 * x1) // 3]
        return np.median(patch.reshape(-1, 3), axis=0) if patch.size else np.array([0.5, 0.35, 0.28], np.float32)
    radius = max(2, int(geometry.face_width * 0.04))
    samples = []
    for index in CHEEK_POINTS:
        x, y = analysis.face[index].astype(int)
        samples.append(linear[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1].reshape(-1, 3))
    return np.median(np.concatenate(samples), axis=0).astype(np.float32)


def _skin_grain(
    linear: np.ndarray, analysis: PersonAnalysis, geometry: BodyGeometry, shape: tuple[int, int]
) -> np.ndarray:
    """Grain as strong as the cheek's own (pores, freckles, JPEG noise), so painted skin is not plastic."""
    height, width = shape
    if analysis.face is None:
        return np.ones(shape, np.float32)
    luminance = linear @ LUMA
    side = max(6, int(0.14 * geometry.face_width))
    x, y = analysis.face[CHEEK_POINTS[3]].astype(int)  # the middle of a cheek
    patch = luminance[max(0, y - side // 2) : y + side // 2, max(0, x - side // 2) : x + side // 2]
    if patch.shape[0] < 6 or patch.shape[1] < 6:
        return np.ones(shape, np.float32)
    detail = patch / np.maximum(cv2.GaussianBlur(patch, (0, 0), side / 6), 1e-4)
    amplitude = float(np.clip(detail.std(), 0.01, 0.06))
    grain = fabric.value_noise(shape, max(height, width) / 3.0, int(side)) - 0.5
    soft = fabric.value_noise(shape, geometry.face_width / 4.0, int(side) + 1) - 0.5
    return (1 + amplitude * (2.5 * grain + 1.5 * soft)).astype(np.float32)


def _neckline_depth(item: GarmentItem | None) -> float:
    if item is None:
        return 0.14
    if "v-neck" in item.fit:
        return 0.75
    if "turtleneck" in item.fit:
        return -0.05
    if item.garment_class == "outerwear":
        return 0.1
    return _NECKLINES.get(item.noun, 0.16)


def _sleeve_fraction(item: GarmentItem | None) -> float:
    if item is None:
        return 1.0
    if "sleeveless" in item.fit:
        return 0.0
    if "short-sleeve" in item.fit:
        return 0.42
    if "three-quarter-sleeve" in item.fit:
        return 1.6
    return 1.0


def _opening(
    coords: GarmentCoordinates, geometry: BodyGeometry, outer: GarmentItem
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the inner garment shows through an open or V-cut outer layer: (opening, lapel, edge distance px)."""
    sw = geometry.shoulder_width
    length = max(geometry.hip_y - geometry.neck_base_y, sw)
    t = np.clip(coords.along / length, 0, 2)
    buttoned = outer.noun in ("blazer", "suit", "waistcoat", "vest", "tuxedo") and "open" not in outer.fit
    if buttoned:
        half = np.clip(0.24 * sw * (1 - t / 0.62), 0, None)
    else:
        half = 0.2 * sw + 0.05 * sw * np.clip(1 - t / 0.25, 0, 1)
    gap = half - np.abs(coords.across)
    opening = (gap > 0) & (coords.along > -0.05 * sw) & ~coords.on_arm
    lapel_width = 0.085 * sw
    lapel = (gap <= 0) & (gap > -lapel_width) & (t < 0.5) & (coords.along > -0.02 * sw) & ~coords.on_arm
    return opening, lapel, gap


def _between_neck_and_garment(
    candidates: np.ndarray, neck: np.ndarray, garment: np.ndarray, geometry: BodyGeometry, ys: np.ndarray
) -> np.ndarray:
    """The ``candidates`` in a narrow strip on one row between the neck and the garment, chin to shoulders.

    Only a strip narrower than a fifth of the face counts: a wider one is no collar gap but the air above
    a raised shoulder, and filling it drew blocks beside the neck.
    """
    width = neck.shape[1]
    index = np.arange(width, dtype=np.float32)[None, :]
    far = float(10 * width)

    def last_before(mask: np.ndarray) -> np.ndarray:
        return np.maximum.accumulate(np.where(mask, index, -far), axis=1)

    def first_after(mask: np.ndarray) -> np.ndarray:
        return np.minimum.accumulate(np.where(mask, index, far)[:, ::-1], axis=1)[:, ::-1]

    reach = max(3.0, 0.2 * geometry.face_width)
    left_strip = first_after(neck) - last_before(garment) <= reach
    right_strip = first_after(garment) - last_before(neck) <= reach
    rows = (ys > geometry.chin[1]) & (ys < geometry.shoulder_y + 0.1 * geometry.shoulder_width)
    return candidates & rows & (left_strip | right_strip)


def _shoulder_curve(geometry: BodyGeometry, xs: np.ndarray) -> np.ndarray:
    """The top of the new garment's shoulders: from the neck base sloping down to above the shoulder joints."""
    dx = np.abs(xs - geometry.centre_x)
    half = geometry.neck_half_width
    span = max(abs(geometry.left_shoulder[0] - geometry.centre_x), abs(geometry.right_shoulder[0] - geometry.centre_x))
    sw = geometry.shoulder_width
    t = np.clip((dx - half) / max(span - half, 1.0), 0, 1)
    base = geometry.neck_base_y - 0.05 * sw
    top = max(geometry.shoulder_y - 0.14 * sw, base)
    beyond = np.clip(dx - span, 0, None) / sw  # past the shoulder joint the shoulder rounds down into the arm
    return base + (top - base) * np.sin(t * np.pi / 2) + 1.2 * sw * beyond**2


def _beside_the_head(
    rgb: np.ndarray,
    analysis: PersonAnalysis,
    geometry: BodyGeometry,
    head: np.ndarray,
    skin: np.ndarray,
    person: np.ndarray,
) -> np.ndarray:
    """Beside the jaw, below the ears: keep hair and skin, drop the rest (the top of an old collar)."""
    if analysis.face is None:
        return np.zeros_like(head)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    height, width = head.shape
    fw = geometry.face_width
    samples = []
    for index, side in ((127, -1), (356, 1), (234, -1), (454, 1)):  # temples and cheekbones, outside the oval
        x, y = analysis.face[index]
        x = int(np.clip(x + side * 0.05 * fw, 0, width - 1))
        y = int(np.clip(y, 0, height - 1))
        r = max(2, int(0.03 * fw))
        window = (slice(max(0, y - r), y + r + 1), slice(max(0, x - r), x + r + 1))
        samples.append(lab[window][person[window]].reshape(-1, 3))
    pool = np.concatenate(samples)
    if len(pool) < 5:
        return np.zeros_like(head)
    hair = np.median(pool, axis=0)
    x0, y0, x1, y1 = geometry.face_box
    middle = (y0 + y1) // 2
    zone = np.zeros_like(head)
    zone[
        middle : int(geometry.chin[1] + 0.05 * geometry.face_height), max(0, int(x0 - 0.45 * fw)) : int(x1 + 0.45 * fw)
    ] = True
    oval = analysis.face[list(FACE_OVAL)]
    inside = np.zeros(head.shape, np.uint8)
    cv2.fillPoly(inside, [np.round(oval.mean(axis=0) + (oval - oval.mean(axis=0)) * 1.12).astype(np.int32)], 1)
    hair_like = np.linalg.norm(lab - hair, axis=2) < 28
    return zone & person & ~inside.astype(bool) & ~hair_like & (skin < 0.3)


def paint_neck(
    out: np.ndarray,
    linear: np.ndarray,
    neck: np.ndarray,
    skin: np.ndarray,
    analysis: PersonAnalysis,
    geometry: BodyGeometry,
    garment_soft: np.ndarray,
) -> np.ndarray:
    """The neck above the new neckline: the photo's own skin kept, the rest (an old collar) painted as skin.

    The paint takes its colour from the visible neck (else the cheeks) and its light from the kept skin
    where it is near, else from a neck's usual light: in the jaw's shadow at the top, brighter below,
    rounder at the sides. Every edge is feathered, so no cut line shows between kept and painted skin.
    """
    fw, fh = geometry.face_width, geometry.face_height
    neck_rows, neck_cols = np.nonzero(neck.any(axis=1))[0], np.nonzero(neck.any(axis=0))[0]
    if neck_rows.size == 0:
        return out
    # Everything below works on the neck's box (with room for the blurs and the skin under the jaw):
    # the neck is a few percent of the frame, and this ran over the whole frame at 0.3 s per image.
    margin = int(np.ceil(3 * max(1.5, 0.035 * fw) + 3 * max(1.0, 0.02 * fw) + 3 * max(1.0, 0.03 * fh))) + 4
    full_height, full_width = neck.shape
    y0 = max(0, int(min(neck_rows[0], geometry.chin[1] - 0.12 * fh)) - margin)
    y1 = min(full_height, int(neck_rows[-1]) + 1 + margin)
    x0 = max(0, int(min(neck_cols[0], geometry.centre_x - geometry.neck_half_width)) - margin)
    x1 = min(full_width, int(max(neck_cols[-1] + 1, geometry.centre_x + geometry.neck_half_width + 1)) + margin)
    cheek = _skin_colour_linear(linear, analysis, geometry)
    grain = _skin_grain(linear, analysis, geometry, (y1 - y0, x1 - x0))
    crop = np.s_[y0:y1, x0:x1]
    linear, neck, skin, garment_soft = linear[crop], neck[crop], skin[crop], garment_soft[crop]
    shape = neck.shape
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    cheek_luminance = max(float(cheek @ LUMA), 1e-3)
    luminance = linear @ LUMA
    chroma = linear / np.maximum(luminance, 1e-4)[..., None]
    cheek_chroma = cheek / cheek_luminance
    # The photo's own neck: skin-like, and of the cheek's hue (not a dark collar with a warm cast).
    ratio = luminance / cheek_luminance
    hue_near = np.abs(chroma - cheek_chroma).sum(axis=2) < 0.6
    own = neck & (skin >= 0.5) & hue_near & (ratio > 0.2) & (ratio < 1.6)
    if own.sum() > 30:  # drop its edges blended with a light collar: brighter than the neck itself
        typical = float(np.median(ratio[own]))
        own &= (ratio > 0.6 * typical) & (ratio < 1.3 * typical)
    own = cv2.erode(own.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    colour = cheek_chroma
    if own.sum() > 30:
        colour = 0.5 * cheek_chroma + 0.5 * np.median(chroma[own], axis=0)
    # The light runs down the neck: each row's own skin (its median, so a stray bright edge does not count)
    # where the row shows skin, else a neck's usual light (in the jaw's shadow at the top, brighter below)
    # joined smoothly to the nearest measured row. Across, the neck is round: darker at its sides.
    across = np.abs(xs - geometry.centre_x) / max(geometry.neck_half_width, 1.0)
    roundness = 1 - 0.3 * np.clip(across, 0, 1.3) ** 2
    rows = np.arange(y0, y1, dtype=np.float32)
    below_chin = np.clip((rows - geometry.chin[1]) / fh, 0, None)
    usual = 1 - 0.4 * np.exp(-below_chin / 0.1)
    # The skin just above the painted part (under the jaw, outside the face) is measured too, so the paint
    # continues its light instead of starting with a step.
    above = (
        (ys >= geometry.chin[1] - 0.12 * fh)
        & (ys < geometry.chin[1])
        & (across < 1.0)
        & (skin >= 0.5)
        & hue_near
        & (ratio > 0.2)
        & (ratio < 1.6)
    )
    if analysis.face is not None:
        oval = np.zeros(shape, np.uint8)
        cv2.fillPoly(oval, [np.round(analysis.face[list(FACE_OVAL)] - (x0, y0)).astype(np.int32)], 1)
        above &= ~oval.astype(bool)
    sample = own | above
    measured = np.full(shape[0], np.nan, np.float32)
    relative = ratio / roundness
    counts = sample.sum(axis=1)
    for y in np.nonzero(counts >= 3)[0]:
        measured[y] = float(np.median(relative[y][sample[y]]))
    known = np.nonzero(~np.isnan(measured))[0]
    level = 0.85
    if known.size >= 3:
        level = float(np.clip(np.median(measured[known] / usual[known]), 0.4, 1.2))
    profile = usual * level
    if known.size:
        local = np.arange(shape[0])  # ``known`` indexes the box's rows
        nearest = known[np.abs(local[:, None] - known[None, :]).argmin(axis=1)]
        reach = np.exp(-np.abs(local - nearest) / max(1.0, 0.12 * fh))
        profile = profile + (measured[nearest] - profile[nearest]) * reach
        profile[known] = measured[known]
    profile = cv2.GaussianBlur(profile[:, None], (1, 0), sigmaX=0.1, sigmaY=max(1.0, 0.03 * fh))[:, 0]
    light = profile[:, None] * roundness
    light = _blur(light, max(1.0, 0.02 * fw))
    pores = _blur(grain, 0.8)
    # Skin in shadow is more saturated than the same skin in light (light scattered under the skin).
    richer = 1 + 0.4 * np.clip(1 - light, 0, 0.6)[..., None]
    tinted = np.power(np.maximum(colour, 1e-4), richer)
    tinted /= np.maximum(tinted @ LUMA, 1e-4)[..., None]
    painted = tinted * cheek_luminance * (light * pores)[..., None]
    feather = max(1.5, 0.035 * fw)
    weight = _blur((neck & ~own).astype(np.float32), feather) * _blur(neck.astype(np.float32), feather)
    weight *= np.clip((ys - geometry.chin[1]) / max(2.0, 0.04 * fh), 0, 1)  # no line under the chin
    weight *= 1 - garment_soft
    out = out.copy()
    out[crop] = out[crop] * (1 - weight[..., None]) + painted * weight[..., None]
    return out


def dress_person(
    rgb: np.ndarray,
    description: GarmentDescription,
    seed: int,
    garment_albedo: GarmentAlbedo | None = None,
    analysis: PersonAnalysis | None = None,
) -> DressedPerson:
    """Put the described clothes on the person in ``rgb`` (uint8 HxWx3)."""
    height, width = rgb.shape[:2]
    shape = (height, width)
    if analysis is None:
        analysis = analyse_person(rgb)
    geometry = body_geometry(analysis, shape)
    matte = refine_matte(rgb, analysis.matte)
    head = head_mask(shape, analysis, geometry)
    skin = skin_probability(rgb, analysis, geometry)
    geometry = measure_neck(skin, matte, geometry)
    skin = discount_skin_coloured_clothes(skin, matte, head, geometry)
    old = old_clothing_mask(rgb, matte, head, skin, geometry)
    person = matte > 0.5

    outer = description.primary
    inner = description.inner
    has_opening = outer is not None and inner is not None and outer.garment_class in ("outerwear", "full_outfit")
    visible_top = inner if has_opening else outer
    depth = _neckline_depth(visible_top)
    neck_cut = neckline_mask(shape, geometry, depth) & ~head
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    sleeves = _sleeve_fraction(outer)
    arms = arm_mask(shape, geometry) & ~_polygon_mask(shape, torso_polygon(geometry, grow=0.02))
    bare_arm = np.zeros(shape, bool)
    if sleeves < 1.0:
        keep = arm_mask(shape, geometry, upper_fraction=sleeves) if sleeves > 0 else np.zeros(shape, bool)
        bare_arm = old & arms & ~keep
    # Above the new neckline: the neck (kept where it is skin, painted where the old collar was) or gone.
    base, half, fh = geometry.neck_base_y, geometry.neck_half_width, geometry.face_height
    flare = half * (1.0 + 0.7 * np.clip((ys - (base - 0.3 * fh)) / (0.3 * fh), 0, 1) ** 2)
    neck_shape = (np.abs(xs - geometry.centre_x) < flare) & (ys > geometry.chin[1])
    neck_hole = neck_cut & neck_shape & person & ~head
    bare_neck = neck_hole & (skin < 0.5)
    # Old clothes standing well above the shoulders (a spacesuit's collar ring) go; shoulders stay.
    span = 1.15 * max(
        abs(geometry.left_shoulder[0] - geometry.centre_x), abs(geometry.right_shoulder[0] - geometry.centre_x)
    )
    beside = np.abs(xs - geometry.centre_x) < span
    # Only what stands far above the shoulders and is not the garment (a spacesuit's collar ring) goes;
    # below that, whatever is not skin becomes the new garment's shoulders.
    high = _shoulder_curve(geometry, xs)
    removed = person & ~head & ~neck_shape & beside & (ys < high) & (skin < 0.15) & ~old  # shadowed skin stays
    removed |= _beside_the_head(rgb, analysis, geometry, head, skin, matte > 0.05) & ~neck_shape
    # Whatever covered the chest below the new neckline (a dark collar, a scarf, a collar ring) is now garment.
    collar_zone = beside & (ys >= high) & (ys < geometry.shoulder_y + 0.3 * geometry.shoulder_width) & (skin < 0.4)
    collar_zone &= person & ~head
    garment = (old | collar_zone) & ~neck_hole & ~removed & ~bare_arm
    if depth < 0:  # a turtleneck climbs the neck
        collar = (
            (np.abs(xs - geometry.centre_x) < 1.1 * geometry.neck_half_width)
            & person
            & ~head
            & (ys > geometry.chin[1] + 0.2 * geometry.face_height)
        )
        garment |= collar
        bare_neck &= ~collar
        removed &= ~collar
    # A smooth outline: the masks' stair steps and small bites at the shoulders rounded off inside the person.
    smooth = max(1.5, 0.012 * geometry.shoulder_width)
    garment = (_blur(garment.astype(np.float32), smooth) > 0.5) & person & ~neck_hole & ~bare_arm
    removed &= ~garment
    # Where the old collar stood between the neck and the new shoulders on the same row, the photo showed
    # no background: that strip is neck skin (painted below), not a white gap. Rows with garment on only
    # one side of the neck (above the shoulders) are left alone.
    neck_gap = _between_neck_and_garment(person & ~garment & ~neck_shape, neck_hole, garment, geometry, ys)
    removed &= ~neck_gap
    bare_neck |= neck_gap

    full_shading = garment_shading(rgb, old, geometry)
    linear = fabric.srgb_to_linear(rgb)
    out = linear.copy()
    garment_soft_full = _blur(garment.astype(np.float32), 0.8)
    # The fabric is only drawn inside the garment's bounding box.
    rows, cols = np.nonzero(garment_soft_full > 0.002)
    if rows.size:
        crop = (slice(int(rows.min()), int(rows.max()) + 1), slice(int(cols.min()), int(cols.max()) + 1))
    else:
        crop = (slice(0, 1), slice(0, 1))
    shading = Shading(
        full_shading.broad[crop], full_shading.fine[crop], full_shading.print_mask[crop], full_shading.steady[crop]
    )
    origin = (crop[1].start, crop[0].start)
    coords = garment_coordinates(
        geometry, shading.broad.shape, shading.fine, origin=origin, on_arm=(arms | bare_arm)[crop]
    )
    albedo = garment_albedo.sample(coords, geometry) if garment_albedo is not None else None
    outer_fabric = render_fabric(outer, coords, shading, geometry, seed, albedo=albedo)
    garment_soft = garment_soft_full[crop]
    if has_opening and inner is not None and outer is not None:
        opening, lapel, gap = _opening(coords, geometry, outer)
        inner_fabric = render_fabric(inner, coords, shading, geometry, seed + 1, fallback_colour="white")
        # The outer layer casts a soft shadow on the inner one and its lapels catch the light.
        shadow = 1.0 - 0.5 * np.exp(-np.clip(gap, 0, None) / (0.03 * geometry.shoulder_width))
        inner_fabric *= shadow[..., None]
        roll = np.exp(-(((gap + 0.085 * geometry.shoulder_width) / (0.008 * geometry.shoulder_width)) ** 2))
        lapel_light = np.where(lapel, 1.1 - 0.3 * roll, 1.0)
        edge = np.exp(-((gap / (0.006 * geometry.shoulder_width)) ** 2))
        outer_fabric = outer_fabric * (lapel_light * (1 - 0.35 * edge))[..., None]
        opening_soft = _blur(opening.astype(np.float32), 0.7)
        layered = outer_fabric * (1 - opening_soft[..., None]) + inner_fabric * opening_soft[..., None]
    else:
        layered = outer_fabric
    out[crop] = out[crop] * (1 - garment_soft[..., None]) + layered * garment_soft[..., None]
    garment_soft = garment_soft_full
    shading = full_shading

    bare = bare_arm & person & ~garment
    if bare.any():
        skin_rgb = _skin_colour(rgb, analysis, geometry)
        # An arm is a cylinder: lit in the middle, darker towards its edges, with the sleeve's broad light.
        g = geometry
        across_arm = np.minimum(
            _arm_distance(xs, ys, g.left_shoulder, g.left_elbow, g.left_wrist),
            _arm_distance(xs, ys, g.right_shoulder, g.right_elbow, g.right_wrist),
        ) / (0.13 * g.shoulder_width)
        roundness = 1.0 - 0.5 * np.clip(across_arm, 0, 1.4) ** 2
        arm_light = np.clip(_blur(shading.broad, 0.03 * g.shoulder_width), 0.6, 1.2) * np.clip(roundness, 0.35, 1)
        arm_light *= 1 + (shading.fine - 1) * 0.3
        pores = _skin_grain(linear, analysis, geometry, shape)
        skin_render = skin_rgb * 0.9 * (arm_light * pores)[..., None]
        bare_soft = _blur(bare.astype(np.float32), 1.5) * (1 - garment_soft)
        out = out * (1 - bare_soft[..., None]) + skin_render * bare_soft[..., None]
    neck = (neck_hole | neck_gap) & ~garment
    if neck.any() and bare_neck.any():
        out = paint_neck(out, linear, neck, skin, analysis, geometry, garment_soft)

    grow = max(3, int(0.012 * max(height, width))) | 1
    grown = cv2.dilate(removed.astype(np.uint8), np.ones((grow, grow), np.uint8)).astype(bool) & ~neck_shape & ~neck_gap
    grown &= ~(head & ~removed)
    removed_soft = _blur(grown.astype(np.float32), 1.2) * (1 - _blur((neck_shape | neck_gap).astype(np.float32), 1.2))
    cut = np.clip(removed_soft * 2.0, 0, 1)
    # Across the shoulders the cut's outline is the garment's: blurred and re-thresholded, its stair steps,
    # bites and teeth round off. The head and neck keep their own exact edges.
    contour = max(1.5, 0.012 * geometry.shoulder_width)
    rounded = _blur((_blur(cut, contour) > 0.5).astype(np.float32), 0.8)
    shoulders = (ys > geometry.chin[1]) & ~head & ~neck_shape & ~neck_gap
    cut = np.where(_blur(shoulders.astype(np.float32), 1.5) > 0.5, rounded, cut)
    new_matte = np.clip(matte * (1 - cut), 0, 1)
    return DressedPerson(
        rgb=fabric.linear_to_srgb(out),
        matte=new_matte.astype(np.float32),
        garment=garment_soft.astype(np.float32),
        geometry=geometry,
        head=head,
    )


class GarmentAlbedo:
    """A reference garment's colours and print, mapped onto the body's garment coordinates."""

    def __init__(self, flat_albedo: np.ndarray, mask: np.ndarray) -> None:
        self.flat = flat_albedo  # linear RGB of the garment photo, background filled in
        self.mask = mask

    def sample(self, coords: GarmentCoordinates, geometry: BodyGeometry) -> np.ndarray:
        from tryon_api.backends.embedded.reference_garment import sample_reference

        return sample_reference(self, coords, geometry)

"""Skin painted where clothes were: the neck above a lower neckline, forearms bared by shorter sleeves."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon_api.backends.embedded import fabric
from tryon_api.backends.embedded.garment_coordinates import arm_distance
from tryon_api.backends.embedded.garment_regions import BodyGeometry
from tryon_api.backends.embedded.person_analysis import CHEEK_POINTS, FACE_OVAL, PersonAnalysis
from tryon_api.backends.embedded.shading import LUMA, blur


@dataclass(frozen=True)
class SkinParameters:
    """Skin painted where clothes were (lengths in face widths or heights, or shoulder widths for arms)."""

    arm_radius: float = 0.13  # of the shoulders: a bare arm's radius, for its roundness
    arm_roundness: float = 0.5  # how much darker a bare arm is at its sides
    arm_light: tuple[float, float] = (0.6, 1.2)  # the sleeve's broad light, bounded, lights the arm
    arm_folds: float = 0.3  # how much of the sleeve's folds show on the bare arm
    arm_albedo: float = 0.9  # of the cheeks' colour (arms are a little darker than a lit face)
    arm_edge: float = 1.5  # px: the bare arm's (and leg's) soft edge
    leg_radius: float = 0.17  # of the shoulders: a bare leg's radius, for its roundness
    jaw_shadow: float = 0.45  # the jaw's shadow on the neck, just under it
    jaw_shadow_reach: float = 0.06  # of the face's height
    neck_roundness: float = 0.3  # the neck darker at its sides
    neck_under_chin: float = 0.4  # a neck's usual light: this much darker just under the chin ...
    neck_under_chin_reach: float = 0.1  # ... recovering over this much of the face's height
    shadow_saturation: float = 0.4  # skin in shadow is more saturated (light scattered under the skin)
    feather: float = 0.035  # of the face's width: the painted neck's edges


SKIN = SkinParameters()


def skin_colour(rgb: np.ndarray, analysis: PersonAnalysis, geometry: BodyGeometry) -> np.ndarray:
    return skin_colour_linear(fabric.srgb_to_linear(rgb), analysis, geometry)


def skin_colour_linear(linear: np.ndarray, analysis: PersonAnalysis, geometry: BodyGeometry) -> np.ndarray:
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


def skin_grain(
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


def paint_neck(
    out: np.ndarray,
    linear: np.ndarray,
    neck: np.ndarray,
    skin: np.ndarray,
    analysis: PersonAnalysis,
    geometry: BodyGeometry,
    face: np.ndarray,
    parameters: SkinParameters = SKIN,
) -> np.ndarray:
    """The neck above the new neckline: the photo's own skin kept, the rest (an old collar) painted as skin.

    The paint takes its colour from the visible neck (else the cheeks) and its light from the kept skin
    where it is near, else from a neck's usual light: in the jaw's shadow at the top, brighter below,
    rounder at the sides. Every edge is feathered, so no cut line shows between kept and painted skin.
    """
    p = parameters
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
    cheek = skin_colour_linear(linear, analysis, geometry)
    grain = skin_grain(linear, analysis, geometry, (y1 - y0, x1 - x0))
    crop = np.s_[y0:y1, x0:x1]
    linear, neck, skin = linear[crop], neck[crop], skin[crop]
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
    # Round on the neck; below its base (a low neckline bares the chest) the chest is flatter.
    on_neck = np.clip((geometry.neck_base_y + 0.03 * geometry.shoulder_width - ys) / max(2.0, 0.15 * fh), 0, 1)
    roundness = 1 - p.neck_roundness * np.clip(across, 0, 1.3) ** 2 * on_neck
    rows = np.arange(y0, y1, dtype=np.float32)
    below_chin = np.clip((rows - geometry.chin[1]) / fh, 0, None)
    usual = 1 - p.neck_under_chin * np.exp(-below_chin / p.neck_under_chin_reach)
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
    # The jaw shades the neck just under it: a soft gradient from the face's outline, not a dark line.
    outside_face = cv2.distanceTransform((~face[crop]).astype(np.uint8), cv2.DIST_L2, 3)
    light = light * (1 - p.jaw_shadow * np.exp(-outside_face / max(2.0, p.jaw_shadow_reach * fh)))
    light = blur(light, max(1.0, 0.02 * fw))
    pores = blur(grain, 0.8)
    # Skin in shadow is more saturated than the same skin in light (light scattered under the skin).
    richer = 1 + p.shadow_saturation * np.clip(1 - light, 0, 0.6)[..., None]
    tinted = np.power(np.maximum(colour, 1e-4), richer)
    tinted /= np.maximum(tinted @ LUMA, 1e-4)[..., None]
    painted = tinted * cheek_luminance * (light * pores)[..., None]
    feather = max(1.5, p.feather * fw)
    # Full strength up to the neck's own border (a light collar half painted over left pale blotches there).
    weight = np.clip(blur((neck & ~own).astype(np.float32), feather) * 1.6, 0, 1) * blur(neck.astype(np.float32), 0.7)
    # Painted right up to the jaw's outline (an old collar's dark rim under the chin goes), fading into the face.
    weight *= 1 - np.clip(blur(face[crop].astype(np.float32), max(1.0, 0.035 * fw)) * 1.6, 0, 1)
    out = out.copy()
    out[crop] = out[crop] * (1 - weight[..., None]) + painted * weight[..., None]
    return out


def paint_bare_arms(
    out: np.ndarray,
    rgb: np.ndarray,
    linear: np.ndarray,
    bare: np.ndarray,
    broad_light: np.ndarray,
    fine_light: np.ndarray,
    analysis: PersonAnalysis,
    geometry: BodyGeometry,
    parameters: SkinParameters = SKIN,
) -> np.ndarray:
    """Arms bared by shorter sleeves, painted as skin: a cylinder lit in the middle, with the sleeve's broad light."""
    g = geometry
    limbs = ((g.left_shoulder, g.left_elbow, g.left_wrist), (g.right_shoulder, g.right_elbow, g.right_wrist))
    radius = parameters.arm_radius * g.shoulder_width
    return _paint_bare_limbs(
        out, rgb, linear, bare, broad_light, fine_light, analysis, geometry, limbs, radius, parameters
    )


def paint_bare_legs(
    out: np.ndarray,
    rgb: np.ndarray,
    linear: np.ndarray,
    bare: np.ndarray,
    broad_light: np.ndarray,
    fine_light: np.ndarray,
    analysis: PersonAnalysis,
    geometry: BodyGeometry,
    legs: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...],
    parameters: SkinParameters = SKIN,
) -> np.ndarray:
    """Legs bared by shorts or a skirt (hip, knee, ankle each), painted as skin the way bared arms are."""
    radius = parameters.leg_radius * geometry.shoulder_width
    return _paint_bare_limbs(
        out, rgb, linear, bare, broad_light, fine_light, analysis, geometry, legs, radius, parameters
    )


def _paint_bare_limbs(
    out: np.ndarray,
    rgb: np.ndarray,
    linear: np.ndarray,
    bare: np.ndarray,
    broad_light: np.ndarray,
    fine_light: np.ndarray,
    analysis: PersonAnalysis,
    geometry: BodyGeometry,
    limbs: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...],
    radius: float,
    p: SkinParameters,
) -> np.ndarray:
    """Skin over ``bare``: each limb a cylinder of ``radius`` px lit in the middle, with the cloth's broad light."""
    height, width = bare.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    g = geometry
    across = np.minimum(*(arm_distance(xs, ys, a, b, c) for a, b, c in limbs)) / radius
    roundness = 1.0 - p.arm_roundness * np.clip(across, 0, 1.4) ** 2
    light = np.clip(blur(broad_light, 0.03 * g.shoulder_width), *p.arm_light) * np.clip(roundness, 0.35, 1)
    light *= 1 + (fine_light - 1) * p.arm_folds
    pores = skin_grain(linear, analysis, geometry, (height, width))
    skin_render = skin_colour(rgb, analysis, geometry) * p.arm_albedo * (light * pores)[..., None]
    bare_soft = blur(bare.astype(np.float32), p.arm_edge)
    return out * (1 - bare_soft[..., None]) + skin_render * bare_soft[..., None]

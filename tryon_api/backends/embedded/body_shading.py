"""Light from the body's shape alone: for garments whose photo shows no usable folds.

Built from the pose and the person matte's distance field, at low resolution (it is smooth):
the torso and each arm are cylinders turning away from a soft key light above and to one side,
the outline darkens where the body turns away, the shoulders and the chest catch the light,
a soft shadow falls under the chest, creases run where the arm meets the torso and across the
inside of the elbow. The result is a multiplier around 1 that the fabric is lit by.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon_api.backends.embedded.garment_regions import BodyGeometry

WORK_SIDE = 256


@dataclass(frozen=True)
class BodyShadingParameters:
    """The body-shape light's effects, each on its own (lengths in shoulder widths, strengths as fractions)."""

    work_side: int = WORK_SIDE  # px: the light is built at this size (it is smooth) and scaled up
    outline_reach: float = 0.07  # how far in from the outline the turning-away darkening reaches
    outline_darkest: float = 0.5  # the light right at the outline
    torso_radius: float = 0.6  # the torso cylinder's half width
    key_side: float = 0.05  # the key light's rise towards the image's right, per torso half width
    key_down: float = 0.08  # its fall from the shoulders to the hips
    torso_falloff: float = 0.22  # the torso cylinder's darkening towards its sides
    shoulder_bump: float = 0.12  # the shoulders' highlight
    shoulder_bump_size: float = 0.14
    chest: float = 0.07  # each side of the chest's highlight
    chest_size: tuple[float, float] = (0.16, 0.14)  # across, down
    chest_drop: float = 0.3  # the chest's highlight below the shoulders
    under_chest: float = 0.07  # the soft shadow under the chest
    under_chest_drop: float = 0.55
    arm_radius: float = 0.17
    arm_falloff: float = 0.3  # each arm cylinder's darkening towards its sides
    armpit_crease: float = 0.25  # the crease where the arm meets the torso
    elbow_creases: float = 0.2  # creases inside the elbow
    elbow_crease_spacing: float = 0.06
    smoothing: float = 0.008  # a blur of this many shoulder widths over the whole light
    range: tuple[float, float] = (0.55, 1.25)  # the multiplier's bounds


PARAMETERS = BodyShadingParameters()


def _segment_position(
    xs: np.ndarray, ys: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every pixel: distance to segment ab, the position along it (px from a), and its signed side."""
    seg = b - a
    length = max(float(np.hypot(*seg)), 1e-3)
    direction = seg / length
    px, py = xs - a[0], ys - a[1]
    along = px * direction[0] + py * direction[1]
    side = px * direction[1] - py * direction[0]
    clamped = np.clip(along, 0, length)
    distance = np.hypot(px - clamped * direction[0], py - clamped * direction[1])
    return distance, along, side


def body_shape_shading(
    matte: np.ndarray, geometry: BodyGeometry, parameters: BodyShadingParameters = PARAMETERS
) -> np.ndarray:
    """A light multiplier (float32 HxW, about 0.55..1.25) from the body's shape: no photo light needed."""
    p = parameters
    height, width = matte.shape
    scale = min(1.0, p.work_side / max(height, width))
    small = (max(8, round(width * scale)), max(8, round(height * scale)))
    person = (cv2.resize(matte, small, interpolation=cv2.INTER_AREA) > 0.5).astype(np.uint8)
    ys, xs = np.mgrid[0 : small[1], 0 : small[0]].astype(np.float32)
    g = geometry
    sw = g.shoulder_width * scale
    cx, shoulder_y = g.centre_x * scale, g.shoulder_y * scale
    hip_y = max(g.hip_y * scale, shoulder_y + sw)

    # The outline turns away from the camera and the light: darker within a sixth of a shoulder of it.
    inside = cv2.distanceTransform(person, cv2.DIST_L2, 3) / max(sw, 1.0)
    outline = p.outline_darkest + (1 - p.outline_darkest) * (1 - np.exp(-inside / p.outline_reach))
    # The torso is a cylinder lit from above and a little from its left (the image's right).
    across = (xs - cx) / (p.torso_radius * sw)
    key = (
        1
        + p.key_side * np.clip(across, -1.5, 1.5)
        - p.key_down * np.clip((ys - shoulder_y) / (hip_y - shoulder_y), -0.5, 1.5)
    )
    torso = (1 - p.torso_falloff * np.clip(across, -1.6, 1.6) ** 2) * outline * key
    # Shoulders and chest catch the light; a soft shadow falls under the chest.
    for shoulder in (g.left_shoulder, g.right_shoulder):
        sx, sy = shoulder * scale
        bump = np.exp(
            -(((xs - (sx + (cx - sx) * 0.25)) ** 2 + (ys - sy + 0.04 * sw) ** 2) / (p.shoulder_bump_size * sw) ** 2)
        )
        chest_x, chest_y = cx + (sx - cx) * 0.45, shoulder_y + p.chest_drop * sw
        chest = np.exp(
            -(((xs - chest_x) / (p.chest_size[0] * sw)) ** 2) - ((ys - chest_y) / (p.chest_size[1] * sw)) ** 2
        )
        torso = torso + p.shoulder_bump * bump + p.chest * chest
    band = np.exp(-(((ys - shoulder_y - p.under_chest_drop * sw) / (0.1 * sw)) ** 2)) * np.exp(
        -(((xs - cx) / (0.4 * sw)) ** 2)
    )
    light = torso * (1 - p.under_chest * band)
    # Each arm is a cylinder of its own: where it meets the torso a crease, and creases inside the elbow.
    for shoulder, elbow, wrist in (
        (g.left_shoulder, g.left_elbow, g.left_wrist),
        (g.right_shoulder, g.right_elbow, g.right_wrist),
    ):
        s, e, w = shoulder * scale, elbow * scale, wrist * scale
        upper, along, side = _segment_position(xs, ys, s, e)
        fore, along_fore, _side = _segment_position(xs, ys, e, w)
        radius = p.arm_radius * sw
        distance = np.minimum(upper, fore)
        on_arm = np.clip((1.05 * radius - distance) / (0.25 * radius), 0, 1)
        arm = (1 - p.arm_falloff * np.clip(distance / radius, 0, 1) ** 2) * outline * key
        light = light * (1 - on_arm) + arm * on_arm
        upper_length = max(float(np.hypot(*(e - s))), 1e-3)
        facing = np.sign(cx - s[0]) * np.sign(e[1] - s[1] + 1e-3)  # the side of the upper arm facing the torso
        seam = np.exp(-(((upper - radius) / (0.03 * sw)) ** 2)) * (side * facing > 0)
        seam *= np.clip(along / (0.25 * upper_length), 0, 1) * (along < upper_length)
        light = light * (1 - p.armpit_crease * seam)
        near_elbow = np.exp(-((along_fore / (0.12 * sw)) ** 2)) * np.clip(1 - fore / radius, 0, 1)
        creases = np.clip(np.cos(2 * np.pi * along_fore / (p.elbow_crease_spacing * sw)), 0, 1) ** 3
        light = light * (1 - p.elbow_creases * creases * near_elbow)
    light = cv2.GaussianBlur(light.astype(np.float32), (0, 0), max(0.6, p.smoothing * sw))
    inside_person = person > 0
    if inside_person.any():
        light = light / max(float(np.percentile(light[inside_person], 75)), 1e-3)  # highlights only a little above 1
    full = cv2.resize(light, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(full, *p.range).astype(np.float32)

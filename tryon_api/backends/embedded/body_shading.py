"""Light from the body's shape alone: for garments whose photo shows no usable folds.

Built from the pose and the person matte's distance field, at low resolution (it is smooth):
the torso and each arm are cylinders turning away from a soft key light above and to one side,
the outline darkens where the body turns away, the shoulders and the chest catch the light,
a soft shadow falls under the chest, creases run where the arm meets the torso and across the
inside of the elbow. The result is a multiplier around 1 that the fabric is lit by.
"""

from __future__ import annotations

import cv2
import numpy as np

from tryon_api.backends.embedded.garment_regions import BodyGeometry

WORK_SIDE = 256


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


def body_shape_shading(matte: np.ndarray, geometry: BodyGeometry) -> np.ndarray:
    """A light multiplier (float32 HxW, about 0.55..1.25) from the body's shape: no photo light needed."""
    height, width = matte.shape
    scale = min(1.0, WORK_SIDE / max(height, width))
    small = (max(8, round(width * scale)), max(8, round(height * scale)))
    person = (cv2.resize(matte, small, interpolation=cv2.INTER_AREA) > 0.5).astype(np.uint8)
    ys, xs = np.mgrid[0 : small[1], 0 : small[0]].astype(np.float32)
    g = geometry
    sw = g.shoulder_width * scale
    cx, shoulder_y = g.centre_x * scale, g.shoulder_y * scale
    hip_y = max(g.hip_y * scale, shoulder_y + sw)

    # The outline turns away from the camera and the light: darker within a sixth of a shoulder of it.
    inside = cv2.distanceTransform(person, cv2.DIST_L2, 3) / max(sw, 1.0)
    outline = 0.5 + 0.5 * (1 - np.exp(-inside / 0.07))
    # The torso is a cylinder lit from above and a little from its left (the image's right).
    across = (xs - cx) / (0.6 * sw)
    key = 1 + 0.05 * np.clip(across, -1.5, 1.5) - 0.08 * np.clip((ys - shoulder_y) / (hip_y - shoulder_y), -0.5, 1.5)
    torso = (1 - 0.22 * np.clip(across, -1.6, 1.6) ** 2) * outline * key
    # Shoulders and chest catch the light; a soft shadow falls under the chest.
    for shoulder in (g.left_shoulder, g.right_shoulder):
        sx, sy = shoulder * scale
        bump = np.exp(-(((xs - (sx + (cx - sx) * 0.25)) ** 2 + (ys - sy + 0.04 * sw) ** 2) / (0.14 * sw) ** 2))
        chest_x, chest_y = cx + (sx - cx) * 0.45, shoulder_y + 0.3 * sw
        chest = np.exp(-(((xs - chest_x) / (0.16 * sw)) ** 2) - ((ys - chest_y) / (0.14 * sw)) ** 2)
        torso = torso + 0.12 * bump + 0.07 * chest
    band = np.exp(-(((ys - shoulder_y - 0.55 * sw) / (0.1 * sw)) ** 2)) * np.exp(-(((xs - cx) / (0.4 * sw)) ** 2))
    light = torso * (1 - 0.07 * band)
    # Each arm is a cylinder of its own: where it meets the torso a crease, and creases inside the elbow.
    for shoulder, elbow, wrist in (
        (g.left_shoulder, g.left_elbow, g.left_wrist),
        (g.right_shoulder, g.right_elbow, g.right_wrist),
    ):
        s, e, w = shoulder * scale, elbow * scale, wrist * scale
        upper, along, side = _segment_position(xs, ys, s, e)
        fore, along_fore, _side = _segment_position(xs, ys, e, w)
        radius = 0.17 * sw
        distance = np.minimum(upper, fore)
        on_arm = np.clip((1.05 * radius - distance) / (0.25 * radius), 0, 1)
        arm = (1 - 0.3 * np.clip(distance / radius, 0, 1) ** 2) * outline * key
        light = light * (1 - on_arm) + arm * on_arm
        upper_length = max(float(np.hypot(*(e - s))), 1e-3)
        facing = np.sign(cx - s[0]) * np.sign(e[1] - s[1] + 1e-3)  # the side of the upper arm facing the torso
        seam = np.exp(-(((upper - radius) / (0.03 * sw)) ** 2)) * (side * facing > 0)
        seam *= np.clip(along / (0.25 * upper_length), 0, 1) * (along < upper_length)
        light = light * (1 - 0.25 * seam)
        near_elbow = np.exp(-((along_fore / (0.12 * sw)) ** 2)) * np.clip(1 - fore / radius, 0, 1)
        creases = np.clip(np.cos(2 * np.pi * along_fore / (0.06 * sw)), 0, 1) ** 3
        light = light * (1 - 0.2 * creases * near_elbow)
    light = cv2.GaussianBlur(light.astype(np.float32), (0, 0), max(0.6, 0.008 * sw))
    inside_person = person > 0
    if inside_person.any():
        light = light / max(float(np.percentile(light[inside_person], 75)), 1e-3)  # highlights only a little above 1
    full = cv2.resize(light, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(full, 0.55, 1.25).astype(np.float32)

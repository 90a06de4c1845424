"""Body-aligned centimetres for every garment pixel: a cylinder around the torso and each arm, bent by folds."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon_api.backends.embedded.garment_regions import BodyGeometry, arm_mask, torso_polygon
from tryon_api.backends.embedded.shading import blur

SHOULDER_CM = 40.0  # a shoulder width, to draw fabric at its real size
# Each limb pair gets its own band of ``u`` (cm), far from the torso's (around 0): patterns do not join across.
ARM_U, LEG_U = 100.0, 200.0
LEG_RADIUS = 0.2  # a trouser leg's radius, in shoulder widths


@dataclass(frozen=True)
class CoordinateParameters:
    """The cylinders cloth is wrapped round, and how far the photo's folds bend it (shoulder widths)."""

    torso_radius: float = 0.62
    arm_radius: float = 0.2
    leg_radius: float = LEG_RADIUS
    fold_blur: float = 0.012  # the photo's fine light, blurred this much, tilts the surface
    fold_bend: tuple[float, float] = (0.4, 1.2)  # cm the pattern drifts across and down per unit of fold


COORDINATES = CoordinateParameters()


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
    legs: tuple[np.ndarray, tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]] | None = None,
    parameters: CoordinateParameters = COORDINATES,
) -> GarmentCoordinates:
    """Body-aligned cm for every pixel: a cylinder around the torso, one around each arm, bent by the folds.

    ``shape`` and ``fine`` may be a crop of the image starting at ``origin`` (x, y); ``on_arm`` is
    then the crop of the arm mask. ``legs`` (the crop's trouser-leg mask and each leg's hip, knee and
    ankle) wraps those pixels round the legs as the arms are wrapped.
    """
    p = parameters
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
    radius = p.torso_radius * sw
    u = radius * np.arcsin(np.clip(across / radius, -0.999, 0.999)) * cm
    v = along * cm
    if on_arm is None:
        on_arm = arm_mask(shape, geometry) & ~polygon_mask(shape, torso_polygon(geometry, grow=0.02))
    g = geometry
    _wrap_limbs(
        u, v, xs, ys, on_arm, cm, p.arm_radius * sw, ARM_U,
        ((g.left_shoulder, g.left_elbow, g.left_wrist), (g.right_shoulder, g.right_elbow, g.right_wrist)),
    )  # fmt: skip
    if legs is not None:
        on_leg, joints = legs
        _wrap_limbs(u, v, xs, ys, on_leg, cm, p.leg_radius * sw, LEG_U, joints)
    # Folds: the fabric surface tilts where the fine shading changes, so the pattern drifts with it.
    folds = blur(fine - 1.0, p.fold_blur * sw)
    v = v + p.fold_bend[1] * folds
    u = u + p.fold_bend[0] * folds
    return GarmentCoordinates(u.astype(np.float32), v.astype(np.float32), across, along, on_arm, origin)


def _wrap_limbs(
    u: np.ndarray,
    v: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    members_mask: np.ndarray,
    cm: float,
    radius: float,
    offset_u: float,
    limbs: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...],
) -> None:
    """Cylinders round two limbs (root, middle joint, end) in ``u``/``v`` (in place): ``u`` around
    ``offset_u``, ``v`` along the limb from its root; each pixel of ``members_mask`` on its nearer limb."""
    (a0, a1, a2), (b0, b1, b2) = limbs
    first_nearer = arm_distance(xs, ys, a0, a1, a2) < arm_distance(xs, ys, b0, b1, b2)
    for (root, middle, end_joint), side in (((a0, a1, a2), first_nearer), ((b0, b1, b2), ~first_nearer)):
        members = members_mask & side
        if not members.any():
            continue
        for start, end, offset in ((root, middle, 0.0), (middle, end_joint, float(np.linalg.norm(middle - root)))):
            seg = end - start
            length = max(float(np.linalg.norm(seg)), 1e-3)
            direction = seg / length
            px, py = xs[members] - start[0], ys[members] - start[1]
            t = px * direction[0] + py * direction[1]
            chosen = (t >= 0) & (t <= length) if offset == 0 else t > 0
            perpendicular = px * direction[1] - py * direction[0]
            limb_u = radius * np.arcsin(np.clip(perpendicular / radius, -0.999, 0.999)) * cm
            limb_v = (t + offset) * cm
            index = np.nonzero(members)
            u[index[0][chosen], index[1][chosen]] = limb_u[chosen] + offset_u
            v[index[0][chosen], index[1][chosen]] = limb_v[chosen]


def polygon_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)


def segment_distance(xs: np.ndarray, ys: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    seg = b - a
    length2 = max(float(seg @ seg), 1e-6)
    t = np.clip(((xs - a[0]) * seg[0] + (ys - a[1]) * seg[1]) / length2, 0, 1)
    return np.hypot(xs - (a[0] + t * seg[0]), ys - (a[1] + t * seg[1]))


def arm_distance(
    xs: np.ndarray, ys: np.ndarray, shoulder: np.ndarray, elbow: np.ndarray, wrist: np.ndarray
) -> np.ndarray:
    return np.minimum(segment_distance(xs, ys, shoulder, elbow), segment_distance(xs, ys, elbow, wrist))

"""The new garment's cut: its neckline, its sleeves, its shoulders' top edge, and what of the old clothes goes."""

from __future__ import annotations

import cv2
import numpy as np

from tryon_api.backends.embedded.garment_regions import BodyGeometry
from tryon_api.backends.embedded.person_analysis import FACE_OVAL, PersonAnalysis
from tryon_api.garments.description import GarmentItem

# How deep the front of the neckline dips, in face heights, by garment kind.
NECKLINE_DEPTHS = {
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


def neckline_depth(item: GarmentItem | None) -> float:
    if item is None:
        return 0.14
    if "v-neck" in item.fit:
        return 0.75
    if "turtleneck" in item.fit:
        return -0.05
    if item.garment_class == "outerwear":
        return 0.1
    return NECKLINE_DEPTHS.get(item.noun, 0.16)


def sleeve_fraction(item: GarmentItem | None) -> float:
    if item is None:
        return 1.0
    if "sleeveless" in item.fit:
        return 0.0
    if "short-sleeve" in item.fit:
        return 0.42
    if "three-quarter-sleeve" in item.fit:
        return 1.6
    return 1.0


def between_neck_and_garment(
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


def shoulder_curve(geometry: BodyGeometry, xs: np.ndarray) -> np.ndarray:
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


def beside_the_head(
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

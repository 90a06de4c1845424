"""The lower body's garment: which pixels trousers, shorts or a skirt cover, from the waist down.

``garment_category`` says what is re-dressed: ``tops`` the upper body (necklines, sleeves: the
rest of this package), ``bottoms`` the legs, ``one-pieces`` both; ``auto`` reads it from the
description's garment words (jeans: bottoms, a dress or a whole outfit: one-pieces, else tops).
Trousers follow the legs (a capsule round each thigh and shin, the pelvis between them) from the
waistband to the ankles; shorts stop above the knees; a skirt (and a dress's skirt) hangs from the
waist as a flared trapezoid that also covers the gap between the legs, so it adds to the person's
matte. Hands and forearms held in front of the hips stay in front.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from tryon_api.backends.embedded.garment_regions import BodyGeometry, hands_mask
from tryon_api.garments.description import GarmentDescription, GarmentItem
from tryon_api.tryon.errors import BadRequest
from tryon_api.tryon.interface import GARMENT_CATEGORIES

GarmentCategory = Literal["auto", "tops", "bottoms", "one-pieces"]
SKIRT_NOUNS = ("skirt", "dress", "gown", "sundress", "kaftan", "sari", "pinafore")
LONG_SKIRT_NOUNS = ("gown", "kaftan", "sari")
SHORTS_NOUNS = ("shorts", "romper", "playsuit")


@dataclass(frozen=True)
class LegParameters:
    """The lower body's proportions, in shoulder widths unless said otherwise."""

    waist_above_hips: float = 0.2  # the waistband above the hip joints
    pelvis_grow: float = 0.12  # the pelvis beyond the hip joints, each side
    thigh_radius: float = 0.2
    shin_radius: float = 0.14
    below_ankle: float = 0.03  # trousers end this far below the ankle joint (the shoe starts)
    knee_below_hips: float = 1.05  # where the knees and ankles are when the pose did not see them
    ankle_below_knees: float = 1.0
    shorts_length: float = 0.55  # of the way from the hips to the knees
    skirt_length: float = 1.05  # of the way from the hips to the knees (a little below them)
    long_skirt_length: float = 0.97  # of the way from the hips to the ankles
    skirt_flare: float = 0.12  # the hem's extra width each side per shoulder width of length
    forearm_radius: float = 0.13  # forearms in front of the hips, kept in front
    soften: float = 0.8  # px, the garment's edge
    not_skin: float = 0.4  # skin probability under which the legs below shorts or a skirt are painted as skin
    edge_reach: float = 0.08  # the garment's colour reaches this far into the matte's soft edge


PARAMETERS = LegParameters()


@dataclass(frozen=True)
class LegCut:
    kind: Literal["trousers", "shorts", "skirt"]
    long: bool = False  # a skirt to the ankles


@dataclass(frozen=True)
class LowerGarment:
    garment: np.ndarray  # bool HxW: the lower garment's pixels
    silhouette: np.ndarray  # float32 HxW: what it adds to the person's matte (a skirt between the legs)
    waist_y: float
    hem_y: float  # the garment's lowest row; below it shorts and skirts bare the legs


def resolve_category(category: str, description: GarmentDescription) -> str:
    """``tops``, ``bottoms`` or ``one-pieces``: ``auto`` from the description's garment class."""
    if category not in GARMENT_CATEGORIES:
        # The API refuses it first; a caller that did not gets the same 400.
        raise BadRequest(f"garment_category must be one of {', '.join(GARMENT_CATEGORIES)}")
    if category != "auto":
        return category
    return {"bottom": "bottoms", "dress": "one-pieces", "full_outfit": "one-pieces"}.get(
        description.garment_class, "tops"
    )


def leg_item(description: GarmentDescription, category: str) -> GarmentItem | None:
    """What the legs wear: the bottom garment if one is named, else the request's main garment."""
    if description.bottom is not None:
        return description.bottom
    return description.primary


def leg_cut(item: GarmentItem | None) -> LegCut:
    noun = item.noun if item is not None else ""
    if noun in SKIRT_NOUNS:
        return LegCut("skirt", long=noun in LONG_SKIRT_NOUNS or "maxi" in (item.fit if item else ()))
    if noun in SHORTS_NOUNS:
        return LegCut("shorts")
    return LegCut("trousers")


def leg_points(geometry: BodyGeometry, parameters: LegParameters = PARAMETERS) -> dict[str, np.ndarray]:
    """Hips, knees and ankles: the pose's where it saw them, else straight down from the hips."""
    sw = geometry.shoulder_width
    down = np.array([0.0, 1.0], np.float32)
    points: dict[str, np.ndarray] = {}
    for side in ("left", "right"):
        hip = getattr(geometry, f"{side}_hip")
        knee = getattr(geometry, f"{side}_knee")
        ankle = getattr(geometry, f"{side}_ankle")
        if knee is None:
            knee = hip + down * parameters.knee_below_hips * sw
        if ankle is None:
            ankle = knee + down * parameters.ankle_below_knees * sw
        points[f"{side}_hip"], points[f"{side}_knee"], points[f"{side}_ankle"] = hip, knee, ankle
    return points


def _towards(points: dict[str, np.ndarray], side: str, joint: str, fraction: float) -> np.ndarray:
    """The point ``fraction`` of the way from ``side``'s hip to its ``joint``."""
    hip = points[f"{side}_hip"]
    return hip + (points[f"{side}_{joint}"] - hip) * fraction


def _capsule(mask: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float) -> None:
    thickness = max(1, int(2 * radius))
    pa, pb = tuple(round(float(v)) for v in a), tuple(round(float(v)) for v in b)
    cv2.line(mask, pa, pb, 1, thickness)
    cv2.circle(mask, pa, int(radius), 1, -1)
    cv2.circle(mask, pb, int(radius), 1, -1)


def lower_garment(
    geometry: BodyGeometry,
    matte: np.ndarray,
    head: np.ndarray,
    cut: LegCut,
    parameters: LegParameters = PARAMETERS,
) -> LowerGarment:
    """Where the lower garment is, and for a skirt the silhouette it adds beyond the person."""
    p = parameters
    height, width = matte.shape
    shape = (height, width)
    sw = geometry.shoulder_width
    points = leg_points(geometry, p)
    lh, rh = points["left_hip"], points["right_hip"]
    waist_y = float(min(lh[1], rh[1]) - p.waist_above_hips * sw)
    out = float(np.sign(lh[0] - rh[0]) or 1.0)  # the person's left is the image's right when facing us
    ys = np.arange(height, dtype=np.float32)[:, None]
    person = matte > 0.5
    mask = np.zeros(shape, np.uint8)
    pelvis = np.array(
        [
            (rh[0] - out * p.pelvis_grow * sw, waist_y),
            (lh[0] + out * p.pelvis_grow * sw, waist_y),
            (lh[0] + out * p.pelvis_grow * sw, lh[1] + 0.15 * sw),
            (rh[0] - out * p.pelvis_grow * sw, rh[1] + 0.15 * sw),
        ],
        np.float32,
    )
    cv2.fillPoly(mask, [np.round(pelvis).astype(np.int32)], 1)
    silhouette: np.ndarray = np.zeros(shape, np.float32)
    if cut.kind == "skirt":
        end, length = ("ankle", p.long_skirt_length) if cut.long else ("knee", p.skirt_length)
        hem_y = max(_towards(points, side, end, length)[1] for side in ("left", "right"))
        flare = p.skirt_flare * max(hem_y - waist_y, 0.0)
        reach = p.pelvis_grow * sw + flare
        skirt = np.array(
            [
                (rh[0] - out * p.pelvis_grow * sw, waist_y),
                (lh[0] + out * p.pelvis_grow * sw, waist_y),
                (lh[0] + out * reach, hem_y),
                (rh[0] - out * reach, hem_y),
            ],
            np.float32,
        )
        shape_mask = np.zeros(shape, np.uint8)
        cv2.fillPoly(shape_mask, [np.round(skirt).astype(np.int32)], 1)
        mask |= shape_mask
        # The skirt hangs over the gap between the legs and past the hips: there it adds to the matte.
        silhouette = cv2.GaussianBlur(shape_mask.astype(np.float32), (0, 0), max(p.soften, 0.3))
    else:
        for side in ("left", "right"):
            hip, knee, ankle = points[f"{side}_hip"], points[f"{side}_knee"], points[f"{side}_ankle"]
            if cut.kind == "shorts":
                _capsule(mask, hip, _towards(points, side, "knee", p.shorts_length), p.thigh_radius * sw)
            else:
                _capsule(mask, hip, knee, p.thigh_radius * sw)
                _capsule(mask, knee, ankle, p.shin_radius * sw)
        if cut.kind == "trousers":
            lowest = max(points["left_ankle"][1], points["right_ankle"][1]) + p.below_ankle * sw
            mask[ys[:, 0] > lowest] = 0
        elif cut.kind == "shorts":
            mask[ys[:, 0] > max(_towards(points, side, "knee", p.shorts_length)[1] for side in ("left", "right"))] = 0
    region = mask.astype(bool) & (ys >= waist_y)
    # Hands and forearms hanging in front of the hips stay in front of the new garment.
    front = hands_mask(shape, geometry)
    forearms = np.zeros(shape, np.uint8)
    for elbow, wrist in ((geometry.left_elbow, geometry.left_wrist), (geometry.right_elbow, geometry.right_wrist)):
        _capsule(forearms, elbow, wrist, p.forearm_radius * sw)
    front |= forearms.astype(bool) & person
    covered = person | (silhouette > 0.5)
    garment = region & covered & ~head & ~front
    silhouette = silhouette * (ys >= waist_y) * ~front
    rows = np.nonzero(garment.any(axis=1))[0]
    hem_y = float(rows.max()) if rows.size else float(height)
    return LowerGarment(garment, silhouette.astype(np.float32), waist_y, hem_y)


def bare_legs(
    geometry: BodyGeometry,
    matte: np.ndarray,
    lower: LowerGarment,
    skin: np.ndarray,
    parameters: LegParameters = PARAMETERS,
) -> np.ndarray:
    """Below shorts or a skirt, down to the ankles: the old clothes on the legs, to be painted as skin
    (the photo's own bare legs, skin already, are kept)."""
    p = parameters
    height, width = matte.shape
    sw = geometry.shoulder_width
    points = leg_points(geometry, p)
    mask = np.zeros((height, width), np.uint8)
    for side in ("left", "right"):
        hip, knee, ankle = points[f"{side}_hip"], points[f"{side}_knee"], points[f"{side}_ankle"]
        _capsule(mask, hip, knee, p.thigh_radius * sw)
        _capsule(mask, knee, ankle, p.shin_radius * sw)
    ys = np.arange(height, dtype=np.float32)[:, None]
    lowest = max(points["left_ankle"][1], points["right_ankle"][1]) + p.below_ankle * sw
    legs = mask.astype(bool) & (ys > lower.hem_y) & (ys <= lowest) & (matte > 0.5)
    front = hands_mask((height, width), geometry)
    for elbow, wrist in ((geometry.left_elbow, geometry.left_wrist), (geometry.right_elbow, geometry.right_wrist)):
        forearm = np.zeros((height, width), np.uint8)
        _capsule(forearm, elbow, wrist, p.forearm_radius * sw)
        front |= forearm.astype(bool)
    return legs & ~lower.garment & ~front & (skin < p.not_skin)

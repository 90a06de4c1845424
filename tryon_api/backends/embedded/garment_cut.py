"""The new garment's cut: where it is, where the neck and arms are bared, and what of the old clothes goes.

Above the neckline (``necklines``) the neck is kept where the photo shows skin and painted where
the old collar was, right up to the jaw; old clothes standing above the new shoulders are cut
away; below it everything that is not skin becomes the new garment. The garment reaches out to
the matte's soft edge, so the cut-out's feathering is the matte's and no old colour fringes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon_api.backends.embedded.garment_coordinates import polygon_mask
from tryon_api.backends.embedded.garment_regions import BodyGeometry, arm_mask, coarse_morphology, torso_polygon
from tryon_api.backends.embedded.necklines import NecklineStyle, neck_centre_x, neckline_edge
from tryon_api.backends.embedded.person_analysis import FACE_OVAL, PersonAnalysis
from tryon_api.backends.embedded.shading import blur
from tryon_api.garments.description import GarmentItem


@dataclass(frozen=True)
class GarmentLayout:
    """Which pixels become what."""

    garment: np.ndarray  # bool: the new garment (inside the person)
    edge_paint: np.ndarray  # bool: the garment's colour carried out to the matte's soft edge
    neck: np.ndarray  # bool: neck and chest above the neckline, painted as skin where the photo shows none
    bare_arm: np.ndarray  # bool: arms bared by shorter sleeves
    arms: np.ndarray  # bool: the arms' capsules, off the torso
    removed: np.ndarray  # bool: old clothes cut away (above the new shoulders)
    keep_edges: np.ndarray  # bool: the neck, whose own matte edge stays exact
    head: np.ndarray  # bool: the head, never cut unless an old collar was found there


@dataclass(frozen=True)
class CutParameters:
    """The new garment's cut: what of the old clothes goes, how much neck and arm shows (lengths in
    shoulder widths unless said otherwise)."""

    short_sleeve: float = 0.42  # of the upper arm a short sleeve covers
    three_quarter_sleeve: float = 1.6
    chest_depth: float = 0.3  # below the shoulders, whatever is not skin is garment this far down
    not_skin: float = 0.4  # skin probability under which a pixel is garment
    skin_removed: float = 0.3  # ... under which old clothes above the new top edge go
    reach_beside: float = 1.15  # of the shoulder joints' distance from the centre: the garment's side reach
    neck_flare: float = 1.08  # the neck's half width under the jaw, in neck half widths
    neck_opening: float = 1.3  # ... where it meets the neckline, in the opening's half widths
    flare_from: float = 0.6  # of the neck's length above its base, where it starts widening
    near_neck: float = 0.45  # old clothes this close to the neck, above the new top edge, go
    smoothing: float = 0.012  # the garment's outline is blurred and re-thresholded at this scale
    short_neck: float = 0.9  # of the neck's length: a jaw this close to the garment has a strip of neck
    short_neck_width: float = 0.35
    close_neck: float = 0.08  # the neck's outline is closed with a disc this wide
    round_neck: float = 0.035  # its outer corners rounded this much
    keep_at_garment: float = 0.04  # ... but kept whole this close to the garment
    sliver_thickness: float = 0.14  # thinner pieces beside the garment are cloth
    sliver_reach: float = 0.05
    edge_reach: float = 0.08  # the garment's colour reaches this far into the matte's soft edge
    collar_gap: float = 0.2  # a gap this narrow between neck and garment (in face widths) is neck
    hair_distance: tuple[float, float] = (14.0, 28.0)  # Lab distance to the hair: strict under the jaw, else


CUT = CutParameters()


def shoulder_line(geometry: BodyGeometry, xs: np.ndarray) -> np.ndarray:
    """The top of the shoulders: from the neck's base sloping down to above the shoulder joints."""
    g = geometry
    dx = np.abs(xs - g.centre_x)
    half = g.neck_half_width
    span = max(abs(g.left_shoulder[0] - g.centre_x), abs(g.right_shoulder[0] - g.centre_x))
    sw = g.shoulder_width
    t = np.clip((dx - half) / max(span - half, 1.0), 0, 1)
    base = g.neck_base_y - 0.05 * sw
    top = max(g.shoulder_y - 0.14 * sw, base)
    beyond = np.clip(dx - span, 0, None) / sw  # past the shoulder joint the shoulder rounds down into the arm
    return base + (top - base) * np.sin(t * np.pi / 2) + 1.2 * sw * beyond**2


def garment_top(clothes: np.ndarray, geometry: BodyGeometry, style: NecklineStyle) -> np.ndarray:
    """The new garment's top edge, one y per column: the neckline around the neck, the old clothes' own
    shoulders farther out, joined by a slope from the neck's side (an old collar standing there goes)."""
    height, width = clothes.shape
    g = geometry
    sw = g.shoulder_width
    cx = neck_centre_x(g)
    rows = np.where(clothes.any(axis=0), clothes.argmax(axis=0), height).astype(np.float32)
    old_top = cv2.GaussianBlur(rows[None, :], (0, 0), sigmaX=max(1.0, 0.02 * sw), sigmaY=0.1)[0]
    xs = np.arange(width, dtype=np.float32)
    dx = np.abs(xs - cx)
    beside_neck = (dx > 0.3 * sw) & (dx < 0.4 * sw) & (old_top < height)
    shoulder_top = float(np.median(old_top[beside_neck])) if beside_neck.any() else None
    edge = neckline_edge(width, g, style, shoulder_top)
    opening = style.width * g.neck_half_width
    reach = max(0.45 * sw, opening + 0.1 * sw)
    top = old_top.copy()
    for side in (-1, 1):
        columns = (xs - cx) * side >= 0
        far_x = int(np.clip(round(cx + side * reach), 0, width - 1))
        far_y = float(old_top[far_x]) if old_top[far_x] < height else float(edge[far_x])
        side_y = float(edge[int(np.clip(round(cx + side * opening), 0, width - 1))])
        t = np.clip((dx - opening) / max(reach - opening, 1.0), 0, 1)
        slope = side_y + (max(far_y, side_y) - side_y) * t
        join = np.where(dx <= opening, edge, np.where(dx < reach, np.maximum(old_top, slope), old_top))
        top = np.where(columns, join, top)
    return cv2.GaussianBlur(top[None, :].astype(np.float32), (0, 0), sigmaX=max(1.0, 0.015 * sw), sigmaY=0.1)[0]


def face_oval_mask(shape: tuple[int, int], analysis: PersonAnalysis, head: np.ndarray) -> np.ndarray:
    """The face itself (the jaw's outline, not a line at the chin), or the head mask without a face mesh."""
    if analysis.face is None:
        return head
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(analysis.face[list(FACE_OVAL)]).astype(np.int32)], 1)
    return mask.astype(bool)


def garment_layout(
    rgb: np.ndarray,
    analysis: PersonAnalysis,
    geometry: BodyGeometry,
    matte: np.ndarray,
    head: np.ndarray,
    skin: np.ndarray,
    old: np.ndarray,
    style: NecklineStyle,
    sleeves: float,
    parameters: CutParameters = CUT,
) -> GarmentLayout:
    """Where the new garment, the bared neck and arms and the cut-away old clothes are."""
    p = parameters
    height, width = matte.shape
    shape = (height, width)
    g = geometry
    person = matte > 0.5
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    arms = arm_mask(shape, g) & ~polygon_mask(shape, torso_polygon(g, grow=0.02))
    bare_arm = np.zeros(shape, bool)
    if sleeves < 1.0:
        keep = arm_mask(shape, g, upper_fraction=sleeves) if sleeves > 0 else np.zeros(shape, bool)
        bare_arm = old & arms & ~keep
    dx = np.abs(xs - neck_centre_x(g))
    span = p.reach_beside * max(abs(g.left_shoulder[0] - g.centre_x), abs(g.right_shoulder[0] - g.centre_x))
    beside = dx < span
    # Below the shoulders' line whatever is not skin is garment: the old one, and a collar, scarf or tie.
    high = shoulder_line(g, xs[0])[None, :]
    chest_bottom = g.shoulder_y + p.chest_depth * g.shoulder_width
    chest = beside & (ys >= high) & (ys < chest_bottom) & (skin < p.not_skin) & person & ~head
    top = garment_top((old | chest) & person & ~head, g, style)[None, :]
    above = ys < top
    # Below the new top edge the same: an old shirt collar beside the neck there is garment now.
    below_top = beside & ~above & (ys < chest_bottom) & (skin < p.not_skin) & person & ~head
    clothes = (old | chest | below_top) & person & ~head
    # The neck: from the jaw down, widening into the neckline's opening so no gap is left beside it.
    face = face_oval_mask(shape, analysis, head)
    chin_y = float(g.chin[1])
    neck_length = max(g.neck_base_y - chin_y, 0.1 * g.shoulder_width)
    opening = max(style.width, 1.0) * g.neck_half_width * p.neck_opening
    s = np.clip((ys - (g.neck_base_y - p.flare_from * neck_length)) / (p.flare_from * neck_length), 0, 1)
    flare = p.neck_flare * g.neck_half_width + (opening - p.neck_flare * g.neck_half_width) * s**2
    # Each column's neck starts right under the jaw there (a flat cut across showed as a boxy neck).
    jaw = np.where(face.any(axis=0), height - 1 - np.argmax(face[::-1], axis=0), chin_y).astype(np.float32)
    neck_shape = (dx < flare) & (ys > jaw[None, :]) & ~face
    neck = neck_shape & above & person
    # Old clothes above the new top edge go near the neck (an old collar); farther out only what is not
    # the old garment and stands above the shoulders' line (a spacesuit's collar ring).
    near_neck = dx < p.near_neck * g.shoulder_width
    removed = person & ~head & ~neck_shape & above & near_neck & (skin < p.skin_removed)
    removed |= person & ~head & ~neck_shape & beside & above & (ys < high) & (skin < 0.15) & ~old
    removed |= beside_the_head(rgb, analysis, g, head, skin, matte > 0.05, p.hair_distance) & ~neck_shape
    garment = clothes & ~above & ~removed & ~bare_arm
    smooth = max(1.5, p.smoothing * g.shoulder_width)
    garment = (blur(garment.astype(np.float32), smooth) > 0.5) & person & ~above & ~bare_arm & ~head
    removed &= ~garment
    gap = between_neck_and_garment(person & ~garment & ~neck_shape & ~head, neck, garment, g, ys, p.collar_gap)
    neck |= gap & (ys > chin_y)
    # A short neck: where the jaw nearly meets the garment, the strip between them is neck, not a white gap.
    crew_top = garment_top((old | chest) & person & ~head, g, NecklineStyle("crew", 0.05, 1.2, 0.0))
    strip = _under_jaw(face, garment, person & ~garment & ~bare_arm, p.short_neck * neck_length, crew_top)
    neck |= strip & (dx < p.short_neck_width * g.shoulder_width)
    # Its outline closed: a notch left between the filled strips and the jaw read as a pale blotch.
    closed = coarse_morphology(neck, cv2.MORPH_CLOSE, max(3, int(p.close_neck * g.shoulder_width)) | 1)
    neck |= closed & person & ~face & ~garment & ~bare_arm & (ys > chin_y - 0.5 * neck_length)
    # Its outer corners under the jaw rounded off: a neck narrows below the jaw (square, it read as a block).
    # Where it meets the garment it is kept whole, so no gap opens at the shoulders.
    rounded = blur(neck.astype(np.float32), max(1.0, p.round_neck * g.shoulder_width)) > 0.5
    reach = max(3, int(p.keep_at_garment * g.shoulder_width)) | 1
    at_garment = cv2.dilate(garment.astype(np.uint8), np.ones((reach, reach), np.uint8)).astype(bool)
    neck &= rounded | at_garment | (dx < 1.1 * g.neck_half_width)
    removed &= ~neck
    # Thin slivers the matte holds beside the garment (an old background's edge, a flag's stripe) are cloth:
    # left as they were they fringed the shoulders and arms. Large pieces (a held helmet) stay.
    candidates = person & ~garment & ~head & ~neck & ~removed & ~bare_arm & (skin < p.not_skin)
    garment |= _slivers(candidates, garment, g, p.sliver_thickness, p.sliver_reach)
    # The garment's colour reaches the matte's soft outer edge (not the head's, the neck's or a bared arm's).
    reach = max(2, int(p.edge_reach * g.shoulder_width)) | 1
    grown = cv2.dilate(garment.astype(np.uint8), np.ones((reach, reach), np.uint8)).astype(bool)
    edge_paint = garment | (grown & (matte > 0.01) & ~person & ~head & ~neck & ~removed & ~bare_arm)
    keep_edges = neck_shape | neck
    return GarmentLayout(garment, edge_paint, neck, bare_arm, arms, removed, keep_edges, head)


def _slivers(
    candidates: np.ndarray, garment: np.ndarray, geometry: BodyGeometry, thickness: float, reach_sw: float
) -> np.ndarray:
    """The ``candidates`` thinner than ``thickness`` shoulder widths within ``reach_sw`` of the garment."""
    sw = geometry.shoulder_width
    thick = coarse_morphology(candidates, cv2.MORPH_OPEN, max(3, int(thickness * sw)) | 1)
    reach = max(3, int(reach_sw * sw)) | 1
    near = cv2.dilate(garment.astype(np.uint8), np.ones((reach, reach), np.uint8)).astype(bool)
    return candidates & ~thick & near


def _under_jaw(
    face: np.ndarray, garment: np.ndarray, candidates: np.ndarray, most: float, shoulders: np.ndarray
) -> np.ndarray:
    """The ``candidates`` between the face and the garment below it, in columns where the jaw comes within
    ``most`` px of ``shoulders`` (the top a crew neckline would have: a low neckline does not lengthen the neck)."""
    height = face.shape[0]
    rows = np.arange(height)[:, None]
    face_bottom = np.where(face.any(axis=0), height - 1 - np.argmax(face[::-1], axis=0), -1)
    below_face = rows > face_bottom[None, :]
    first_garment = np.where((garment & below_face).any(axis=0), np.argmax(garment & below_face, axis=0), height)
    short = (face_bottom >= 0) & (np.minimum(first_garment, shoulders) - face_bottom < most)
    return candidates & short[None, :] & below_face & (rows < first_garment[None, :])


def sleeve_fraction(item: GarmentItem | None, parameters: CutParameters = CUT) -> float:
    if item is None:
        return 1.0
    if "sleeveless" in item.fit:
        return 0.0
    if "short-sleeve" in item.fit:
        return parameters.short_sleeve
    if "three-quarter-sleeve" in item.fit:
        return parameters.three_quarter_sleeve
    return 1.0


def between_neck_and_garment(
    candidates: np.ndarray,
    neck: np.ndarray,
    garment: np.ndarray,
    geometry: BodyGeometry,
    ys: np.ndarray,
    narrowest: float = CUT.collar_gap,
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

    reach = max(3.0, narrowest * geometry.face_width)
    left_strip = first_after(neck) - last_before(garment) <= reach
    right_strip = first_after(garment) - last_before(neck) <= reach
    rows = (ys > geometry.chin[1]) & (ys < geometry.shoulder_y + 0.1 * geometry.shoulder_width)
    return candidates & rows & (left_strip | right_strip)


def beside_the_head(
    rgb: np.ndarray,
    analysis: PersonAnalysis,
    geometry: BodyGeometry,
    head: np.ndarray,
    skin: np.ndarray,
    person: np.ndarray,
    hair_distance: tuple[float, float] = CUT.hair_distance,
) -> np.ndarray:
    """Beside the jaw, below the ears: keep hair and skin, drop the rest (the top of an old collar).

    Close under the jaw the test for hair is stricter (an old collar's dark rim there is not hair, and
    left in place it drew dark lines under the chin)."""
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
    ys = np.arange(height, dtype=np.float32)[:, None]
    strict = ys > geometry.chin[1] - 0.2 * geometry.face_height
    hair_like = np.linalg.norm(lab - hair, axis=2) < np.where(strict, *hair_distance)
    return zone & person & ~inside.astype(bool) & ~hair_like & (skin < 0.3)

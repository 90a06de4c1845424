"""Necklines and collars by garment kind, as smooth curves that follow the neck and the shoulders.

A neckline is the top edge of the garment's body, one height per image column: the shoulder
line rising towards the neck, then the front opening (crew, scoop or V) around the neck's base.
Turtlenecks, mock necks, stand collars, hoods and shirt collars rise above that edge, up and
around the neck, and are drawn over the painted skin with light of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon_api.backends.embedded.garment_regions import BodyGeometry
from tryon_api.garments.description import GarmentItem

# Front dip of the plain necklines, in shoulder widths, by garment noun.
FRONT_DIPS = {
    "t-shirt": 0.06,
    "top": 0.1,
    "sweater": 0.05,
    "jumper": 0.05,
    "pullover": 0.05,
    "sweatshirt": 0.05,
    "hoodie": 0.05,
    "blouse": 0.12,
    "dress": 0.14,
    "tank top": 0.2,
    "camisole": 0.26,
}
SHIRT_NOUNS = ("shirt", "dress shirt", "oxford shirt", "polo", "polo shirt", "rugby shirt", "henley")
STAND_COLLAR_NOUNS = ("anorak", "windbreaker", "parka", "puffer", "raincoat", "fleece")


@dataclass(frozen=True)
class NecklineStyle:
    """The shape of a neckline: ``kind`` is crew, scoop, v, turtleneck, mock, stand, hoodie or shirt."""

    kind: str
    dip: float  # how far the front dips below the neck's base, in shoulder widths
    width: float  # the opening's half width, in neck half widths
    collar: float  # how far a collar rises from the neck's base towards the chin (0..1)


@dataclass(frozen=True)
class NecklineParameters:
    """Each neckline's shape (dip in shoulder widths, opening in neck half widths, collar rise 0..1), and
    how the top edge meets the shoulders (in shoulder widths)."""

    unnamed: NecklineStyle = NecklineStyle("crew", 0.06, 1.2, 0.0)  # no garment named
    mock: NecklineStyle = NecklineStyle("mock", 0.0, 1.15, 0.45)
    turtleneck: NecklineStyle = NecklineStyle("turtleneck", 0.0, 1.15, 0.8)
    v: NecklineStyle = NecklineStyle("v", 0.3, 1.35, 0.0)
    scoop: NecklineStyle = NecklineStyle("scoop", 0.17, 2.0, 0.0)
    hoodie: NecklineStyle = NecklineStyle("hoodie", 0.05, 1.25, 0.0)
    shirt: NecklineStyle = NecklineStyle("shirt", 0.02, 1.05, 0.45)
    stand: NecklineStyle = NecklineStyle("stand", 0.0, 1.2, 0.4)
    cardigan: NecklineStyle = NecklineStyle("v", 0.32, 1.35, 0.0)
    crew: NecklineStyle = NecklineStyle("crew", 0.05, 1.2, 0.0)  # "crew" in the words
    default_dip: float = 0.07  # a noun FRONT_DIPS does not list
    scoop_from: float = 0.1  # a dip this deep or deeper is a scoop
    widen_per_dip: float = 4.0  # a deeper plain neckline opens wider: neck half widths per shoulder width
    hug: float = 0.035  # a neckline hugs the neck this far above its base at the sides
    below_shoulder_top: float = 0.07  # the sides sit this far below the old clothes' shoulder top
    shoulder_rise: float = 0.13  # the shoulder line's top above the shoulder joints
    shoulder_round: float = 1.2  # past the joint the shoulder rounds down into the arm this steeply
    v_sharpness: float = 1.1  # the V's sides: an exponent (1 is straight)
    scoop_fullness: float = 0.75
    ease_v: float = 0.08  # the corner where the opening meets the shoulder line is eased over this
    ease: float = 0.18  # ... of the opening's width (a V's tip kept sharper)


NECKLINES = NecklineParameters()


def neckline_style(item: GarmentItem | None, parameters: NecklineParameters = NECKLINES) -> NecklineStyle:
    """The neckline a garment is drawn with, from its noun, its fit words and the words of the request."""
    p = parameters
    if item is None:
        return p.unnamed
    words = f" {item.words} "
    if "turtleneck" in item.fit or item.noun == "turtleneck":
        if " mock " in words:
            return p.mock
        return p.turtleneck
    if "v-neck" in item.fit:
        return p.v
    if " scoop " in words:
        return p.scoop
    if item.noun == "hoodie" or "hooded" in item.fit:
        return p.hoodie
    if item.noun in SHIRT_NOUNS or "collared" in item.fit:
        return p.shirt
    if item.noun in STAND_COLLAR_NOUNS or (item.garment_class == "outerwear" and "zip-up" in item.fit):
        return p.stand
    if item.noun == "cardigan":
        return p.cardigan
    if " crew " in words or "crew-neck" in item.fit:
        return p.crew
    dip = FRONT_DIPS.get(item.noun, p.default_dip)
    opening = p.unnamed.width + p.widen_per_dip * max(dip - p.unnamed.dip, 0)
    return NecklineStyle("scoop" if dip >= p.scoop_from else "crew", dip, opening, 0.0)


def neck_centre_x(geometry: BodyGeometry) -> float:
    """The neck's centre: between the chin and the shoulders' midpoint (a turned head moves the chin)."""
    return float(0.5 * geometry.chin[0] + 0.5 * geometry.centre_x)


def neckline_edge(
    width: int,
    geometry: BodyGeometry,
    style: NecklineStyle,
    shoulder_top: float | None = None,
    parameters: NecklineParameters = NECKLINES,
) -> np.ndarray:
    """The top edge of the garment's body (y for each column): shoulders rising to the neck, then the front.

    ``shoulder_top`` (the old clothes' top a third of a shoulder width beside the neck) lifts the neckline's
    sides where the estimated neck base lies below the shoulders (a short neck, padded shoulders).
    """
    p = parameters
    g = geometry
    sw, half = g.shoulder_width, g.neck_half_width
    xs = np.arange(width, dtype=np.float32)
    dx = np.abs(xs - neck_centre_x(g))
    opening = style.width * half
    centre_y = g.neck_base_y - p.hug * sw  # a neckline hugs the neck a little above its base at the sides
    side_y = centre_y if shoulder_top is None else min(centre_y, shoulder_top - p.below_shoulder_top * sw)
    span = max(abs(g.left_shoulder[0] - g.centre_x), abs(g.right_shoulder[0] - g.centre_x), opening + 1.0)
    top = max(g.shoulder_y - p.shoulder_rise * sw, side_y)
    t = np.clip((dx - opening) / max(span - opening, 1.0), 0, 1)
    beyond = np.clip(dx - span, 0, None) / sw  # past the shoulder joint the shoulder rounds down into the arm
    edge = side_y + (top - side_y) * np.sin(t * np.pi / 2) + p.shoulder_round * sw * beyond**2
    u = np.clip(dx / max(opening, 1.0), 0, 1)
    dip = style.dip * sw + (centre_y - side_y)
    if style.kind == "v":
        front = dip * (1 - u) ** p.v_sharpness
    elif style.kind == "scoop":
        front = dip * (1 - u**2) ** p.scoop_fullness
    else:
        front = dip * np.sqrt(1 - u**2)
    edge = np.where(dx < opening, side_y + front, edge)
    # The corner where the opening meets the shoulder line is eased into one curve, the V's tip kept sharper.
    ease = max(1.0, (p.ease_v if style.kind == "v" else p.ease) * opening)
    return cv2.GaussianBlur(edge[None, :].astype(np.float32), (0, 0), sigmaX=ease, sigmaY=0.1)[0]


@dataclass(frozen=True)
class Collar:
    """A collar or a hood drawn above the neckline: where it is (soft mask) and its own light."""

    mask: np.ndarray  # float32 HxW, 0..1: drawn over the garment with this weight (its foot fades into it)
    silhouette: np.ndarray  # float32 HxW, 0..1: its whole shape, beyond the person too (a hood on the shoulders)
    light: np.ndarray  # float32 HxW, the collar's light (a multiplier around 1)
    outline: np.ndarray  # float32 HxW, 0..1: creases and edges to darken


def collar_shape(
    shape: tuple[int, int], geometry: BodyGeometry, style: NecklineStyle, neck: np.ndarray | None = None
) -> Collar | None:
    """The collar of ``style`` (turtleneck, mock, stand, shirt) or a hood's roll behind the neck, if it has one.

    ``neck`` (the bared neck, bool HxW) widens a tube collar to cover it where it is wider (a short neck).
    """
    if style.kind not in ("turtleneck", "mock", "stand", "shirt", "hoodie"):
        return None
    height, width = shape
    g = geometry
    sw, half = g.shoulder_width, g.neck_half_width
    cx = neck_centre_x(g)
    chin_y, base = float(g.chin[1]), g.neck_base_y
    neck_length = max(base - chin_y, 0.1 * sw)
    y0 = max(0, int(chin_y - 0.1 * neck_length))
    y1 = min(height, int(base + 0.2 * sw))
    ys, xs = np.mgrid[y0:y1, 0:width].astype(np.float32)
    dx = xs - cx
    mask = np.zeros(shape, np.float32)
    light = np.ones(shape, np.float32)
    outline = np.zeros(shape, np.float32)
    if style.kind == "hoodie":
        region, shade, lines = _hood(ys, dx, g, neck_length)
    elif style.kind == "shirt":
        region, shade, lines = _shirt_collar(ys, dx, g, neck_length)
    else:
        # A tube around the neck: its top rim an arc (lower at the front), flaring into the shoulders below.
        rise = style.collar * neck_length
        top = base - rise
        down = np.clip((ys - top) / max(rise + 0.04 * sw, 1.0), 0, 1)
        tube = half * (1.12 + 0.12 * style.collar) * (1 + 0.45 * down**3)
        if neck is not None:  # as wide as the bared neck on each row, so no skin shows beside the collar
            band = neck[y0:y1]
            reach = np.where(band, np.abs(dx), 0).max(axis=1, keepdims=True)
            reach = cv2.GaussianBlur(reach.astype(np.float32), (1, 0), sigmaX=0.1, sigmaY=max(1.0, 0.02 * sw))
            tube = np.maximum(tube, np.minimum(reach.reshape(-1, 1) * 1.04, 2.5 * half))
        u = np.clip(np.abs(dx) / tube, 0, 1)
        rim = top + 0.22 * rise * np.sqrt(1 - u**2)  # the rim seen from a little above: lower at the front
        region = (np.abs(dx) < tube) & (ys >= rim) & (ys < base + 0.03 * sw)
        roundness = 1 - 0.35 * u**2
        under_chin = 1 - 0.3 * np.exp(-np.clip(ys - rim, 0, None) / max(0.12 * rise, 1.0))
        shade = roundness * under_chin
        lines = np.exp(-(((ys - rim) / max(1.0, 0.012 * sw)) ** 2)) * 0.6  # the rim's edge
        if style.kind == "turtleneck":  # a rolled collar: a fold across it, a third of the way down
            fold_y = rim + 0.4 * (base - rim)
            lines = np.maximum(lines, np.exp(-(((ys - fold_y) / max(1.0, 0.01 * sw)) ** 2)) * 0.7 * (u < 0.95))
            shade = shade * np.where(ys < fold_y, 1.06, 0.94)
        # The collar's sides, where it turns away, and its seam into the body.
        lines = np.maximum(lines, np.exp(-(((np.abs(dx) - tube) / max(1.0, 0.01 * sw)) ** 2)) * 0.5 * (ys < base))
        # Where the collar meets the body: a soft crease, and the collar's own light fades into the garment's.
        lines = np.maximum(lines, np.exp(-(((ys - base) / max(1.0, 0.012 * sw)) ** 2)) * 0.35 * (u < 0.9))
    soft = cv2.GaussianBlur(region.astype(np.float32), (0, 0), max(0.7, 0.004 * sw))
    silhouette = np.zeros(shape, np.float32)
    silhouette[y0:y1] = soft
    if style.kind in ("turtleneck", "mock", "stand"):  # the tube's foot fades into the garment below it
        soft *= np.clip((base + 0.03 * sw - ys) / (0.05 * sw), 0, 1)
    elif style.kind == "hoodie":  # the hood lies on the shoulders: it merges into them, no cut line
        soft *= np.clip((base + 0.06 * sw - ys) / (0.07 * sw), 0, 1)
    mask[y0:y1] = soft
    light[y0:y1] = shade
    outline[y0:y1] = lines * soft
    return Collar(mask, silhouette, light.astype(np.float32), outline.astype(np.float32))


def _shirt_collar(
    ys: np.ndarray, dx: np.ndarray, g: BodyGeometry, neck_length: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A shirt collar: a band standing round the neck's sides and two leaves folding down to points in front."""
    sw, half = g.shoulder_width, g.neck_half_width
    base = g.neck_base_y
    side = np.abs(dx)
    band_top = base - 0.55 * neck_length + 0.25 * neck_length * np.clip(1 - side / (1.1 * half), 0, 1) ** 0.5
    band = (side < 1.15 * half) & (ys >= band_top) & (ys < base + 0.02 * sw)
    # Each leaf: from the band's top at the neck's side down to a point beside the centre line.
    tip_y, tip_x = base + 0.11 * sw, 0.3 * half
    outer_x, outer_y = 1.9 * half, base + 0.015 * sw
    t = np.clip((ys - (base - 0.4 * neck_length)) / max(tip_y - (base - 0.4 * neck_length), 1.0), 0, 1)
    inner_edge = 1.05 * half + (tip_x - 1.05 * half) * t  # the leaf's front edge runs to the tip
    outer_edge = 1.15 * half + (outer_x - 1.15 * half) * np.sqrt(t)
    below_outer = ys <= outer_y + (tip_y - outer_y) * np.clip((outer_x - side) / max(outer_x - tip_x, 1.0), 0, 1)
    leaf = (side >= inner_edge) & (side <= outer_edge) & (ys >= base - 0.4 * neck_length) & below_outer
    region = band | leaf
    shade = np.where(leaf, 1.08, 0.92)  # the leaves catch the light, the band inside them is in shadow
    edge_width = max(1.0, 0.008 * sw)
    lines = np.exp(-(((side - inner_edge) / edge_width) ** 2)) * leaf
    lines = np.maximum(lines, np.exp(-(((side - outer_edge) / edge_width) ** 2)) * (t > 0.05) * leaf)
    return region, shade.astype(np.float32), lines.astype(np.float32) * 0.7


def _hood(
    ys: np.ndarray, dx: np.ndarray, g: BodyGeometry, neck_length: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A hood lying down: a thick roll of cloth behind the neck, showing on both sides of it."""
    sw, half = g.shoulder_width, g.neck_half_width
    base = g.neck_base_y
    # Two ellipses round the neck's base: the roll lies between them, its inner edge the hood's opening.
    centre_y = base + 0.04 * sw
    outer = ((dx / (2.5 * half)) ** 2 + ((ys - centre_y) / (0.75 * neck_length + 0.07 * sw)) ** 2) <= 1
    inner_radius = ((dx / (1.05 * half)) ** 2 + ((ys - centre_y) / (0.5 * neck_length + 0.03 * sw)) ** 2) ** 0.5
    region = outer & (inner_radius > 1) & (np.abs(dx) > 0.95 * half)  # behind the neck
    depth = np.clip((inner_radius - 1) / 0.6, 0, 1)  # the inside of the roll, near the opening, is in shadow
    shade = 0.72 + 0.33 * depth
    outer_radius = ((dx / (2.5 * half)) ** 2 + ((ys - centre_y) / (0.75 * neck_length + 0.07 * sw)) ** 2) ** 0.5
    edge_width = 0.03
    lines = (
        np.exp(-(((outer_radius - 1) / edge_width) ** 2)) * 0.6
        + np.exp(-(((inner_radius - 1) / edge_width) ** 2)) * 0.5
    )
    return region, shade.astype(np.float32), (lines * (ys < base + 0.05 * sw)).astype(np.float32)

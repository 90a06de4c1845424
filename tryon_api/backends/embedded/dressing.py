"""Dressing the person: the new garment drawn over the old one, lit by the photo's own shading.

The steps live in their own modules: which pixels are clothes (``garment_regions``), the new
garment's cut (``garment_cut``), its light (``shading``), its body-aligned coordinates
(``garment_coordinates``), its fabric (``fabric_rendering``), its structure (``garment_structure``)
and the skin painted where clothes were (``skin_painting``). This module puts them in order.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon_api.backends.embedded import fabric
from tryon_api.backends.embedded.body_shading import body_shape_shading
from tryon_api.backends.embedded.fabric_rendering import render_fabric
from tryon_api.backends.embedded.garment_coordinates import arm_distance, garment_coordinates, polygon_mask
from tryon_api.backends.embedded.garment_cut import (
    beside_the_head,
    between_neck_and_garment,
    neckline_depth,
    shoulder_curve,
    sleeve_fraction,
)
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
from tryon_api.backends.embedded.garment_structure import front_opening
from tryon_api.backends.embedded.person_analysis import PersonAnalysis, analyse_person
from tryon_api.backends.embedded.reference_garment import GarmentAlbedo
from tryon_api.backends.embedded.shading import Shading, blur, garment_shading
from tryon_api.backends.embedded.skin_painting import paint_neck, skin_colour, skin_grain
from tryon_api.garments.description import GarmentDescription


@dataclass(frozen=True)
class DressedPerson:
    """The photo with the new clothes (original background still there) and the person's matte."""

    rgb: np.ndarray  # uint8 HxWx3
    matte: np.ndarray  # float32 HxW
    garment: np.ndarray  # float32 HxW, where the new garment is
    geometry: BodyGeometry
    head: np.ndarray  # bool HxW


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
    depth = neckline_depth(visible_top)
    neck_cut = neckline_mask(shape, geometry, depth) & ~head
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    sleeves = sleeve_fraction(outer)
    arms = arm_mask(shape, geometry) & ~polygon_mask(shape, torso_polygon(geometry, grow=0.02))
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
    high = shoulder_curve(geometry, xs)
    removed = person & ~head & ~neck_shape & beside & (ys < high) & (skin < 0.15) & ~old  # shadowed skin stays
    removed |= beside_the_head(rgb, analysis, geometry, head, skin, matte > 0.05) & ~neck_shape
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
    garment = (blur(garment.astype(np.float32), smooth) > 0.5) & person & ~neck_hole & ~bare_arm
    removed &= ~garment
    # Where the old collar stood between the neck and the new shoulders on the same row, the photo showed
    # no background: that strip is neck skin (painted below), not a white gap. Rows with garment on only
    # one side of the neck (above the shoulders) are left alone.
    neck_gap = between_neck_and_garment(person & ~garment & ~neck_shape, neck_hole, garment, geometry, ys)
    removed &= ~neck_gap
    bare_neck |= neck_gap

    full_shading = garment_shading(rgb, old, geometry, body_shape_shading(matte, geometry))
    linear = fabric.srgb_to_linear(rgb)
    out = linear.copy()
    garment_soft_full = blur(garment.astype(np.float32), 0.8)
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
        opening, lapel, gap = front_opening(coords, geometry, outer)
        inner_fabric = render_fabric(inner, coords, shading, geometry, seed + 1, fallback_colour="white")
        # The outer layer casts a soft shadow on the inner one and its lapels catch the light.
        shadow = 1.0 - 0.5 * np.exp(-np.clip(gap, 0, None) / (0.03 * geometry.shoulder_width))
        inner_fabric *= shadow[..., None]
        roll = np.exp(-(((gap + 0.085 * geometry.shoulder_width) / (0.008 * geometry.shoulder_width)) ** 2))
        lapel_light = np.where(lapel, 1.1 - 0.3 * roll, 1.0)
        edge = np.exp(-((gap / (0.006 * geometry.shoulder_width)) ** 2))
        outer_fabric = outer_fabric * (lapel_light * (1 - 0.35 * edge))[..., None]
        opening_soft = blur(opening.astype(np.float32), 0.7)
        layered = outer_fabric * (1 - opening_soft[..., None]) + inner_fabric * opening_soft[..., None]
    else:
        layered = outer_fabric
    out[crop] = out[crop] * (1 - garment_soft[..., None]) + layered * garment_soft[..., None]
    garment_soft = garment_soft_full
    shading = full_shading

    bare = bare_arm & person & ~garment
    if bare.any():
        skin_rgb = skin_colour(rgb, analysis, geometry)
        # An arm is a cylinder: lit in the middle, darker towards its edges, with the sleeve's broad light.
        g = geometry
        across_arm = np.minimum(
            arm_distance(xs, ys, g.left_shoulder, g.left_elbow, g.left_wrist),
            arm_distance(xs, ys, g.right_shoulder, g.right_elbow, g.right_wrist),
        ) / (0.13 * g.shoulder_width)
        roundness = 1.0 - 0.5 * np.clip(across_arm, 0, 1.4) ** 2
        arm_light = np.clip(blur(shading.broad, 0.03 * g.shoulder_width), 0.6, 1.2) * np.clip(roundness, 0.35, 1)
        arm_light *= 1 + (shading.fine - 1) * 0.3
        pores = skin_grain(linear, analysis, geometry, shape)
        skin_render = skin_rgb * 0.9 * (arm_light * pores)[..., None]
        bare_soft = blur(bare.astype(np.float32), 1.5) * (1 - garment_soft)
        out = out * (1 - bare_soft[..., None]) + skin_render * bare_soft[..., None]
    neck = (neck_hole | neck_gap) & ~garment
    if neck.any() and bare_neck.any():
        out = paint_neck(out, linear, neck, skin, analysis, geometry, garment_soft)

    grow = max(3, int(0.012 * max(height, width))) | 1
    grown = cv2.dilate(removed.astype(np.uint8), np.ones((grow, grow), np.uint8)).astype(bool) & ~neck_shape & ~neck_gap
    grown &= ~(head & ~removed)
    removed_soft = blur(grown.astype(np.float32), 1.2) * (1 - blur((neck_shape | neck_gap).astype(np.float32), 1.2))
    cut = np.clip(removed_soft * 2.0, 0, 1)
    # Across the shoulders the cut's outline is the garment's: blurred and re-thresholded, its stair steps,
    # bites and teeth round off. The head and neck keep their own exact edges.
    contour = max(1.5, 0.012 * geometry.shoulder_width)
    rounded = blur((blur(cut, contour) > 0.5).astype(np.float32), 0.8)
    shoulders = (ys > geometry.chin[1]) & ~head & ~neck_shape & ~neck_gap
    cut = np.where(blur(shoulders.astype(np.float32), 1.5) > 0.5, rounded, cut)
    new_matte = np.clip(matte * (1 - cut), 0, 1)
    return DressedPerson(
        rgb=fabric.linear_to_srgb(out),
        matte=new_matte.astype(np.float32),
        garment=garment_soft.astype(np.float32),
        geometry=geometry,
        head=head,
    )

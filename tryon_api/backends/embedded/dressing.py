"""Dressing the person: the new garment drawn over the old one, lit by the photo's own shading.

The steps live in their own modules: which pixels are clothes (``garment_regions``), the new
garment's cut (``garment_cut``), its light (``shading``), its body-aligned coordinates
(``garment_coordinates``), its fabric (``fabric_rendering``), its structure (``garment_structure``)
and the skin painted where clothes were (``skin_painting``). This module puts them in order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from tryon_api.backends.embedded import fabric
from tryon_api.backends.embedded.body_shading import body_shape_shading
from tryon_api.backends.embedded.fabric_rendering import render_fabric
from tryon_api.backends.embedded.garment_coordinates import GarmentCoordinates, garment_coordinates
from tryon_api.backends.embedded.garment_cut import GarmentLayout, face_oval_mask, garment_layout, sleeve_fraction
from tryon_api.backends.embedded.garment_regions import (
    BodyGeometry,
    body_geometry,
    discount_skin_coloured_clothes,
    head_mask,
    measure_neck,
    old_clothing_mask,
    refine_matte,
    skin_probability,
)
from tryon_api.backends.embedded.garment_structure import (
    GarmentStructure,
    draw_structure,
    front_opening,
    garment_structure,
)
from tryon_api.backends.embedded.layering import LayeringParameters
from tryon_api.backends.embedded.leg_regions import (
    bare_legs,
    leg_cut,
    leg_item,
    leg_points,
    lower_garment,
    resolve_category,
)
from tryon_api.backends.embedded.necklines import Collar, collar_shape, neckline_style
from tryon_api.backends.embedded.parameters import PREVIEW_DEFAULTS, PreviewParameters
from tryon_api.backends.embedded.person_analysis import PersonAnalysis, analyse_person
from tryon_api.backends.embedded.reference_garment import GarmentAlbedo
from tryon_api.backends.embedded.sample_variation import (
    SampleVariation,
    VariationParameters,
    drape,
    key_light,
    sample_variation,
)
from tryon_api.backends.embedded.shading import Shading, blur, garment_shading
from tryon_api.backends.embedded.skin_painting import paint_bare_arms, paint_bare_legs, paint_neck
from tryon_api.garments.description import GarmentDescription, GarmentItem


@dataclass(frozen=True)
class DressedPerson:
    """The photo with the new clothes (original background still there) and the person's matte."""

    rgb: np.ndarray  # uint8 HxWx3
    matte: np.ndarray  # float32 HxW
    garment: np.ndarray  # float32 HxW, where the new garment is
    geometry: BodyGeometry
    head: np.ndarray  # bool HxW
    clean_edge: np.ndarray | None = None  # float32 HxW: where ``rgb`` at a soft matte edge is already pure foreground


def dress_person(
    rgb: np.ndarray,
    description: GarmentDescription,
    seed: int,
    garment_albedo: GarmentAlbedo | None = None,
    analysis: PersonAnalysis | None = None,
    garment_category: str = "auto",
    parameters: PreviewParameters = PREVIEW_DEFAULTS,
) -> DressedPerson:
    """Put the described clothes on the person in ``rgb`` (uint8 HxWx3).

    ``garment_category`` (``auto``, ``tops``, ``bottoms``, ``one-pieces``) says which of the body is
    re-dressed: the upper body, the legs, or both (``leg_regions``). ``parameters``: every stage's tuning.
    """
    height, width = rgb.shape[:2]
    shape = (height, width)
    if analysis is None:
        analysis = analyse_person(rgb)
    geometry = body_geometry(analysis, shape)
    regions = parameters.regions
    matte = refine_matte(rgb, analysis.matte, regions)
    head = head_mask(shape, analysis, geometry, regions)
    skin = skin_probability(rgb, analysis, geometry, regions)
    geometry = measure_neck(skin, matte, geometry)
    skin = discount_skin_coloured_clothes(skin, matte, head, geometry)
    linear = fabric.srgb_to_linear(rgb)
    category = resolve_category(garment_category, description)
    body_shape = body_shape_shading(matte, geometry, parameters.body_shading)
    if category == "bottoms":  # the upper body as it was
        out, new_matte = linear.copy(), matte
        garment = clean = np.zeros(shape, np.float32)
    else:
        out, new_matte, garment, clean = _dress_upper(
            rgb,
            linear,
            description,
            seed,
            garment_albedo,
            analysis,
            geometry,
            matte,
            head,
            skin,
            body_shape,
            parameters,
        )
    if category != "tops":
        out, new_matte, lower = _dress_legs(
            rgb,
            linear,
            out,
            leg_item(description, category),
            seed,
            analysis,
            skin,
            geometry,
            matte,
            new_matte,
            head,
            body_shape,
            parameters,
        )
        garment = np.maximum(garment, lower)
        clean = np.maximum(clean, lower * (matte < 0.97))
    return DressedPerson(
        rgb=fabric.linear_to_srgb(out),
        matte=new_matte.astype(np.float32),
        garment=garment.astype(np.float32),
        geometry=geometry,
        head=head,
        clean_edge=clean.astype(np.float32),
    )


def _dress_upper(
    rgb: np.ndarray,
    linear: np.ndarray,
    description: GarmentDescription,
    seed: int,
    garment_albedo: GarmentAlbedo | None,
    analysis: PersonAnalysis,
    geometry: BodyGeometry,
    matte: np.ndarray,
    head: np.ndarray,
    skin: np.ndarray,
    body_shape: np.ndarray,
    parameters: PreviewParameters,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The upper body re-dressed: (linear RGB, the new matte, where the garment is, clean matte edges)."""
    shape = matte.shape
    old = old_clothing_mask(rgb, matte, head, skin, geometry, parameters.regions)

    outer = description.primary
    structure = garment_structure(outer, description.inner)
    inner = structure.inner
    # An open front shows the inner layer's neckline.
    style = neckline_style(inner if structure.opening else outer, parameters.necklines)
    sleeves = sleeve_fraction(outer, parameters.cut)
    layout = garment_layout(rgb, analysis, geometry, matte, head, skin, old, style, sleeves, parameters.cut)
    face = face_oval_mask(shape, analysis, head)
    collar = collar_shape(shape, geometry, style, layout.neck)
    if collar is not None:
        face_soft = np.clip(blur(face.astype(np.float32), 1.5) * 2, 0, 1)
        # Over the person its foot fades into the garment; beyond the person (a hood above the shoulders) it is whole.
        mask = np.where(matte > 0.5, collar.mask, collar.silhouette) * (1 - face_soft)
        collar = Collar(mask, collar.silhouette * (1 - face_soft), collar.light, collar.outline)

    full_shading = garment_shading(rgb, old, geometry, body_shape, parameters.shading)
    edge_soft = parameters.layering.edge_soft
    garment_soft = blur(layout.edge_paint.astype(np.float32), edge_soft) * (1 - blur(head.astype(np.float32), 0.8))
    collar_weight = collar.mask if collar is not None else np.zeros(shape, np.float32)
    layered, crop = _render_garment(
        outer,
        structure,
        full_shading,
        collar,
        layout,
        geometry,
        seed,
        garment_albedo,
        garment_soft + collar_weight,
        parameters,
    )
    # Skin first (bared arms, the neck above the neckline), then the garment over it: painted the other
    # way round, a line of the old collar was left where the two soft edges met.
    out = linear.copy()
    bare = layout.bare_arm & (matte > 0.5) & ~layout.garment
    if bare.any():
        broad, fine = full_shading.broad, full_shading.fine
        out = paint_bare_arms(out, rgb, linear, bare, broad, fine, analysis, geometry, parameters.skin)
    if layout.neck.any():
        # It also reaches out to the matte's soft edge, so no old collar colour fringes the neck's outline.
        reach = max(3, int(parameters.layering.neck_reach * geometry.shoulder_width)) | 1
        neck = cv2.dilate(layout.neck.astype(np.uint8), np.ones((reach, reach), np.uint8)).astype(bool)
        neck &= (matte > 0.01) & ~layout.bare_arm  # into the face it fades (paint_neck)
        out = paint_neck(out, linear, neck, skin, analysis, geometry, face, parameters.skin)
        neck_clean = blur((neck & ~face).astype(np.float32), 0.8)
    else:
        neck_clean = np.zeros(shape, np.float32)
    out[crop] = out[crop] * (1 - garment_soft[crop][..., None]) + layered * garment_soft[crop][..., None]
    if collar is not None:  # over the painted neck, with its own light and creases
        weight = collar.mask[crop][..., None]
        drawn = layered * (1 - parameters.layering.collar_outline * collar.outline[crop])[..., None]
        out[crop] = out[crop] * (1 - weight) + drawn * weight
    new_matte = _finish_matte(matte, layout, geometry, collar, parameters.layering)
    clean = np.maximum(np.maximum(garment_soft, collar_weight), neck_clean) * (matte < 0.97)
    return out, new_matte, np.maximum(garment_soft, collar_weight), clean


def _dress_legs(
    rgb: np.ndarray,
    linear: np.ndarray,
    out: np.ndarray,
    item: GarmentItem | None,
    seed: int,
    analysis: PersonAnalysis,
    skin: np.ndarray,
    geometry: BodyGeometry,
    matte: np.ndarray,
    new_matte: np.ndarray,
    head: np.ndarray,
    body_shape: np.ndarray,
    parameters: PreviewParameters,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The legs re-dressed (trousers, shorts or a skirt) over ``out``: (linear RGB, matte, garment weight).

    Below shorts or a skirt the old trouser legs are painted as skin, lit by the light read from them.
    """
    shape = matte.shape
    cut = leg_cut(item)
    lower = lower_garment(geometry, matte, head, cut, parameters.legs)
    if not lower.garment.any():  # no lower body in the photo
        return out, new_matte, np.zeros(shape, np.float32)
    person = matte > 0.5
    sw = geometry.shoulder_width
    # Its colour reaches the matte's soft outer edge, as the upper garment's does.
    reach = max(2, int(parameters.legs.edge_reach * sw)) | 1
    grown = cv2.dilate(lower.garment.astype(np.uint8), np.ones((reach, reach), np.uint8)).astype(bool)
    paint = lower.garment | (grown & (matte > 0.01) & ~person & ~head & (np.arange(shape[0])[:, None] >= lower.waist_y))
    weight = blur(paint.astype(np.float32), parameters.legs.soften)
    bare = bare_legs(geometry, matte, lower, skin, parameters.legs) if cut.kind != "trousers" else None
    read = lower.garment if bare is None else lower.garment | bare  # the light is read from all the old cloth
    shading = garment_shading(rgb, read & person, geometry, body_shape, parameters.shading)
    rows, cols = np.nonzero(weight > 0.002)
    crop = (slice(int(rows.min()), int(rows.max()) + 1), slice(int(cols.min()), int(cols.max()) + 1))
    cropped = Shading(shading.broad[crop], shading.fine[crop], shading.print_mask[crop], shading.steady[crop])
    points = leg_points(geometry, parameters.legs)
    joints = tuple(
        (points[f"{side}_hip"], points[f"{side}_knee"], points[f"{side}_ankle"]) for side in ("left", "right")
    )
    legs = None if cut.kind == "skirt" else (paint[crop], joints)  # a skirt hangs round the body as one
    coords = garment_coordinates(
        geometry, cropped.broad.shape, cropped.fine, origin=(crop[1].start, crop[0].start),
        on_arm=np.zeros(cropped.broad.shape, bool), legs=legs, parameters=parameters.coordinates,
    )  # fmt: skip
    variation = sample_variation(seed, parameters.variation)
    coords, cropped = _vary(variation, coords, cropped, geometry, parameters.variation, parameters.layering.fold_bend)
    cloth = render_fabric(
        item, coords, cropped, geometry, seed, pattern_shift=variation.pattern_shift,
        patterns=parameters.patterns, weaves=parameters.weaves, light_parameters=parameters.cloth,
    )  # fmt: skip
    out = out.copy()
    if bare is not None and bare.any():  # skin first, the garment's soft hem over it
        out = paint_bare_legs(
            out, rgb, linear, bare, shading.broad, shading.fine, analysis, geometry, joints, parameters.skin
        )
    out[crop] = out[crop] * (1 - weight[crop][..., None]) + cloth * weight[crop][..., None]
    return out, np.maximum(new_matte, lower.silhouette), weight


def _render_garment(
    outer: GarmentItem | None,
    structure: GarmentStructure,
    full_shading: Shading,
    collar: Collar | None,
    layout: GarmentLayout,
    geometry: BodyGeometry,
    seed: int,
    garment_albedo: GarmentAlbedo | None,
    extent: np.ndarray,
    parameters: PreviewParameters,
) -> tuple[np.ndarray, tuple[slice, slice]]:
    """The garment's linear colour inside the bounding box of ``extent``: fabric, layers, collar, structure."""
    p = parameters.layering
    rows, cols = np.nonzero(extent > 0.002)
    if rows.size:
        crop = (slice(int(rows.min()), int(rows.max()) + 1), slice(int(cols.min()), int(cols.max()) + 1))
    else:
        crop = (slice(0, 1), slice(0, 1))
    broad, fine, steady = full_shading.broad[crop], full_shading.fine[crop], full_shading.steady[crop]
    if collar is not None:  # the collar is lit by its own shape, at the level of the garment's light around it
        weight = np.clip(collar.mask[crop] * 1.5, 0, 1)
        level = float(np.median(broad[weight > 0.5])) if (weight > 0.5).any() else 1.0
        broad = broad * (1 - weight) + collar.light[crop] * min(level, p.collar_light_most) * weight
        steady = steady * (1 - weight) + collar.light[crop] * min(level, p.collar_light_most) * weight
        fine = fine * (1 - weight) + weight
    shading = Shading(broad, fine, full_shading.print_mask[crop], steady)
    origin = (crop[1].start, crop[0].start)
    on_arm = (layout.arms | layout.bare_arm)[crop]
    coords = garment_coordinates(geometry, broad.shape, fine, origin, on_arm, parameters=parameters.coordinates)
    albedo = garment_albedo.sample(coords, geometry) if garment_albedo is not None else None
    variation = sample_variation(seed, parameters.variation)
    coords, shading = _vary(variation, coords, shading, geometry, parameters.variation, p.fold_bend)
    shift, patterns, weaves, light = variation.pattern_shift, parameters.patterns, parameters.weaves, parameters.cloth
    outer_fabric = render_fabric(outer, coords, shading, geometry, seed, "navy", albedo, shift, patterns, weaves, light)
    sw = geometry.shoulder_width
    start = 0.0
    if structure.opening and outer is not None:
        opening, lapel, gap = front_opening(coords, geometry, outer, structure.cardigan, parameters.structure)
        inner_fabric = render_fabric(
            structure.inner, coords, shading, geometry, seed + 1, "white", None, shift, patterns, weaves, light
        )
        # The outer layer casts a soft shadow on the inner one and its lapels catch the light.
        shadow = 1.0 - p.inner_shadow * np.exp(-np.clip(gap, 0, None) / (p.inner_shadow_reach * sw))
        inner_fabric *= shadow[..., None]
        roll = np.exp(-(((gap + p.lapel_roll_at * sw) / (p.lapel_roll_width * sw)) ** 2))
        lapel_light = np.where(lapel, p.lapel_light - p.lapel_roll * roll, 1.0)
        edge = np.exp(-((gap / (p.front_edge_width * sw)) ** 2))
        outer_fabric = outer_fabric * (lapel_light * (1 - p.front_edge * edge))[..., None]
        opening_soft = blur(opening.astype(np.float32), 0.7)
        if collar is not None:  # the collar belongs to the inner layer
            opening_soft = np.maximum(opening_soft, collar.mask[crop])
        layered = outer_fabric * (1 - opening_soft[..., None]) + inner_fabric * opening_soft[..., None]
        if structure.cardigan:
            start = p.cardigan_v * max(geometry.hip_y - geometry.neck_base_y, sw)  # where its V closes
    else:
        layered = outer_fabric
        if structure.drawstrings or structure.zip or structure.buttons:
            start = float(np.clip(neckline_dip(geometry, layout), 0, None))
    if structure.buttons or structure.cardigan or structure.zip or structure.drawstrings:
        layered = draw_structure(layered, coords, geometry, structure, start, parameters.structure)
    return layered, crop


def _vary(
    variation: SampleVariation,
    coords: GarmentCoordinates,
    shading: Shading,
    geometry: BodyGeometry,
    parameters: VariationParameters,
    bend: tuple[float, float],
) -> tuple[GarmentCoordinates, Shading]:
    """This sample's drape and key light on top of the photo's: the folds bend the pattern as the photo's do."""
    folds = drape(variation, coords, geometry.shoulder_width, parameters)
    light = key_light(variation, coords, geometry.shoulder_width)
    bent = replace(coords, u=coords.u + bend[0] * folds, v=coords.v + bend[1] * folds)
    varied = Shading(shading.broad * light, shading.fine * np.exp(folds), shading.print_mask, shading.steady * light)
    return bent, varied


def neckline_dip(geometry: BodyGeometry, layout: GarmentLayout) -> float:
    """How far below the neck's base the garment starts on the centre line (px)."""
    column = int(np.clip(round(geometry.centre_x), 0, layout.garment.shape[1] - 1))
    rows = np.nonzero(layout.garment[:, column])[0]
    return float(rows[0] - geometry.neck_base_y) if rows.size else 0.0


def _finish_matte(
    matte: np.ndarray, layout: GarmentLayout, geometry: BodyGeometry, collar: Collar | None, p: LayeringParameters
) -> np.ndarray:
    """The person's matte less the cut-away old clothes, its new outline rounded; a hood adds to it."""
    height, width = matte.shape
    ys = np.arange(height, dtype=np.float32)[:, None]
    grow = max(3, int(p.cut_grow * max(height, width))) | 1
    keep = layout.keep_edges
    grown = cv2.dilate(layout.removed.astype(np.uint8), np.ones((grow, grow), np.uint8)).astype(bool) & ~keep
    grown &= ~(layout.head & ~layout.removed)
    removed_soft = blur(grown.astype(np.float32), 1.2) * (1 - blur(keep.astype(np.float32), 1.2))
    cut = np.clip(removed_soft * 2.0, 0, 1)
    # Across the shoulders the cut's outline is the garment's: blurred and re-thresholded, its stair steps,
    # bites and teeth round off. The head and neck keep their own exact edges.
    contour = max(1.5, p.cut_contour * geometry.shoulder_width)
    rounded = blur((blur(cut, contour) > 0.5).astype(np.float32), 0.8)
    shoulders = (ys > geometry.chin[1]) & ~keep & ~layout.head
    cut = np.where(blur(shoulders.astype(np.float32), 1.5) > 0.5, rounded, cut)
    # Where the neck meets the jaw and the shoulders the corners are rounded off more (no boxy neck).
    corners = blur((blur(cut, p.neck_corners * contour) > 0.5).astype(np.float32), 0.8)
    near_neck = blur(keep.astype(np.float32), 3 * contour) * (1 - blur(layout.head.astype(np.float32), 1.0))
    cut = np.where(near_neck > 0.05, np.maximum(cut, corners * near_neck), cut)
    new_matte = np.clip(matte * (1 - cut), 0, 1)
    if collar is not None:
        new_matte = np.maximum(new_matte, collar.silhouette)
    return new_matte

"""A garment photo (``clothing_image_url``) worn by the person: its colours, print and sleeves.

The garment is separated from its plain background (distance to the border colour, GrabCut,
holes filled), its own lighting is flattened so that only the photo's light applies, and it is
mapped onto the body piece by piece: its torso onto the torso cylinder (neck to hem), each
sleeve along the arm on the same side, so a logo lands on the chest and sleeves follow the arms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from tryon_api.backends.embedded import fabric

if TYPE_CHECKING:
    from tryon_api.backends.embedded.dressing import GarmentAlbedo, GarmentCoordinates
    from tryon_api.backends.embedded.garment_regions import BodyGeometry

WORK_SIDE = 384


def garment_mask(rgb: np.ndarray) -> np.ndarray:
    """The garment against a plain (studio or flat-lay) background: a bool mask.

    A photo with nothing that stands out from its border (a close-up of the fabric, a colour
    swatch) is all garment: its colours and pattern are still what the caller asked for.
    """
    height, width = rgb.shape[:2]
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    border = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    background = np.median(border, axis=0)
    spread = float(np.percentile(np.linalg.norm(border - background, axis=1), 90))
    distance = np.linalg.norm(lab - background, axis=2)
    threshold = max(12.0, spread * 1.5)
    seeds = np.full((height, width), cv2.GC_PR_BGD, np.uint8)
    seeds[distance > threshold] = cv2.GC_PR_FGD
    seeds[distance > 2.5 * threshold] = cv2.GC_FGD
    seeds[:2, :] = seeds[-2:, :] = cv2.GC_BGD
    seeds[:, :2] = seeds[:, -2:] = cv2.GC_BGD
    if (seeds == cv2.GC_FGD).sum() > 50:
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(0)  # k-means inside uses OpenCV's per-thread RNG: same input, same output
        cv2.grabCut(rgb, seeds, (0, 0, 1, 1), bgd, fgd, 2, cv2.GC_INIT_WITH_MASK)
    mask = np.isin(seeds, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    if count <= 1:
        return np.ones((height, width), bool)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    mask = labels == largest
    # Holes inside the garment (a white logo on a white background colour) belong to it.
    _count, inverse = cv2.connectedComponents((~mask).astype(np.uint8))
    border_labels = np.unique(np.concatenate([inverse[0], inverse[-1], inverse[:, 0], inverse[:, -1]]))
    mask |= (inverse > 0) & ~np.isin(inverse, border_labels)
    if mask.sum() < 0.03 * height * width:
        return np.ones((height, width), bool)
    return mask


class ReferenceLayout:
    """Where the torso and the sleeves are in the garment photo."""

    def __init__(self, mask: np.ndarray) -> None:
        ys, xs = np.nonzero(mask)
        self.top, self.bottom = float(ys.min()), float(ys.max())
        self.left, self.right = float(xs.min()), float(xs.max())
        height = self.bottom - self.top
        # The torso's width: the garment at 70% of its height, below the sleeves.
        row = mask[int(self.top + 0.7 * height)]
        cols = np.nonzero(row)[0]
        if cols.size:
            self.centre = float((cols.min() + cols.max()) / 2)
            self.torso_half = float(max(4.0, (cols.max() - cols.min()) / 2))
        else:
            self.centre, self.torso_half = float(xs.mean()), float((self.right - self.left) / 3)
        self.sleeve_width = 0.16 * height
        self.shoulders: dict[int, np.ndarray] = {}
        self.cuffs: dict[int, np.ndarray] = {}
        for side in (-1, 1):
            shoulder = np.array([self.centre + side * self.torso_half * 0.92, self.top + 0.1 * height], np.float32)
            outside = (xs - self.centre) * side > self.torso_half * 1.05
            if outside.sum() > 20:
                # The sleeve's end: the pixel farthest from the shoulder on that side.
                points = np.stack([xs[outside], ys[outside]], axis=1).astype(np.float32)
                far = points[np.argmax(np.linalg.norm(points - shoulder, axis=1))]
            else:
                far = shoulder + np.array([side * 0.05 * height, 0.25 * height], np.float32)
            self.shoulders[side] = shoulder
            self.cuffs[side] = far.astype(np.float32)


def flatten_garment(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The garment's albedo in linear RGB: its own broad lighting divided out, background filled in."""
    linear = fabric.srgb_to_linear(rgb)
    luminance = linear @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    # Edge pixels mix in the background: take colours from a little inside the outline.
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if inner.sum() > 0.5 * mask.sum():
        mask = inner
    weights = mask.astype(np.float32)
    sigma = 0.25 * max(rgb.shape[:2])
    local = cv2.GaussianBlur(luminance * weights, (0, 0), sigma) / np.maximum(
        cv2.GaussianBlur(weights, (0, 0), sigma), 1e-4
    )
    median = float(np.median(luminance[mask])) + 1e-4
    flattening = np.clip(median / np.maximum(local, 1e-4), 0.7, 1.4)
    albedo = np.clip(linear * flattening[..., None], 0, 1)
    # Fill the background with the nearest garment colours so sampling at the garment's edge stays clean.
    filled = np.where(mask[..., None], albedo, 0.0)
    done = mask.copy()
    for sigma_fill in (4.0, 16.0, 64.0):
        cover = cv2.GaussianBlur(weights, (0, 0), sigma_fill)
        estimate = (
            cv2.GaussianBlur(albedo * weights[..., None], (0, 0), sigma_fill) / np.maximum(cover, 1e-6)[..., None]
        )
        todo = ~done & (cover > 1e-3)
        filled = np.where(todo[..., None], estimate, filled)
        done |= todo
    filled = np.where(done[..., None], filled, albedo[mask].mean(axis=0))
    return filled.astype(np.float32)


def prepare_reference(image_rgb: np.ndarray) -> GarmentAlbedo:
    """Separate, flatten and lay out a garment photo (uint8 HxWx3) for ``dress_person``."""
    from tryon_api.backends.embedded.dressing import GarmentAlbedo

    height, width = image_rgb.shape[:2]
    scale = min(1.0, WORK_SIDE / max(height, width))
    if scale < 1.0:
        image_rgb = cv2.resize(image_rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    mask = garment_mask(image_rgb)
    return GarmentAlbedo(flatten_garment(image_rgb, mask), mask)


def sample_reference(reference: GarmentAlbedo, coords: GarmentCoordinates, geometry: BodyGeometry) -> np.ndarray:
    """The garment photo's albedo at every body pixel (linear RGB HxWx3)."""
    from tryon_api.backends.embedded.dressing import SHOULDER_CM

    layout = ReferenceLayout(reference.mask)
    cm = SHOULDER_CM / geometry.shoulder_width
    torso_length_cm = max(geometry.hip_y - geometry.neck_base_y, geometry.shoulder_width) * cm * 1.05
    garment_height = layout.bottom - layout.top
    # Torso: the body's width at the chest (about 0.9 shoulder widths) spans the garment's torso.
    half_cm = 0.5 * SHOULDER_CM * 0.95
    map_x = layout.centre + np.clip(coords.u / half_cm, -1.2, 1.2) * layout.torso_half
    map_y = layout.top + 0.04 * garment_height + np.clip(coords.v / torso_length_cm, -0.05, 1.0) * garment_height * 0.96
    arm = coords.u > 50.0
    if arm.any():
        height, width = coords.u.shape
        xs = np.broadcast_to(np.arange(width, dtype=np.float32)[None, :] + coords.origin[0], (height, width))
        arm_length_cm = (
            float(np.linalg.norm(geometry.left_elbow - geometry.left_shoulder))
            + float(np.linalg.norm(geometry.left_wrist - geometry.left_elbow))
        ) * cm
        for side in (-1, 1):
            members = arm & ((xs - geometry.centre_x) * side > 0)
            shoulder, cuff = layout.shoulders[side], layout.cuffs[side]
            axis = cuff - shoulder
            length = max(float(np.linalg.norm(axis)), 1.0)
            direction = axis / length
            normal = np.array([-direction[1], direction[0]], np.float32)
            t = np.clip(coords.v[members] / max(arm_length_cm, 1.0), 0, 1) * length
            offset = np.clip((coords.u[members] - 100.0) / (0.2 * SHOULDER_CM), -1, 1) * layout.sleeve_width * 0.5
            map_x[members] = shoulder[0] + direction[0] * t + normal[0] * offset
            map_y[members] = shoulder[1] + direction[1] * t + normal[1] * offset
    return cv2.remap(
        reference.flat,
        map_x.astype(np.float32),
        map_y.astype(np.float32),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )

"""The light on the garment: taken from the photo, freed of the old garment's colours, prints and logos.

The photo's luminance inside the old garment is divided by the typical luminance of each of its
main colours (so a white shirt and a navy jacket give the same light) and split into broad form
and fine folds; small colour clusters (patches, logos, name tags, ribbons) are treated as print
and their shading is filled in from around them, so they leave no ghost.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon_api.backends.embedded import fabric
from tryon_api.backends.embedded.garment_regions import BodyGeometry

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


@dataclass(frozen=True)
class ShadingParameters:
    """How the photo's light is read off the old garment (lengths in shoulder widths, light in log units:
    about +-1 is a factor e)."""

    fold_range: float = 0.085  # the spread of folds new cloth is given
    flat_folds: float = 0.012  # below this spread a photo's folds are noise (the body's shape lights it)
    fold_gain: tuple[float, float] = (0.8, 2.0)  # the least and most the photo's folds are scaled
    form_range: float = 0.12  # the spread of the body's form new cloth is given
    flat_form: float = 0.015
    form_gain: tuple[float, float] = (0.7, 1.5)
    highlight: float = 0.22  # the most the broad light rises above the garment's own level
    fold_bounds: tuple[float, float] = (-0.7, 0.5)  # the deepest fold and the brightest crest
    light_bounds: tuple[float, float] = (0.35, 1.7)  # the broad and steady light's multiplier
    colour_clusters: int = 4  # the old garment's main colours are found among this many
    lightness_weight: float = 0.3  # Lab L* counts this much when clustering (light and shadow stay one)
    major_colour: float = 0.18  # a colour covering this share of the garment is a main one, not print
    print_brighter: float = 1.7  # brighter than this x its neighbourhood (plus 0.04): print (a badge)
    print_darker: float = 0.5  # darker than this x its neighbourhood (minus 0.04): print
    print_neighbourhood: float = 0.06  # the neighbourhood's size
    print_margin: float = 0.02  # print grown by this much
    fill_near: float = 0.03  # prints filled from the light this close around them
    fill_far: float = 0.12  # ... else from this far
    clean_margin: float = 0.05  # plain cloth: this far from any print
    steady_near: float = 0.05  # the steady light (dark cloth's) from plain cloth this close
    steady_far: float = 0.15
    form_scale: float = 0.05  # the broad form: the light blurred this much
    dark_denoise: float = 0.02  # dark cloth's folds smoothed by up to this much (its JPEG noise)
    seam_width: float = 0.006  # where two old colours meet, this wide, no fold is read
    main_colour_form: float = 0.7  # the form read from the main colour only, mixed in this much
    body_weight_least: float = 0.5  # the body's shape lights a confidently lit photo this much
    clone_step: float = 0.22  # folds cloned into prints from this far beside them
    clone_feather: float = 0.01


PARAMETERS = ShadingParameters()


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return fabric.fast_blur(image, sigma)


def masked_blur(values: np.ndarray, weights: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised convolution: the blur of ``values`` counting only where ``weights`` > 0."""
    weights = weights.astype(np.float32)
    numerator = blur(values * weights, sigma)
    denominator = blur(weights, sigma)
    return numerator / np.maximum(denominator, 1e-4)


@dataclass(frozen=True)
class Shading:
    broad: np.ndarray  # the body's form, around 1
    fine: np.ndarray  # folds and creases, around 1
    print_mask: np.ndarray  # bool, patches/logos whose shading was filled in
    steady: np.ndarray  # the form measured on plain cloth only, far from prints: the light for dark fabrics


def _robust_spread(values: np.ndarray) -> float:
    """A standard deviation that a few outliers (a missed badge, a glint) do not inflate."""
    if values.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def garment_shading(
    rgb: np.ndarray,
    region: np.ndarray,
    geometry: BodyGeometry,
    body_shape: np.ndarray | None = None,
    parameters: ShadingParameters = PARAMETERS,
) -> Shading:
    """The light on the old garment, without its colours, prints and logos, amplified to a usable range.

    ``body_shape`` (from ``body_shading.body_shape_shading``) lights what the photo leaves flat.
    """
    p = parameters
    height, width = region.shape
    sw = geometry.shoulder_width
    linear = fabric.srgb_to_linear(rgb)
    luminance = linear @ LUMA
    shading = np.ones((height, width), np.float32)
    if body_shape is None:
        body_shape = np.ones((height, width), np.float32)
    if region.sum() < 50:
        return Shading(body_shape, shading.copy(), np.zeros_like(region), body_shape.copy())
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= p.lightness_weight  # one material in light and shadow stays one cluster; white and navy still part
    pixels = lab[region]
    rng = np.random.default_rng(0)
    sample = pixels[rng.choice(len(pixels), size=min(len(pixels), 4000), replace=False)]
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    clusters = min(p.colour_clusters, len(sample))
    cv2.setRNGSeed(0)  # k-means inside uses OpenCV's per-thread RNG: same input, same output
    _c, _labels, centres = cv2.kmeans(
        sample, clusters, np.zeros((len(sample), 1), np.int32), criteria, 2, cv2.KMEANS_PP_CENTERS
    )
    distances = ((pixels[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    labels = distances.argmin(axis=1)
    counts = np.bincount(labels, minlength=clusters)
    major = counts >= p.major_colour * len(pixels)
    if not major.any():
        major[counts.argmax()] = True
    label_map = np.full((height, width), -1, np.int32)
    label_map[region] = labels
    valid = np.zeros((height, width), bool)
    darkness = np.zeros((height, width), np.float32)
    for index in np.nonzero(major)[0]:
        members = label_map == index
        median = float(np.median(luminance[members])) + 1e-4
        shading[members] = luminance[members] / median
        # Dark cloth carries JPEG noise many times its own folds: it is smoothed more before its folds are read.
        darkness[members] = float(np.clip(1 - np.sqrt(median) / 0.45, 0, 0.85))
        valid |= members
    # Whatever stands out of its neighbourhood (badges, ribbons, letters) is print too.
    level = np.clip(np.sqrt(luminance) * 255.0, 0, 255).astype(np.uint8)
    small = cv2.resize(level, (max(8, width // 4), max(8, height // 4)), interpolation=cv2.INTER_AREA)
    kernel = max(3, int(p.print_neighbourhood * sw / 4)) | 1
    local = (cv2.resize(cv2.medianBlur(small, min(kernel, 255)), (width, height)).astype(np.float32) / 255.0) ** 2
    outliers = region & ((luminance > p.print_brighter * local + 0.04) | (luminance < p.print_darker * local - 0.04))
    valid &= ~outliers
    prints = region & ~valid
    grow = max(1, int(p.print_margin * sw))
    prints = cv2.dilate(prints.astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool) & region
    valid &= ~prints
    shading = np.clip(shading, 0.05, 3.0)
    filled = masked_blur(shading, valid, p.fill_near * sw)
    wide = masked_blur(shading, valid, p.fill_far * sw)
    cover = blur(valid.astype(np.float32), p.fill_near * sw)
    filled = np.where(cover > 0.05, filled, wide)
    shading = np.where(valid, shading, filled)
    # For dark fabrics the form is measured on the plain cloth only: filled-in prints (medals, name tags) and
    # their blurred rims (JPEG halos on dark cloth many times its own light) are left out too.
    margin = max(1, int(p.clean_margin * sw))
    clean = valid & ~cv2.dilate(prints.astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)).astype(bool)
    clean &= shading < 1.8
    if clean.sum() < 50:
        clean = region
    near = masked_blur(shading, clean, p.steady_near * sw)
    trust = np.clip(blur(clean.astype(np.float32), p.steady_near * sw) / 0.15, 0, 1)
    steady = np.clip(near * trust + masked_blur(shading, clean, p.steady_far * sw) * (1 - trust), *p.light_bounds)

    # The light relative to its own local mean, in log units: a fold is a ratio, the same on navy and on white.
    log_light = np.log(np.where(region, np.clip(shading, 0.05, 3.0), 1.0))
    denoise = max(0.8, float(darkness[region].mean()) * p.dark_denoise * sw)
    # Read only from plain cloth: a filled-in badge's level and its JPEG rim, amplified, drew its outline.
    plain = clean if clean.sum() > 0.5 * region.sum() else region
    smooth_log = masked_blur(log_light, plain, denoise)
    broad_log = masked_blur(log_light, plain, p.form_scale * sw)
    fine_log = np.where(plain, smooth_log - broad_log, 0.0)
    # Where two of the old garment's colours meet (a tie on a shirt, a lapel), their mixed pixels are no fold.
    seams = cv2.morphologyEx(label_map.astype(np.float32), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    fine_log *= 1 - np.clip(blur((seams & region).astype(np.float32), max(1.0, p.seam_width * sw)) * 3, 0, 1)
    # The body's form is read from the garment's main colour only, and carried across the others.
    main = (label_map == int(np.argmax(counts))) & plain
    if main.sum() > 0.3 * plain.sum():
        broad_log = masked_blur(log_light, main, p.form_scale * sw) * p.main_colour_form + broad_log * (
            1 - p.main_colour_form
        )
    form_log = broad_log - float(np.median(broad_log[region]))
    # Each main colour's folds are scaled to the range new cloth needs: a near-black garment's faint folds
    # are amplified, a crumpled one's calmed. Where the photo shows no usable variation, the body's shape lights it.
    fine_gain = np.zeros((height, width), np.float32)
    for index in np.nonzero(major)[0]:
        members = (label_map == index) & valid
        if members.sum() < 20:
            continue
        spread = _robust_spread(fine_log[members])
        confidence = float(np.clip((spread - p.flat_folds) / p.flat_folds, 0, 1))
        fine_gain[label_map == index] = confidence * float(np.clip(p.fold_range / max(spread, 1e-4), *p.fold_gain))
    fine_gain = masked_blur(fine_gain, region, 0.02 * sw)
    fine = np.exp(np.clip(fine_log * fine_gain, *p.fold_bounds))
    form_spread = _robust_spread(form_log[clean])
    form_confidence = float(np.clip((form_spread - p.flat_form) / p.flat_form, 0, 1))
    form_gain = form_confidence * float(np.clip(p.form_range / max(form_spread, 1e-4), *p.form_gain))
    body_weight = 1 - (1 - p.body_weight_least) * form_confidence
    # Highlights are compressed (cloth is not a mirror: a lit white shirt must not clip), shadows kept.
    form = form_log * form_gain + body_weight * np.log(body_shape)
    form = np.where(form > 0, p.highlight * np.tanh(form / p.highlight), form)
    broad = np.clip(np.exp(form), *p.light_bounds)
    steady = np.clip(steady * body_shape**body_weight, *p.light_bounds)
    # Inside prints (and the rim around them), clone the folds from beside them so the area is not smooth.
    hidden = region & ~plain
    step = max(1, int(p.clone_step * sw))
    cloned = np.ones_like(fine)
    found = np.zeros_like(hidden)
    for dy, dx in ((0, step), (0, -step), (step, 0), (-step, 0), (step, step), (-step, -step)):
        source_valid = np.roll(plain, (dy, dx), axis=(0, 1))
        take = hidden & ~found & source_valid
        cloned = np.where(take, np.roll(fine, (dy, dx), axis=(0, 1)), cloned)
        found |= take
    # Feathered, so a filled-in badge leaves no outline.
    hidden_soft = np.clip(blur(hidden.astype(np.float32), max(1.0, p.clone_feather * sw)) * 1.5, 0, 1) * region
    fine = fine * (1 - hidden_soft) + blur(cloned, 1.0) * hidden_soft
    return Shading(broad.astype(np.float32), fine.astype(np.float32), prints, steady.astype(np.float32))

"""What one seed changes in a preview: the cloth's drape, the key light's side, where the pattern starts.

A generative model's samples of one request differ in how the cloth falls and how it is lit, not in
what was asked for; the preview varies the same things, from the seed alone (the same seed, the
same bytes). The drape is a handful of folds drawn in garment centimetres (drag lines from the
armpits, bunching above the waist, rings at the elbows and knees), each a ridge with a lit and a
shaded side; the key light tilts across the body from one side or the other; a pattern's repeat
starts elsewhere. The colour asked for, the garment's cut and the photo's own folds stay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tryon_api.backends.embedded.garment_coordinates import ARM_U, LEG_U, GarmentCoordinates
from tryon_api.backends.embedded.shading import blur


@dataclass(frozen=True)
class VariationParameters:
    """How far one sample may differ from another (log light is about +-1 for a factor e)."""

    torso_folds: tuple[int, int] = (5, 8)  # how many folds on the torso (low, high inclusive)
    limb_folds: tuple[int, int] = (2, 4)  # how many on the sleeves and on the legs
    fold_strength: tuple[float, float] = (0.18, 0.32)  # a fold's lit side above its shaded side, log light
    fold_width_cm: tuple[float, float] = (1.8, 4.0)  # from a fold's crest to its valley
    fold_length_cm: tuple[float, float] = (8.0, 22.0)
    drag_angle_degrees: tuple[float, float] = (20.0, 55.0)  # drag lines from the armpits, from horizontal
    bunch_angle_degrees: float = 15.0  # folds above the waist: nearly horizontal, tilted at most this
    light_tilt: float = 0.4  # the key light's gradient across the body, log light per shoulder width (+-)
    light_tilt_least: float = 0.45  # the least tilt, as a fraction of ``light_tilt``
    light_fall: float = 0.12  # its gradient down the body, log light per shoulder width (+-)
    pattern_shift_cm: float = 10.0  # a pattern's repeat starts up to this far away, across and down
    torso_length_cm: float = 55.0  # the neck's base to the hips, for placing folds on the torso
    limb_length_cm: float = 60.0  # shoulder to wrist, hip to ankle
    soften: float = 0.012  # the folds' field blurred by this fraction of the shoulder width


PARAMETERS = VariationParameters()


@dataclass(frozen=True)
class Fold:
    u: float  # centre, cm
    v: float
    angle: float  # the fold line's direction, radians from the u axis
    width: float  # cm
    length: float  # cm
    strength: float  # log light


@dataclass(frozen=True)
class SampleVariation:
    """Everything one seed decides, drawn before any pixel."""

    folds: tuple[Fold, ...]
    light_tilt: tuple[float, float]  # across, down: log light per shoulder width
    pattern_shift: tuple[float, float]  # cm, across and down


def sample_variation(seed: int, parameters: VariationParameters = PARAMETERS) -> SampleVariation:
    """The drape, light and pattern phase of the sample with ``seed`` (its own random stream)."""
    p = parameters
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x5A3D1E])
    folds: list[Fold] = []

    def fold(u: float, v: float, angle: float) -> Fold:
        return Fold(
            u,
            v,
            angle,
            float(rng.uniform(*p.fold_width_cm)),
            float(rng.uniform(*p.fold_length_cm)),
            float(rng.uniform(*p.fold_strength) * rng.choice((-1.0, 1.0))),
        )

    for _ in range(int(rng.integers(p.torso_folds[0], p.torso_folds[1] + 1))):
        side = float(rng.choice((-1.0, 1.0)))
        if rng.random() < 0.55:  # a drag line from an armpit down towards the middle
            angle = np.radians(rng.uniform(*p.drag_angle_degrees)) * side
            folds.append(fold(side * rng.uniform(6, 16), rng.uniform(0.2, 0.55) * p.torso_length_cm, float(angle)))
        else:  # cloth bunching above the waist
            angle = np.radians(rng.uniform(-p.bunch_angle_degrees, p.bunch_angle_degrees))
            folds.append(fold(rng.uniform(-14, 14), rng.uniform(0.6, 1.0) * p.torso_length_cm, float(angle)))
    for centre_u in (ARM_U, LEG_U):  # rings round the elbows and the knees, across the limb
        for _ in range(int(rng.integers(p.limb_folds[0], p.limb_folds[1] + 1))):
            angle = np.radians(rng.uniform(70, 110))
            folds.append(fold(centre_u + rng.uniform(-6, 6), rng.uniform(0.3, 0.7) * p.limb_length_cm, float(angle)))
    # The key light comes from the left for even seeds, from the right for odd ones: a job's consecutive
    # samples (seed, seed + 1, ...) are never lit alike.
    side = 1.0 if seed % 2 == 0 else -1.0
    across = side * float(rng.uniform(p.light_tilt_least, 1.0)) * p.light_tilt
    tilt = (across, float(rng.uniform(-p.light_fall, p.light_fall)))
    shift = (float(rng.uniform(0, p.pattern_shift_cm)), float(rng.uniform(0, p.pattern_shift_cm)))
    return SampleVariation(tuple(folds), tilt, shift)


def drape(
    variation: SampleVariation,
    coords: GarmentCoordinates,
    shoulder_width: float,
    parameters: VariationParameters = PARAMETERS,
) -> np.ndarray:
    """The sample's folds in log light (float32, 0 away from them) at every pixel of ``coords``.

    Softened by a hundredth of the shoulders, so a ring round a sleeve fades out where the sleeve meets
    the torso rather than stopping at a line.
    """
    field = np.zeros(coords.u.shape, np.float32)
    for fold in variation.folds:
        du, dv = coords.u - fold.u, coords.v - fold.v
        cos, sin = np.cos(fold.angle), np.sin(fold.angle)
        along = du * cos + dv * sin
        across = (dv * cos - du * sin) / fold.width
        near = (np.abs(along) < fold.length) & (np.abs(across) < 4)
        if not near.any():
            continue
        # A ridge: lit on one side of its crest, shaded on the other, fading out towards its ends.
        profile = across[near] * np.exp(0.5 - 0.5 * across[near] ** 2)
        envelope = np.exp(-((along[near] / (0.5 * fold.length)) ** 2))
        field[near] += (fold.strength * profile * envelope).astype(np.float32)
    return blur(field, parameters.soften * shoulder_width) if field.any() else field


def key_light(variation: SampleVariation, coords: GarmentCoordinates, shoulder_width: float) -> np.ndarray:
    """The sample's key light as a multiplier around 1: brighter on one side and towards the top or bottom."""
    across, down = variation.light_tilt
    sw = max(shoulder_width, 1.0)
    centred_along = coords.along / sw - 0.6  # about the middle of the torso
    return np.exp(across * coords.across / sw + down * np.clip(centred_along, -1.5, 2.5)).astype(np.float32)

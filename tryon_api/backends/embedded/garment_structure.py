"""What a garment is made of besides cloth: an open front over an inner layer, with lapels."""

from __future__ import annotations

import numpy as np

from tryon_api.backends.embedded.garment_coordinates import GarmentCoordinates
from tryon_api.backends.embedded.garment_regions import BodyGeometry
from tryon_api.garments.description import GarmentItem


def front_opening(
    coords: GarmentCoordinates, geometry: BodyGeometry, outer: GarmentItem
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the inner garment shows through an open or V-cut outer layer: (opening, lapel, edge distance px)."""
    sw = geometry.shoulder_width
    length = max(geometry.hip_y - geometry.neck_base_y, sw)
    t = np.clip(coords.along / length, 0, 2)
    buttoned = outer.noun in ("blazer", "suit", "waistcoat", "vest", "tuxedo") and "open" not in outer.fit
    if buttoned:
        half = np.clip(0.24 * sw * (1 - t / 0.62), 0, None)
    else:
        half = 0.2 * sw + 0.05 * sw * np.clip(1 - t / 0.25, 0, 1)
    gap = half - np.abs(coords.across)
    opening = (gap > 0) & (coords.along > -0.05 * sw) & ~coords.on_arm
    lapel_width = 0.085 * sw
    lapel = (gap <= 0) & (gap > -lapel_width) & (t < 0.5) & (coords.along > -0.02 * sw) & ~coords.on_arm
    return opening, lapel, gap

"""The tuning of ``dressing``: how the new garment's layers, collar and outline are put together.

Apart from dressing.py so that ``parameters.PreviewParameters`` can name it without importing the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayeringParameters:
    """How the layers meet: an open front over the inner layer, the collar's light, the new outline
    (lengths in shoulder widths unless said otherwise)."""

    edge_soft: float = 0.8  # px: the garment's edge over the skin
    collar_outline: float = 0.45  # a collar's creases and rim darken it this much
    collar_light_most: float = 1.1  # the most a collar is lit, relative to the garment beside it
    inner_shadow: float = 0.5  # the open outer layer's shadow on the inner one, at its edge
    inner_shadow_reach: float = 0.03
    lapel_light: float = 1.1  # lapels catch the light ...
    lapel_roll: float = 0.3  # ... less where they roll over
    lapel_roll_at: float = 0.085  # the roll line's distance from the opening's edge
    lapel_roll_width: float = 0.008
    front_edge: float = 0.35  # the outer layer's front edge darkened this much
    front_edge_width: float = 0.006
    cardigan_v: float = 0.42  # of the torso's length: where a cardigan's V closes
    neck_reach: float = 0.02  # the painted neck reaches this far into the matte's soft edge
    fold_bend: tuple[float, float] = (0.4, 1.2)  # cm a pattern drifts across and down per unit of a fold
    cut_grow: float = 0.012  # of the image's longer side: removed old clothes grown by this
    cut_contour: float = 0.012  # the cut's outline across the shoulders is rounded at this scale
    neck_corners: float = 2.5  # ... and this many times more where the neck meets the jaw and shoulders


LAYERING = LayeringParameters()

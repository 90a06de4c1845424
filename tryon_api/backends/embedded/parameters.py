"""All of the preview's tuning in one value: each stage's named parameters, defaults as tuned.

Each stage keeps its own frozen dataclass beside its code (``ShadingParameters`` in shading.py, ...),
so one effect can be read and changed without reading the rest; ``PreviewParameters`` only bundles
them for ``render_try_on`` and ``dress_person``, e.g.
``replace(PREVIEW_DEFAULTS, studio=StudioParameters(shadow_strength=0.0))`` for a studio with no shadow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tryon_api.backends.embedded.body_shading import BodyShadingParameters
from tryon_api.backends.embedded.fabric import PatternParameters, WeaveParameters
from tryon_api.backends.embedded.fabric_rendering import FabricLightParameters
from tryon_api.backends.embedded.garment_coordinates import CoordinateParameters
from tryon_api.backends.embedded.garment_cut import CutParameters
from tryon_api.backends.embedded.garment_regions import RegionParameters
from tryon_api.backends.embedded.garment_structure import StructureParameters
from tryon_api.backends.embedded.layering import LayeringParameters
from tryon_api.backends.embedded.leg_regions import LegParameters
from tryon_api.backends.embedded.necklines import NecklineParameters
from tryon_api.backends.embedded.sample_variation import VariationParameters
from tryon_api.backends.embedded.scenes import EnvironmentParameters, StudioParameters
from tryon_api.backends.embedded.shading import ShadingParameters
from tryon_api.backends.embedded.skin_painting import SkinParameters


@dataclass(frozen=True)
class PreviewParameters:
    regions: RegionParameters = field(default_factory=RegionParameters)
    necklines: NecklineParameters = field(default_factory=NecklineParameters)
    cut: CutParameters = field(default_factory=CutParameters)
    coordinates: CoordinateParameters = field(default_factory=CoordinateParameters)
    layering: LayeringParameters = field(default_factory=LayeringParameters)
    structure: StructureParameters = field(default_factory=StructureParameters)
    skin: SkinParameters = field(default_factory=SkinParameters)
    body_shading: BodyShadingParameters = field(default_factory=BodyShadingParameters)
    shading: ShadingParameters = field(default_factory=ShadingParameters)
    patterns: PatternParameters = field(default_factory=PatternParameters)
    weaves: WeaveParameters = field(default_factory=WeaveParameters)
    cloth: FabricLightParameters = field(default_factory=FabricLightParameters)
    variation: VariationParameters = field(default_factory=VariationParameters)
    legs: LegParameters = field(default_factory=LegParameters)
    studio: StudioParameters = field(default_factory=StudioParameters)
    environment: EnvironmentParameters = field(default_factory=EnvironmentParameters)


PREVIEW_DEFAULTS = PreviewParameters()

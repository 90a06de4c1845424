"""Cut-outs on white with a ground shadow; refusing results that are not cut-outs."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from tryon_api.backends.compositing import composite_on_white, ground_shadow, require_cutout
from tryon_api.tryon.errors import UpstreamFailed


def cutout(feet_in_frame: bool) -> Image.Image:
    image = Image.new("RGBA", (200, 300), (0, 0, 0, 0))
    bottom = 260 if feet_in_frame else 300
    ImageDraw.Draw(image).rectangle((70, 40, 130, bottom), fill=(30, 120, 50, 255))
    return image


def test_subject_is_placed_on_pure_white() -> None:
    result = composite_on_white(cutout(False))
    assert result.mode == "RGB"
    assert result.getpixel((5, 5)) == (255, 255, 255)
    assert result.getpixel((100, 150)) == (30, 120, 50)


def test_ground_shadow_only_when_the_feet_are_in_the_frame() -> None:
    assert ground_shadow(cutout(False)) is None
    shadow = ground_shadow(cutout(True))
    assert shadow is not None and shadow.getpixel((100, 264)) > 0
    result = composite_on_white(cutout(True))
    below_feet = result.getpixel((100, 264))
    assert isinstance(below_feet, tuple) and max(below_feet) < 255  # a soft grey under the feet
    assert result.getpixel((5, 5)) == (255, 255, 255)


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (100, 100), (255, 0, 0)),  # no alpha at all
        Image.new("RGBA", (100, 100), (255, 0, 0, 255)),  # nothing removed
        Image.new("RGBA", (100, 100), (255, 0, 0, 0)),  # everything removed
    ],
)
def test_results_that_are_not_cutouts_are_model_failures(image: Image.Image) -> None:
    with pytest.raises(UpstreamFailed):
        require_cutout(image)

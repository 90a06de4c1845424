"""Property tests of the image intake: any bytes become a bounded RGB image or a precise 4xx/502."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tests.fuzz.strategies import FUZZ_SETTINGS, mutated_images
from tryon_api.tryon.errors import BadRequest, UnusableGarmentImage, UpstreamFailed
from tryon_api.tryon.image_intake import decode_model_image, load_garment_image, load_image
from tryon_api.tryon.interface import ImageLimits

FAST = FUZZ_SETTINGS
LIMITS = ImageLimits(max_side=512, max_pixels=512 * 512)
image_inputs = st.binary(max_size=4096) | mutated_images()


def assert_bounded_rgb(image: Image.Image) -> None:
    assert image.mode == "RGB"
    assert max(image.size) <= LIMITS.max_side
    assert image.width * image.height <= LIMITS.max_pixels
    assert LIMITS.min_aspect <= image.width / image.height <= LIMITS.max_aspect
    assert not image.info


@FAST
@given(image_inputs)
def test_any_selfie_bytes_load_or_are_refused_with_400(data: bytes) -> None:
    try:
        image = load_image(data, LIMITS)
    except BadRequest as error:
        assert error.status == 400
        assert error.message.startswith("selfie_base64 ")
    else:
        assert_bounded_rgb(image)


@FAST
@given(image_inputs)
def test_any_garment_bytes_load_or_are_refused_with_422(data: bytes) -> None:
    try:
        image = load_garment_image(data, LIMITS)
    except UnusableGarmentImage as error:
        assert error.status == 422
        assert error.message.startswith("clothing_image_url ")
    else:
        assert_bounded_rgb(image)


@FAST
@given(image_inputs)
def test_any_model_output_decodes_or_is_a_502(data: bytes) -> None:
    try:
        image = decode_model_image(data)
    except UpstreamFailed as error:
        assert error.status == 502
    else:
        assert image.mode == "RGB"

"""The decoding budget: every image we decode is checked before a pixel is, and timed while it is."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from tests.hostile_images import (
    declared_huge_heic,
    declared_huge_jpeg,
    declared_huge_webp,
    scan_bomb_jpeg,
    zero_png,
)
from tests.photos import image_bytes, selfie_jpeg
from tryon_api.tryon.errors import BadRequest, UnusableGarmentImage, UpstreamFailed, UpstreamTimeout
from tryon_api.tryon.image_intake import (
    MAX_JPEG_SCANS,
    decode_model_image,
    load_garment_image,
    load_image,
)
from tryon_api.tryon.interface import ImageLimits
from tryon_api.tryon.jpeg_structure import read_jpeg_structure

LIMITS = ImageLimits(max_side=1024, max_pixels=1024 * 1024)


def progressive(mode: str = "RGB", size: tuple[int, int] = (640, 480), **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "white" if mode != "CMYK" else (0, 0, 0, 0)).save(buffer, "JPEG", progressive=True, **options)
    return buffer.getvalue()


# --- Reading the JPEG's structure --------------------------------------------------------------


def test_libjpeg_progressive_scripts_are_counted_as_written() -> None:
    assert read_jpeg_structure(progressive("RGB")).scans == 10  # type: ignore[union-attr]
    assert read_jpeg_structure(progressive("L")).scans == 6  # type: ignore[union-attr]
    cmyk = read_jpeg_structure(progressive("CMYK"))
    assert cmyk is not None and cmyk.scans <= MAX_JPEG_SCANS and cmyk.components == 4


def test_a_baseline_jpeg_has_one_scan_and_its_frame_size() -> None:
    structure = read_jpeg_structure(image_bytes(Image.new("RGB", (300, 200), "red")))
    assert structure is not None
    assert (structure.width, structure.height, structure.scans, structure.progressive) == (300, 200, 1, False)


def test_start_of_scan_bytes_inside_a_comment_are_not_scans() -> None:
    data = progressive("L", comment=b"\xff\xda" * 50)
    assert read_jpeg_structure(data).scans == 6  # type: ignore[union-attr]


def test_only_the_first_image_of_a_file_is_counted() -> None:
    first = progressive("L")
    assert read_jpeg_structure(first + scan_bomb_jpeg((64, 64), 200)).scans == 6  # type: ignore[union-attr]


def test_the_scan_bomb_builder_makes_the_scans_it_says() -> None:
    assert read_jpeg_structure(scan_bomb_jpeg((256, 256), 300)).scans == 300  # type: ignore[union-attr]


def test_a_truncated_file_is_read_up_to_the_damage() -> None:
    data = progressive("RGB")
    assert read_jpeg_structure(data[: len(data) // 2]) is not None
    assert read_jpeg_structure(b"\xff\xd8\xff") is None


# --- Scan bombs ---------------------------------------------------------------------------------


def test_a_scan_bomb_selfie_is_a_400_naming_the_scans() -> None:
    with pytest.raises(BadRequest) as refused:
        load_image(scan_bomb_jpeg((2000, 2000), 600), LIMITS)
    assert refused.value.message == (
        f"selfie_base64 is a progressive JPEG with 600 scans: at most {MAX_JPEG_SCANS} are accepted"
    )


def test_a_scan_bomb_garment_is_a_422() -> None:
    with pytest.raises(UnusableGarmentImage) as refused:
        load_garment_image(scan_bomb_jpeg((2000, 2000), 600), LIMITS)
    assert refused.value.message.startswith("clothing_image_url is a progressive JPEG with 600 scans")


def test_a_scan_bomb_from_the_model_is_a_502() -> None:
    with pytest.raises(UpstreamFailed) as refused:
        decode_model_image(scan_bomb_jpeg((1000, 1000), 600))
    assert refused.value.message == "the image model returned an unusable image"


def test_a_progressive_photo_within_the_scan_limit_is_decoded() -> None:
    photo = Image.open(io.BytesIO(selfie_jpeg()))
    data = image_bytes(photo, progressive=True)
    assert load_image(data, LIMITS).size[0] >= 256


# --- Declared sizes the bytes cannot hold -------------------------------------------------------

DECLARED_HUGE = {
    "jpeg": declared_huge_jpeg,
    "png": zero_png,
    "webp": declared_huge_webp,
    "heic": declared_huge_heic,
}


@pytest.mark.parametrize("kind", sorted(DECLARED_HUGE))
def test_a_decompression_bomb_selfie_is_a_400_before_decoding(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = DECLARED_HUGE[kind]()
    loads: list[str] = []
    monkeypatch.setattr(Image.Image, "load", lambda self: loads.append("load"))  # nothing may be decoded
    with pytest.raises(BadRequest) as refused:
        load_image(data, LIMITS)
    assert refused.value.message.startswith("selfie_base64 declares ")
    assert refused.value.message.endswith(f"pixels in only {len(data)} bytes: not a real image")
    assert loads == []


@pytest.mark.parametrize("kind", sorted(DECLARED_HUGE))
def test_a_decompression_bomb_garment_is_a_422(kind: str) -> None:
    with pytest.raises(UnusableGarmentImage) as refused:
        load_garment_image(DECLARED_HUGE[kind](), LIMITS)
    assert refused.value.message.startswith("clothing_image_url declares ")


@pytest.mark.parametrize("kind", ["jpeg", "png", "webp"])
def test_a_decompression_bomb_from_the_model_is_a_502(kind: str) -> None:
    with pytest.raises(UpstreamFailed):
        decode_model_image(DECLARED_HUGE[kind]())


def test_over_the_pixel_limit_is_too_large_whatever_the_bytes() -> None:
    with pytest.raises(BadRequest) as refused:
        load_image(declared_huge_jpeg((8000, 6000)), LIMITS)
    assert refused.value.message == "selfie_base64 is too large: at most 40 megapixels once decoded"


def test_webp_has_a_lower_pixel_limit_for_its_three_full_size_copies() -> None:
    with pytest.raises(BadRequest) as refused:
        load_image(declared_huge_webp((5000, 5000)), LIMITS)
    assert refused.value.message == "selfie_base64 is too large: at most 20 megapixels for a WebP image"
    with pytest.raises(UpstreamFailed) as from_model:
        decode_model_image(declared_huge_webp((5000, 5000)))
    assert from_model.value.message == "the image model returned an image that is too large"


def test_a_small_flat_image_is_not_taken_for_a_bomb() -> None:
    flat = image_bytes(Image.new("L", (1900, 1900), 255), "PNG")
    assert len(flat) * 256 < 1900 * 1900  # far more pixels a byte than a photo, but under the floor
    assert load_image(flat, LIMITS).size == (1024, 1024)


# --- Time while decoding ------------------------------------------------------------------------


def test_decoding_stops_when_the_time_check_says_so() -> None:
    data = image_bytes(Image.effect_noise((2000, 1500), 60).convert("RGB"), quality=95)
    reads: list[float] = []

    def out_of_time() -> None:
        reads.append(time.monotonic())
        if len(reads) > 2:  # the header was read: the pixel data is not
            raise UpstreamTimeout("clothing_image_url did not answer in time")

    with pytest.raises(UpstreamTimeout):
        load_garment_image(data, LIMITS, check_time=out_of_time)
    assert len(reads) == 3

"""Selfie intake and response encoding, with every image built by Pillow in the test."""

from __future__ import annotations

import base64
import io
import random
import struct
import zlib

import pillow_heif
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageCms, ImageOps, ImageStat
from PIL.JpegImagePlugin import JpegImageFile
from PIL.PngImagePlugin import PngImageFile

from tests.photos import image_bytes, selfie_jpeg
from tryon_api.tryon.errors import BadRequest, UnusableGarmentImage, UpstreamFailed
from tryon_api.tryon.image_formats import sniff_format, webp_canvas_size
from tryon_api.tryon.image_intake import (
    MAX_DECODED_PIXELS,
    decode_model_image,
    fit_size,
    load_garment_image,
    load_image,
)
from tryon_api.tryon.interface import GeneratedImage, ImageLimits
from tryon_api.tryon.jpeg_structure import is_clean_progressive_jpeg
from tryon_api.tryon.response_image import encode_response_image

LIMITS = ImageLimits()
BEDROCK = ImageLimits(max_side=4096, max_pixels=9_437_184, min_side=64, min_aspect=1 / 2.5, max_aspect=2.5)
ACCEPTED = "the accepted formats are JPEG, PNG, WebP or HEIC"


def photo(size: tuple[int, int] = (600, 800)) -> Image.Image:
    """A real photo of a person (Grace Hopper) at the given size, without the file's comment."""
    image = Image.open(io.BytesIO(selfie_jpeg())).convert("RGB").resize(size)
    image.info = {}
    return image


def quadrants(size: tuple[int, int]) -> Image.Image:
    """Four colours, one per quadrant: any wrong flip or rotation changes some corner."""
    width, height = size
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 255, 0), (width // 2, 0, width, height // 2))
    image.paste((0, 0, 255), (0, height // 2, width // 2, height))
    image.paste((255, 255, 0), (width // 2, height // 2, width, height))
    return image


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height``, with a tiny IDAT: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def webp_header_only(width: int, height: int) -> bytes:
    """An extended WebP whose VP8X header claims ``width`` x ``height`` around a tiny real frame."""
    frame = image_bytes(Image.new("RGB", (16, 16), "red"), "WEBP", lossless=True)[12:]
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes(4) + (width - 1).to_bytes(3, "little")
    body = b"WEBP" + vp8x + (height - 1).to_bytes(3, "little") + frame
    return b"RIFF" + struct.pack("<I", len(body)) + body


def heic_bytes(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    pillow_heif.from_pillow(image).save(buffer, quality=85, **options)
    return buffer.getvalue()


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 29.0)
    gps[3] = "E"
    gps[4] = (2.0, 17.0, 40.0)
    return exif


# --- Accepted formats and conversions ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("JPEG", {"quality": 90}), ("PNG", {}), ("WEBP", {"quality": 90}), ("HEIF", {})],
)
@pytest.mark.timeout(600)  # HEIF encodes slowly on a busy machine
def test_accepted_formats_decode_to_rgb_within_limits(fmt: str, options: dict[str, object]) -> None:
    source = photo((900, 1200))
    data = heic_bytes(source) if fmt == "HEIF" else image_bytes(source, fmt, **options)
    assert sniff_format(data) == fmt
    image = load_image(data, LIMITS)
    assert image.mode == "RGB"
    assert image.size == (900, 1200)
    assert image.info == {}
    assert mean_difference(image, source) < 8


def test_large_selfie_is_resized_to_the_backend_limits_keeping_the_aspect_ratio() -> None:
    image = load_image(image_bytes(photo((3000, 4000)), "JPEG", quality=90), LIMITS)
    assert max(image.size) <= LIMITS.max_side
    assert image.width * image.height <= LIMITS.max_pixels
    assert abs(image.width / image.height - 0.75) < 0.01
    assert image.size == fit_size(3000, 4000, LIMITS)


def test_jpeg_is_decoded_at_reduced_size_before_resampling(monkeypatch: pytest.MonkeyPatch) -> None:
    scales: list[int] = []
    original = JpegImageFile.draft

    def spy(self: JpegImageFile, mode: str | None, size: tuple[int, int] | None) -> object:
        result = original(self, mode, size)
        scales.append(self.decoderconfig[0])
        return result

    monkeypatch.setattr(JpegImageFile, "draft", spy)
    image = load_image(image_bytes(photo((4000, 3000)), "JPEG"), LIMITS)
    assert scales == [2]  # 4000 px wide decoded at 2000 px: still more than the 1448 px target
    assert image.size == fit_size(4000, 3000, LIMITS)


def test_alpha_is_flattened_onto_white() -> None:
    source = Image.new("RGBA", (400, 400), (200, 30, 30, 255))
    source.paste((0, 0, 0, 0), (0, 0, 200, 400))  # left half fully transparent black
    image = load_image(image_bytes(source, "PNG"), LIMITS)
    assert image.mode == "RGB"
    assert image.getpixel((50, 200)) == (255, 255, 255)
    assert image.getpixel((350, 200)) == (200, 30, 30)


def test_palette_png_with_transparency_is_flattened() -> None:
    source = Image.new("P", (300, 300), 1)
    source.putpalette([0, 0, 0, 10, 120, 200] + [0] * 762)
    source.paste(0, (0, 0, 100, 300))
    image = load_image(image_bytes(source, "PNG", transparency=0), LIMITS)
    assert image.getpixel((10, 10)) == (255, 255, 255)
    assert image.getpixel((200, 10)) == (10, 120, 200)


def test_cmyk_jpeg_becomes_rgb() -> None:
    source = Image.new("CMYK", (400, 300), (0, 255, 255, 0))  # pure red in CMYK
    image = load_image(image_bytes(source, "JPEG", quality=95), LIMITS)
    assert image.mode == "RGB"
    red, green, blue = image.getpixel((200, 150))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60


def test_sixteen_bit_greyscale_png_is_scaled_to_eight_bits() -> None:
    source = Image.new("I;16", (300, 300), 40000)
    image = load_image(image_bytes(source, "PNG"), LIMITS)
    assert image.mode == "RGB"
    assert image.getpixel((5, 5)) == (156, 156, 156)  # 40000 / 256


def test_greyscale_jpeg_becomes_rgb() -> None:
    image = load_image(image_bytes(photo().convert("L"), "JPEG"), LIMITS)
    assert image.mode == "RGB"
    red, green, blue = image.getpixel((300, 400))  # type: ignore[misc]
    assert red == green == blue


def test_animated_webp_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (300, 300), colour) for colour in ((220, 20, 20), (20, 20, 220))]
    data = image_bytes(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    red, _, blue = load_image(data, LIMITS).getpixel((150, 150))  # type: ignore[misc]
    assert red > 200 and blue < 40


def test_mpo_from_a_phone_is_read_as_its_first_picture() -> None:
    first, second = photo((1200, 900)), Image.new("RGB", (1200, 900), (0, 0, 0))
    data = image_bytes(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    image = load_image(data, ImageLimits(max_side=600, max_pixels=600 * 450))
    assert image.size == (600, 450)
    assert mean_difference(image, first.resize((600, 450))) < 8


@pytest.mark.parametrize("profile", [b"not a colour profile", None])
def test_embedded_colour_profiles_never_break_intake(profile: bytes | None) -> None:
    icc = profile if profile is not None else ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = photo()
    image = load_image(image_bytes(source, "JPEG", quality=95, icc_profile=icc), LIMITS)
    assert image.info == {}
    assert mean_difference(image, source) < 4


def test_heic_with_orientation_is_rotated_once() -> None:
    source = quadrants((400, 300))
    exif = Image.Exif()
    exif[0x0112] = 6
    image = load_image(heic_bytes(source, exif=exif.tobytes()), LIMITS)
    assert image.size == (300, 400)
    assert mean_difference(image, source.transpose(Image.Transpose.ROTATE_270)) < 10


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("size", [(1600, 1000), (4000, 1000)])  # plain, and too wide: cropped as well
def test_exif_orientation_is_applied_with_draft_decoding(orientation: int, size: tuple[int, int]) -> None:
    limits = ImageLimits(max_side=400, max_pixels=400 * 400)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = image_bytes(quadrants(size), "JPEG", quality=95, exif=exif)
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    width, height = expected.size
    if width / height > limits.max_aspect:
        new_width = round(height * limits.max_aspect)
        expected = expected.crop(((width - new_width) // 2, 0, (width - new_width) // 2 + new_width, height))
    elif width / height < limits.min_aspect:
        expected = expected.crop((0, 0, width, round(width / limits.min_aspect)))
    expected = expected.resize(fit_size(*expected.size, limits), Image.Resampling.LANCZOS)
    image = load_image(data, limits)
    assert image.size == expected.size
    assert mean_difference(image, expected) < 4


def test_too_tall_selfie_keeps_the_top() -> None:
    source = Image.new("RGB", (400, 1600), (0, 0, 255))
    source.paste((255, 0, 0), (0, 0, 400, 100))
    image = load_image(image_bytes(source, "PNG"), BEDROCK)
    assert image.size == (400, 1000)  # 1:2.5
    assert image.getpixel((200, 10)) == (255, 0, 0)


# --- Refusals: status 400 with a message naming the limit ------------------------------------


def test_small_selfie_is_refused_naming_the_limit() -> None:
    with pytest.raises(BadRequest) as raised:
        load_image(image_bytes(photo((255, 400)), "JPEG"), LIMITS)
    assert raised.value.status == 400
    assert raised.value.message == "selfie_base64 is too small: the short side must be at least 256 px (it is 255 px)"


@pytest.mark.parametrize("size", [(50_000, 50_000), (8000, 5001)])
def test_decompression_bomb_is_refused_from_the_header(size: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_decode(self: PngImageFile) -> None:
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(PngImageFile, "load", must_not_decode)
    with pytest.raises(BadRequest) as raised:
        load_image(png_header_only(*size), LIMITS)
    assert raised.value.message == "selfie_base64 is too large: at most 40 megapixels once decoded"
    assert size[0] * size[1] > MAX_DECODED_PIXELS


@pytest.mark.parametrize("size", [(16_000, 16_000), (7000, 7000)])
def test_webp_bomb_header_is_refused(size: tuple[int, int]) -> None:
    with pytest.raises(BadRequest) as raised:
        load_image(webp_header_only(*size), LIMITS)
    assert raised.value.message == "selfie_base64 is too large: at most 40 megapixels once decoded"


@pytest.mark.parametrize("options", [{"quality": 80}, {"lossless": True}, {"quality": 80, "exif": b"Exif\x00\x00"}])
def test_webp_header_size_is_read_without_decoding(options: dict[str, object]) -> None:
    assert webp_canvas_size(image_bytes(Image.new("RGB", (901, 1203)), "WEBP", **options)) == (901, 1203)


def test_truncated_jpeg_is_refused() -> None:
    data = image_bytes(photo(), "JPEG")
    with pytest.raises(BadRequest) as raised:
        load_image(data[: len(data) // 2], LIMITS)
    assert raised.value.message == "selfie_base64 is a truncated or corrupt image"


def test_corrupt_png_is_refused() -> None:
    data = bytearray(image_bytes(photo(), "PNG"))
    data[200:4200] = random.Random(5).randbytes(4000)  # garbage inside the deflate stream
    with pytest.raises(BadRequest) as raised:
        load_image(bytes(data), LIMITS)
    assert raised.value.message == "selfie_base64 is a truncated or corrupt image"


@pytest.mark.parametrize(("fmt", "name"), [("TIFF", "TIFF"), ("GIF", "GIF"), ("BMP", "BMP")])
def test_other_formats_are_refused_naming_the_accepted_ones(fmt: str, name: str) -> None:
    with pytest.raises(BadRequest) as raised:
        load_image(image_bytes(photo(), fmt), LIMITS)
    assert raised.value.message == f"selfie_base64 is a {name} image: {ACCEPTED}"


def test_bytes_that_are_no_image_are_refused() -> None:
    with pytest.raises(BadRequest) as raised:
        load_image(b"hello, this is text and not a picture at all", LIMITS)
    assert raised.value.message == f"selfie_base64 is not an image we can read: {ACCEPTED}"


def test_garment_problems_are_the_urls_fault() -> None:
    with pytest.raises(UnusableGarmentImage) as raised:
        load_garment_image(image_bytes(photo(), "GIF"), BEDROCK)
    assert raised.value.status == 422
    assert raised.value.message == f"clothing_image_url is a GIF image: {ACCEPTED}"
    small = load_garment_image(image_bytes(Image.new("RGB", (64, 80), "red"), "PNG"), BEDROCK)
    assert small.size == (64, 80)


# --- Output: progressive JPEG, no metadata, always within the size limit ----------------------


def decoded_response(image_base64: str) -> tuple[bytes, Image.Image]:
    data = base64.b64decode(image_base64)
    return data, Image.open(io.BytesIO(data))


def test_gps_exif_never_reaches_the_output() -> None:
    data = image_bytes(photo(), "JPEG", exif=gps_exif(), comment=b"secret comment")
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the input does carry GPS
    person = load_image(data, LIMITS)
    assert person.info == {}
    model_output = GeneratedImage(image_bytes(person, "JPEG", exif=gps_exif(), comment=b"secret comment"), "image/jpeg")
    image_base64, mime = encode_response_image(model_output, 6_000_000)
    out, image = decoded_response(image_base64)
    assert mime == "image/jpeg"
    assert not image.getexif()
    assert b"Exif" not in out and b"PhoneMaker" not in out and b"secret comment" not in out
    assert "comment" not in image.info and "icc_profile" not in image.info
    assert image.info.get("progressive") == 1


def test_clean_progressive_jpeg_from_the_model_passes_unchanged() -> None:
    clean = image_bytes(photo(), "JPEG", quality=85, progressive=True)
    assert is_clean_progressive_jpeg(clean)
    assert base64.b64decode(encode_response_image(GeneratedImage(clean, "image/jpeg"), 6_000_000)[0]) == clean


@pytest.mark.parametrize(
    "options",
    [{"progressive": False}, {"progressive": True, "comment": b"x"}, {"progressive": True, "exif": gps_exif()}],
)
def test_jpeg_with_metadata_or_baseline_is_reencoded(options: dict[str, object]) -> None:
    data = image_bytes(photo(), "JPEG", quality=85, **options)
    assert not is_clean_progressive_jpeg(data)
    assert not is_clean_progressive_jpeg(data + b"trailing bytes")
    out, image = decoded_response(encode_response_image(GeneratedImage(data, "image/jpeg"), 6_000_000)[0])
    assert out != data
    assert is_clean_progressive_jpeg(out)
    assert image.size == (600, 800)


def test_large_response_steps_down_to_fit() -> None:
    noise = Image.effect_noise((1500, 1500), 100).convert("RGB")  # compresses badly
    png = GeneratedImage(image_bytes(noise, "PNG"), "image/png")
    limit = 300_000
    image_base64, _ = encode_response_image(png, limit)
    assert len(image_base64) <= limit
    _, image = decoded_response(image_base64)
    assert image.width < 1500
    assert image.info.get("progressive") == 1


def test_response_that_cannot_fit_is_a_model_failure() -> None:
    noise = Image.effect_noise((600, 600), 100).convert("RGB")
    with pytest.raises(UpstreamFailed):
        encode_response_image(GeneratedImage(image_bytes(noise, "PNG"), "image/png"), 2_000)


def test_unreadable_model_output_is_a_502() -> None:
    with pytest.raises(UpstreamFailed) as raised:
        decode_model_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    assert raised.value.status == 502


# --- Damaged files: the only outcomes are an RGB image or a 400 ------------------------------

_SAMPLES = {
    "JPEG": image_bytes(quadrants((320, 300)), "JPEG", quality=80, exif=gps_exif()),
    "PNG": image_bytes(quadrants((300, 320)).convert("P"), "PNG"),
    "WEBP": image_bytes(quadrants((300, 300)), "WEBP", quality=60),
    "HEIF": heic_bytes(quadrants((320, 320))),
}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(sorted(_SAMPLES)),
    cut=st.floats(min_value=0.0, max_value=1.0),
    flips=st.lists(st.tuples(st.floats(min_value=0.0, max_value=0.999), st.integers(1, 255)), max_size=6),
)
def test_damaged_files_are_an_image_or_a_400(fmt: str, cut: float, flips: list[tuple[float, int]]) -> None:
    data = bytearray(_SAMPLES[fmt])
    for where, xor in flips:
        data[int(where * len(data))] ^= xor
    damaged = bytes(data[: max(1, int(len(data) * cut))]) if cut < 1.0 else bytes(data)
    try:
        image = load_image(damaged, LIMITS)
    except BadRequest as refused:
        assert refused.message.startswith("selfie_base64 ")
    else:
        assert image.mode == "RGB"
        assert min(image.size) >= 256


@pytest.mark.parametrize(("width", "height"), [(1280, 512), (512.0, 204.8), (2560, 1024), (409.6, 1024), (1000, 2500)])
def test_fit_size_never_rounds_past_the_aspect_limits(width: float, height: float) -> None:
    limits = ImageLimits(max_side=512, max_pixels=262_144)
    new_width, new_height = fit_size(width, height, limits)
    assert max(new_width, new_height) <= 512
    assert limits.min_aspect <= new_width / new_height <= limits.max_aspect


def test_model_cutout_keeps_its_transparency_only_when_asked() -> None:
    cutout = Image.new("RGBA", (80, 80), (0, 0, 0, 0))
    cutout.paste((200, 30, 30, 255), (20, 20, 60, 60))
    data = image_bytes(cutout, "PNG")
    kept = decode_model_image(data, keep_alpha=True)
    assert kept.mode == "RGBA"
    assert kept.getpixel((0, 0))[3] == 0 and kept.getpixel((40, 40)) == (200, 30, 30, 255)
    flattened = decode_model_image(data)
    assert flattened.mode == "RGB" and flattened.getpixel((0, 0)) == (255, 255, 255)

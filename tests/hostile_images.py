"""Hostile images built in code: scan bombs, decompression bombs and declared-huge headers.

Each is made from a small image Pillow encodes, then reshaped the way an attacker would: scans
repeated, a frame header patched, or zero rows deflated. No binary file is shipped.
"""

from __future__ import annotations

import io
import re
import struct
import zlib

from PIL import Image

_ENTROPY_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of every segment of a JPEG Pillow wrote, scans with their data."""
    pos, found = 2, []
    while pos < len(data):
        marker = data[pos + 1]
        if marker == 0xD9:
            found.append((marker, pos, pos + 2))
            break
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:
            match = _ENTROPY_END.search(data, end)
            assert match is not None
            end = match.start()
        found.append((marker, pos, end))
        pos = end
    return found


def scan_bomb_jpeg(size: tuple[int, int] = (6000, 6000), scans: int = 5000, mode: str = "L") -> bytes:
    """A progressive JPEG whose last refinement scan is repeated: every copy walks the whole image."""
    buffer = io.BytesIO()
    Image.new(mode, size, 128).save(buffer, "JPEG", progressive=True, quality=90)
    data = buffer.getvalue()
    sos = [segment for segment in _segments(data) if segment[0] == 0xDA]
    _, start, end = sos[-1]
    return data[:end] + data[start:end] * (scans - len(sos)) + b"\xff\xd9"


def declared_huge_jpeg(size: tuple[int, int] = (6300, 6300)) -> bytes:
    """A few hundred bytes of progressive CMYK JPEG whose frame header declares ``size``.

    The headers, the first scan of an 8x8 image and the end-of-image marker: libjpeg treats the
    missing data as zeros, so it fills the whole image's coefficients (about 300 MB at
    6300x6300) and decodes a blank picture.
    """
    buffer = io.BytesIO()
    Image.new("CMYK", (8, 8), (0, 0, 0, 0)).save(buffer, "JPEG", progressive=True, quality=50)
    data = bytearray(buffer.getvalue())
    segments = _segments(bytes(data))
    _, sof, _ = next(s for s in segments if s[0] == 0xC2)
    data[sof + 5 : sof + 9] = struct.pack(">HH", size[1], size[0])
    _, _, first_scan_end = next(s for s in segments if s[0] == 0xDA)
    return bytes(data[:first_scan_end]) + b"\xff\xd9"


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def zero_png(size: tuple[int, int] = (6000, 6000)) -> bytes:
    """A valid 8-bit RGB PNG of all-zero pixels: deflate at its limit, about 1000 to 1."""
    width, height = size
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + 3 * width)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def declared_huge_webp(size: tuple[int, int] = (4000, 4000)) -> bytes:
    """A small lossless WebP whose header declares ``size`` (libwebp sizes its canvas from it)."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, "WEBP", lossless=True)
    data = bytearray(buffer.getvalue())
    assert data[12:16] == b"VP8L"
    bits = int.from_bytes(data[21:25], "little")
    bits = (bits & ~0xFFFFFFF) | (size[0] - 1) | ((size[1] - 1) << 14)
    data[21:25] = bits.to_bytes(4, "little")
    return bytes(data)


def declared_huge_heic(size: tuple[int, int] = (6000, 6000)) -> bytes:
    """A small HEIC whose image spatial extents ('ispe') declare ``size``."""
    import pillow_heif

    image = pillow_heif.from_pillow(Image.new("RGB", (64, 64), (30, 30, 200)))
    buffer = io.BytesIO()
    image.save(buffer, quality=50)
    data = bytearray(buffer.getvalue())
    at = data.find(b"ispe")
    assert at > 0
    data[at + 8 : at + 16] = struct.pack(">II", *size)
    return bytes(data)

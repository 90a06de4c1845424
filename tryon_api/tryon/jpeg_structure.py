"""What a JPEG's marker segments say, read before any pixel is: the cost of decoding it (intake)
and whether it is a clean progressive JPEG that may be answered as it is (the response image).

A progressive JPEG is decoded scan by scan, and every scan walks the coefficients of the whole
image: a file of tiny, repeated refinement scans (a "scan bomb") costs minutes of CPU for a few
hundred kilobytes. Counting the start-of-scan (SOS) markers is cheap: every segment is skipped by
its length, and entropy-coded data is skipped to the next marker (a 0xFF byte in it is always
stuffed as FF 00 or is a restart marker, so no other FF xx pair can appear there).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

_SOI: Final = b"\xff\xd8"
_EOI: Final = 0xD9
_SOS: Final = 0xDA
_FILL: Final = 0xFF
_APP0: Final = 0xE0
_SOF2: Final = 0xC2
# A bare JFIF APP0 segment: identifier, version, units, densities and a 0x0 thumbnail (14 bytes).
_JFIF_PAYLOAD_BYTES: Final = 14
# What else a clean progressive JPEG holds: DHT, DQT, DRI and SOS segments.
_CLEAN_TABLES_AND_SCANS: Final = frozenset({0xC4, 0xDB, 0xDD, 0xDA})
# Start-of-frame markers: C0-CF except DHT (C4), JPG (C8) and DAC (CC).
_SOF: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_PROGRESSIVE_SOF: Final = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
# Markers without a length: TEM and the restart markers.
_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})
# The end of entropy-coded data: 0xFF followed by anything but a stuffed zero, a restart marker or fill.
_ENTROPY_END: Final = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


@dataclass(frozen=True)
class Segment:
    marker: int
    start: int  # the offset of its 0xFF
    payload: bytes = b""  # what follows its length field (nothing for a marker without one)


@dataclass(frozen=True)
class JpegStructure:
    """The first image's frame header and scan count (an MPO's further images are not decoded)."""

    width: int
    height: int
    components: int
    progressive: bool
    scans: int


def jpeg_segments(data: bytes) -> Iterator[Segment]:
    """Every marker of the first image, in order, up to and including EOI (the one walker of JPEG
    markers). Fill bytes come as marker 0xFF. The walk stops early at damage: a byte where a marker
    should be, a length that runs past the end, a scan whose data never ends. A caller tells a whole
    file from a damaged one by whether EOI came last, and where."""
    if not data.startswith(_SOI):
        return
    pos, size = 2, len(data)
    while pos + 2 <= size:
        if data[pos] != 0xFF:
            return
        marker = data[pos + 1]
        if marker == _FILL:
            yield Segment(marker, pos)
            pos += 1
            continue
        if marker == _EOI or marker in _STANDALONE:
            yield Segment(marker, pos)
            if marker == _EOI:
                return
            pos += 2
            continue
        if pos + 4 > size:
            return
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2 or pos + 2 + length > size:
            return
        yield Segment(marker, pos, data[pos + 4 : pos + 2 + length])
        pos += 2 + length
        if marker == _SOS:
            match = _ENTROPY_END.search(data, pos)
            if match is None:
                return  # truncated inside the scan's data
            pos = match.start()


def read_jpeg_structure(data: bytes) -> JpegStructure | None:
    """The first image's frame and scan count; None when there is no frame header to read.

    A truncated or malformed file gives what was read up to the damage: the decoder reports the
    damage itself, and nothing past it can cost decoding work.
    """
    frame: tuple[int, int, int, bool] | None = None
    scans = 0
    for segment in jpeg_segments(data):
        payload = segment.payload
        if segment.marker in _SOF and frame is None and len(payload) >= 6:
            height = int.from_bytes(payload[1:3], "big")
            width = int.from_bytes(payload[3:5], "big")
            frame = (width, height, payload[5], segment.marker in _PROGRESSIVE_SOF)
        elif segment.marker == _SOS:
            scans += 1
    if frame is None:
        return None
    width, height, components, progressive = frame
    return JpegStructure(width, height, components, progressive, scans)


def is_clean_progressive_jpeg(data: bytes) -> bool:
    """True only for a progressive 8-bit YCbCr JPEG that provably carries no metadata.

    Every segment is walked: any APPn other than a bare JFIF header, any comment, a fill byte or a
    marker out of place, or any byte after the end-of-image marker means the image must be
    re-encoded.
    """
    seen_sof = False
    for segment in jpeg_segments(data):
        marker, payload = segment.marker, segment.payload
        if marker == _EOI:
            return seen_sof and segment.start + 2 == len(data)
        if marker == _APP0:
            if len(payload) != _JFIF_PAYLOAD_BYTES or not payload.startswith(b"JFIF\x00"):
                return False
        elif marker == _SOF2:
            if len(payload) < 6 or payload[0] != 8 or payload[5] != 3:
                return False
            seen_sof = True
        elif marker not in _CLEAN_TABLES_AND_SCANS:
            return False
    return False

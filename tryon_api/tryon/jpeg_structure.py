"""What a JPEG's marker segments say about the cost of decoding it, read before any pixel is.

A progressive JPEG is decoded scan by scan, and every scan walks the coefficients of the whole
image: a file of tiny, repeated refinement scans (a "scan bomb") costs minutes of CPU for a few
hundred kilobytes. Counting the start-of-scan (SOS) markers is cheap: every segment is skipped by
its length, and entropy-coded data is skipped to the next marker (a 0xFF byte in it is always
stuffed as FF 00 or is a restart marker, so no other FF xx pair can appear there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_SOI: Final = b"\xff\xd8"
_EOI: Final = 0xD9
_SOS: Final = 0xDA
# Start-of-frame markers: C0-CF except DHT (C4), JPG (C8) and DAC (CC).
_SOF: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_PROGRESSIVE_SOF: Final = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
# Markers without a length: TEM and the restart markers.
_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})
# The end of entropy-coded data: 0xFF followed by anything but a stuffed zero, a restart marker or fill.
_ENTROPY_END: Final = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


@dataclass(frozen=True)
class JpegStructure:
    """The first image's frame header and scan count (an MPO's further images are not decoded)."""

    width: int
    height: int
    components: int
    progressive: bool
    scans: int


def read_jpeg_structure(data: bytes) -> JpegStructure | None:
    """Walk the markers of the first image; None when there is no frame header to read.

    A truncated or malformed file gives what was read up to the damage: the decoder reports the
    damage itself, and nothing past it can cost decoding work.
    """
    if not data.startswith(_SOI):
        return None
    pos, size = 2, len(data)
    frame: tuple[int, int, int, bool] | None = None
    scans = 0
    while pos + 2 <= size:
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == _EOI:
            break
        if marker in _STANDALONE:
            pos += 2
            continue
        if pos + 4 > size:
            break
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            break
        if marker in _SOF and frame is None and pos + 10 <= size:
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            frame = (width, height, data[pos + 9], marker in _PROGRESSIVE_SOF)
        pos += 2 + length
        if marker == _SOS:
            scans += 1
            match = _ENTROPY_END.search(data, pos)
            if match is None:
                break  # truncated inside the scan's data
            pos = match.start()
    if frame is None:
        return None
    width, height, components, progressive = frame
    return JpegStructure(width, height, components, progressive, scans)

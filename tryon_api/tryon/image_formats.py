"""What an image's first bytes say: the accepted formats, the refused ones we can name, WebP's size.

Sniffing picks the one decoder to try; HEIC's decoder (pillow-heif) is registered with Pillow
the first time a HEIC arrives, since most containers never see one.
"""

from __future__ import annotations

from typing import Final

from tryon_api.per_container import PerContainer

_HEIF_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)


def _register_heif_opener() -> bool:
    import pillow_heif

    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
    return True


heif_opener: PerContainer[bool] = PerContainer(_register_heif_opener)


def sniff_format(data: bytes) -> str | None:
    """The accepted format the magic bytes announce (Pillow's format name), else None."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def refused_format_name(data: bytes) -> str | None:
    """Name a recognisable format we refuse, so the message can say what was sent."""
    head = data[:16]
    known = (
        (b"II*\x00", "TIFF"),
        (b"MM\x00*", "TIFF"),
        (b"GIF87a", "GIF"),
        (b"GIF89a", "GIF"),
        (b"BM", "BMP"),
        (b"\x00\x00\x01\x00", "ICO"),
        (b"8BPS", "PSD"),
        (b"%PDF", "PDF"),
        (b"\xff\x0a", "JPEG XL"),
        (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
        (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    )
    for magic, name in known:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        return "AVIF"
    if head.lstrip()[:5].lower() in (b"<?xml", b"<svg "):
        return "SVG"
    return None


def webp_canvas_size(data: bytes) -> tuple[int, int] | None:
    """The canvas size a WebP header declares (libwebp sizes its buffers from it on open)."""
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(data) >= 30:
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    return None

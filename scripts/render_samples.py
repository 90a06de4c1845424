"""Render the embedded backend's contact sheet: both bundled photos x descriptions x both modes.

    python scripts/render_samples.py --out docs/samples

Writes one JPEG per photo (a row per description, studio and environment side by side, the
original first) plus one for a garment image drawn by code, each kept under 400 KB.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.photos import ASTRONAUT, GRACE_HOPPER
from tryon_api.backends.embedded import try_on

DESCRIPTIONS = [
    "Black leather jacket with white t-shirt underneath",
    "navy and white striped t-shirt",
    "red and black plaid flannel shirt",
    "charcoal pinstriped suit",
    "emerald green cable knit sweater",
    "mustard yellow floral blouse",
    "orange waterproof hiking anorak",
]
TILE = 300
MAX_BYTES = 400_000


def demo_garment() -> Image.Image:
    """A garment photo built by code: a teal t-shirt with a white-and-coral print, on white."""
    image = Image.new("RGB", (420, 440), (246, 246, 244))
    draw = ImageDraw.Draw(image)
    body = [
        (130, 30),
        (290, 30),
        (400, 120),
        (345, 175),
        (310, 145),
        (310, 420),
        (110, 420),
        (110, 145),
        (75, 175),
        (20, 120),
    ]
    draw.polygon(body, fill=(20, 120, 130))
    draw.ellipse((180, 20, 240, 60), fill=(246, 246, 244))
    draw.ellipse((165, 120, 255, 210), fill=(245, 110, 90))
    draw.rectangle((150, 225, 270, 250), fill=(250, 250, 250))
    return image


def label(tile: Image.Image, text: str) -> Image.Image:
    draw = ImageDraw.Draw(tile)
    font = ImageFont.load_default()
    draw.rectangle((0, tile.height - 16, tile.width, tile.height), fill=(0, 0, 0))
    draw.text((4, tile.height - 14), text[:48], fill=(255, 255, 255), font=font)
    return tile


def fit(image: Image.Image) -> Image.Image:
    return image.resize((TILE, round(TILE * image.height / image.width)), Image.Resampling.LANCZOS)


def save_small(image: Image.Image, path: Path) -> None:
    for quality in (85, 78, 70, 62, 55):
        image.save(path, "JPEG", quality=quality, optimize=True)
        if path.stat().st_size < MAX_BYTES:
            return


def sheet(photo: Image.Image, rows: list[tuple[str, Image.Image | None]], seed: int) -> Image.Image:
    first = fit(photo)
    tile_h = first.height
    canvas = Image.new("RGB", (3 * TILE, len(rows) * tile_h), "white")
    for index, (description, garment) in enumerate(rows):
        canvas.paste(
            label(
                fit(garment) if garment is not None and index == 0 else fit(photo),
                "original" if garment is None else "garment image",
            ),
            (0, index * tile_h),
        )
        for column, mode in enumerate(("studio", "environment"), start=1):
            result = try_on(photo, description, mode=mode, seed=seed + index, garment=garment)
            tile = fit(result.image)
            canvas.paste(label(tile, f"{mode}: {description}"), (column * TILE, index * tile_h))
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/samples"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for name, path in (("astronaut", ASTRONAUT), ("grace_hopper", GRACE_HOPPER)):
        photo = Image.open(path).convert("RGB")
        image = sheet(photo, [(d, None) for d in DESCRIPTIONS], seed=1)
        save_small(image, args.out / f"contact-sheet-{name}.jpg")
    garment = demo_garment()
    photo = Image.open(GRACE_HOPPER).convert("RGB")
    astronaut = Image.open(ASTRONAUT).convert("RGB")
    top = sheet(photo, [("teal t-shirt", garment)], seed=5)
    bottom = sheet(astronaut, [("teal t-shirt", garment)], seed=6)
    canvas = Image.new("RGB", (3 * TILE, top.height + bottom.height), "white")
    canvas.paste(top, (0, 0))
    canvas.paste(bottom, (0, top.height))
    save_small(canvas, args.out / "contact-sheet-garment-image.jpg")
    for file in sorted(args.out.glob("*.jpg")):
        print(f"{file}  {file.stat().st_size // 1024} KB")
    print(f"rendered in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()

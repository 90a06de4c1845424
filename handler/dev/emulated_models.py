"""Real image operations standing in for the hosted models inside the loopback emulator.

They are crude but honest: each one really changes the pixels the way its model would (a cut-out
against the border colour, a recoloured clothing region, a painted scene in the transparent
area, a colour/pattern reading of a garment photo), so tests can check what came back.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image, ImageFilter

PALETTE: dict[str, tuple[int, int, int]] = {
    "black": (25, 25, 28),
    "white": (240, 240, 236),
    "grey": (128, 128, 128),
    "gray": (128, 128, 128),
    "red": (190, 30, 40),
    "burgundy": (110, 20, 40),
    "blue": (35, 70, 170),
    "navy": (25, 35, 80),
    "denim": (70, 100, 150),
    "green": (40, 130, 60),
    "olive": (100, 110, 50),
    "yellow": (235, 200, 40),
    "orange": (235, 120, 30),
    "purple": (110, 50, 150),
    "pink": (235, 130, 170),
    "brown": (110, 70, 40),
    "beige": (215, 195, 160),
}
# Vertical span of each clothing class, as fractions of the person's height from the top.
REGIONS: dict[str, tuple[float, float]] = {
    "top": (0.28, 0.72),
    "outerwear": (0.26, 0.78),
    "bottom": (0.55, 1.0),
    "dress": (0.28, 1.0),
    "full_outfit": (0.26, 1.0),
}
SEARCH_WORDS: dict[str, tuple[str, ...]] = {
    "bottom": ("trousers", "pants", "jeans", "skirt", "shorts", "bottom"),
    "dress": ("dress", "gown"),
    "full_outfit": ("outfit", "clothing", "clothes", "suit"),
    "outerwear": ("jacket", "coat", "blazer", "outerwear", "cardigan", "hoodie"),
}


def encode(image: Image.Image, output_format: str) -> bytes:
    buffer = io.BytesIO()
    if output_format == "jpeg":
        image.convert("RGB").save(buffer, "JPEG", quality=92)
    elif output_format == "webp":
        image.save(buffer, "WEBP", quality=92)
    else:
        image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def named_colour(text: str, seed: int = 0) -> tuple[int, int, int]:
    """The first palette colour named in ``text``; else one chosen by hashing the text and seed."""
    for word in text.lower().replace(",", " ").replace(".", " ").split():
        if word in PALETTE:
            return PALETTE[word]
    digest = hashlib.sha256(f"{text}|{seed}".encode()).digest()
    return digest[0], digest[1], digest[2]


def foreground_mask(rgb: np.ndarray) -> np.ndarray:
    """0..1 mask of what differs from every main colour of the image's border (the subject)."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.uint8)
    strip = Image.fromarray(border[None, :, :]).quantize(colors=8, method=Image.Quantize.MEDIANCUT)
    palette = np.array((strip.getpalette() or [])[: 3 * 8], dtype=np.float32).reshape(-1, 3)
    counts = np.bincount(np.asarray(strip).ravel(), minlength=len(palette))
    main = palette[counts >= max(4, border.shape[0] // 50)]
    small = np.asarray(Image.fromarray(rgb).reduce(2), dtype=np.float32)
    distance = np.min(np.linalg.norm(small[:, :, None, :] - main[None, None, :, :], axis=3), axis=2)
    mask = Image.fromarray(((distance > 45) * 255).astype(np.uint8)).resize((rgb.shape[1], rgb.shape[0]))
    mask = mask.filter(ImageFilter.MedianFilter(7)).filter(ImageFilter.GaussianBlur(1.5))
    return np.asarray(mask, dtype=np.float32) / 255.0


def remove_background(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    if image.mode == "RGBA" and np.asarray(image.getchannel("A")).min() < 255:
        return rgba  # already cut out
    mask = foreground_mask(np.asarray(image.convert("RGB")))
    rgba.putalpha(Image.fromarray((mask * 255).astype(np.uint8)))
    return rgba


def clothing_class(search_prompt: str) -> str:
    words = search_prompt.lower()
    if "lower body" in words:
        return "bottom"
    if "upper body" in words:
        return "top"
    for garment_class, names in SEARCH_WORDS.items():
        if any(name in words for name in names):
            return garment_class
    return "top"


def search_and_replace(image: Image.Image, search_prompt: str, prompt: str, seed: int) -> Image.Image:
    """Recolour the clothing region named by ``search_prompt`` to the colour ``prompt`` names."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    person = foreground_mask(rgb.astype(np.uint8))
    rows = np.where(person.max(axis=1) > 0.5)[0]
    if rows.size == 0:
        return image.convert("RGB")  # nothing found to replace: the model returns the input
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    start, end = REGIONS[clothing_class(search_prompt)]
    region = np.zeros_like(person)
    span = bottom - top
    region[top + int(start * span) : top + int(end * span)] = 1.0
    region *= person
    luminance = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    selected = luminance[region > 0.5]
    shade = luminance / (float(np.median(selected)) if selected.size else 128.0)
    colour = np.array(named_colour(prompt, seed), dtype=np.float32)
    dressed = np.clip(colour * np.clip(shade, 0.2, 1.8)[..., None], 0, 255)
    out = rgb * (1 - region[..., None]) + dressed * region[..., None]
    return Image.fromarray(out.astype(np.uint8))


def paint_scene(size: tuple[int, int], prompt: str, seed: int) -> np.ndarray:
    """A seeded scene: a street (sky, facades, road) or an office (wall, windows, desk)."""
    width, height = size
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    text = prompt.lower()
    if "street" in text or "city" in text or "urban" in text:
        scene = (1 - y) * np.array([150, 185, 225], np.float32) + y * np.array([205, 215, 225], np.float32)
        scene = np.repeat(scene, width, axis=1)
        x = 0
        while x < width:
            w = int(rng.integers(width // 8 + 1, width // 3 + 2))
            roof = int(height * rng.uniform(0.1, 0.45))
            scene[roof : int(height * 0.8), x : x + w] = rng.integers(90, 200, size=3)
            x += w
        scene[int(height * 0.8) :] = (70, 70, 75)
    else:
        scene = np.full((height, width, 3), (222, 214, 198), np.float32)
        for _ in range(3):
            left = int(rng.integers(0, max(1, width - width // 4)))
            top = int(height * rng.uniform(0.05, 0.3))
            scene[top : top + height // 4, left : left + width // 5] = (185, 210, 235)
        scene[int(height * 0.72) :] = (120, 85, 55)
    return scene


def inpaint(image: Image.Image, mask: Image.Image | None, prompt: str, seed: int) -> Image.Image:
    """Fill the masked (white) or transparent area with the scene the prompt names."""
    rgba = image.convert("RGBA")
    if mask is not None:
        strength = np.asarray(mask.convert("L").resize(rgba.size), dtype=np.float32) / 255.0
    else:
        strength = 1.0 - np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0
    rgb = np.asarray(rgba.convert("RGB"), dtype=np.float32)
    scene = paint_scene(rgba.size, prompt, seed)
    out = rgb * (1 - strength[..., None]) + scene * strength[..., None]
    return Image.fromarray(out.astype(np.uint8))


def describe_garment(image: Image.Image) -> str:
    """What a vision model would say about a garment photo: colour, pattern, brightness."""
    rgb = np.asarray(image.convert("RGB"))
    mask = foreground_mask(rgb) > 0.5
    pixels = rgb[mask] if mask.sum() > 100 else rgb.reshape(-1, 3)
    centre = np.median(pixels, axis=0)
    colour = min(PALETTE, key=lambda name: float(np.linalg.norm(np.array(PALETTE[name]) - centre)))
    luminance = pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    pattern = "solid" if float(luminance.std()) < 30 else "patterned"
    return (
        f"Colour: {colour}. Pattern: {pattern}. Material: woven fabric with a matte finish. "
        f"Cut: regular fit. Details: {pattern} {colour} garment photographed on a plain background."
    )

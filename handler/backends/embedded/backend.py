"""A first embedded backend: background separation, garment recolouring keeping the shading.

Honest and simple: the person is separated from a mostly plain background by its distance to
the border colour, the clothing region is the person below the neck line, recoloured to the
described colour with the photo's own luminance, then placed on white or on a painted scene.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

from handler.deadline import Deadline
from handler.models import GeneratedImage, GenerationInput, ImageLimits

COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (25, 25, 28),
    "white": (240, 240, 236),
    "grey": (128, 128, 128),
    "gray": (128, 128, 128),
    "red": (190, 30, 40),
    "blue": (35, 70, 170),
    "navy": (25, 35, 80),
    "green": (40, 130, 60),
    "yellow": (235, 200, 40),
    "orange": (235, 120, 30),
    "purple": (110, 50, 150),
    "pink": (235, 130, 170),
    "brown": (110, 70, 40),
    "beige": (215, 195, 160),
    "denim": (70, 100, 150),
    "olive": (100, 110, 50),
}


def describe_colour(description: str) -> tuple[int, int, int]:
    words = [w.strip(".,;:!").lower() for w in description.split()]
    for word in words:
        if word in COLOURS:
            return COLOURS[word]
    return COLOURS["navy"]


def person_mask(rgb: np.ndarray) -> np.ndarray:
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.float32)
    background = np.median(border, axis=0)
    distance = np.linalg.norm(rgb.astype(np.float32) - background, axis=2)
    mask = Image.fromarray(((distance > 40) * 255).astype(np.uint8))
    mask = mask.filter(ImageFilter.MedianFilter(5)).filter(ImageFilter.GaussianBlur(1.5))
    return np.asarray(mask, dtype=np.float32) / 255.0


class EmbeddedTryOnBackend:
    name = "embedded"
    input_limits = ImageLimits(max_side=1024, max_pixels=1024 * 1024)

    def generate(self, job: GenerationInput, deadline: Deadline) -> GeneratedImage:
        rgb = np.asarray(job.person, dtype=np.float32)
        height, _width, _ = rgb.shape
        mask = person_mask(rgb.astype(np.uint8))
        rows = np.where(mask.max(axis=1) > 0.5)[0]
        top = rows[0] if rows.size else 0
        neck = int(top + 0.3 * (height - top))
        clothing = mask.copy()
        clothing[:neck] = 0
        luminance = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        region = luminance[clothing > 0.5]
        shade = luminance / (np.median(region) if region.size else 128.0)
        colour = np.array(describe_colour(job.clothing_description), dtype=np.float32)
        dressed = np.clip(colour * shade[..., None], 0, 255)
        out = rgb * (1 - clothing[..., None]) + dressed * clothing[..., None]
        if job.mode == "studio":
            scene = np.full_like(rgb, 255.0)
        else:
            y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
            scene = (1 - y) * np.array([150, 180, 210], np.float32) + y * np.array([120, 110, 100], np.float32)
            scene = np.broadcast_to(scene, rgb.shape)
        final = out * mask[..., None] + scene * (1 - mask[..., None])
        buffer = io.BytesIO()
        Image.fromarray(final.astype(np.uint8)).save(buffer, "PNG")
        return GeneratedImage(buffer.getvalue(), "image/png")

"""What a garment is made of besides cloth: an open front over an inner layer, plackets, buttons, zips, cords.

Drawn where the description names the kind: a jacket, blazer or coat opens down the front over
an inner layer (a white t-shirt when none is named); a cardigan shows the inner layer in a V and
buttons below it; shirts and polos have a buttoned placket; zip-ups, anoraks and the like a zip
from the collar to the hem; a hoodie its drawstrings. Simple, but the kinds look different.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tryon_api.backends.embedded.garment_coordinates import GarmentCoordinates
from tryon_api.backends.embedded.garment_regions import BodyGeometry
from tryon_api.garments.colours import lookup_colour
from tryon_api.garments.description import GarmentItem

OPEN_FRONT_NOUNS = (
    "jacket",
    "blazer",
    "coat",
    "overcoat",
    "trench coat",
    "peacoat",
    "topcoat",
    "suit",
    "tuxedo",
    "shacket",
    "overshirt",
    "kimono",
    "bolero",
    "shrug",
    "vest",
    "waistcoat",
    "gilet",
    "cape",
)
ZIP_NOUNS = ("anorak", "windbreaker", "parka", "puffer", "bomber", "fleece", "raincoat", "tracksuit")
BUTTONED_NOUNS = ("blazer", "suit", "waistcoat", "vest", "tuxedo")
PLACKET_NOUNS = ("shirt", "dress shirt", "oxford shirt", "polo", "polo shirt", "rugby shirt", "henley")


@dataclass(frozen=True)
class StructureParameters:
    """Openings, plackets, buttons, zips and cords (lengths in shoulder widths)."""

    cardigan_opening: float = 0.17  # the V's half width at the neck
    cardigan_close: float = 0.42  # of the torso's length where it closes
    buttoned_opening: float = 0.24  # a buttoned jacket's opening at the neck ...
    buttoned_close: float = 0.62  # ... closing this far down the torso
    open_front: float = 0.2  # an open jacket's half opening, wider by open_front_flare at the neck
    open_front_flare: float = 0.05
    lapel_width: float = 0.085
    line_width: float = 0.004  # seams and cords are drawn this thin (at least a pixel)
    placket: float = 0.03  # the placket's half width
    placket_seam: float = 0.35  # its seams darken this much
    button_spacing: float = 0.12
    button_radius: float = 0.014
    short_placket: float = 0.14  # per button: a polo's or henley's placket length
    zip_teeth: float = 0.012  # the zip's teeth spacing
    zip_pull: float = 0.05  # the pull's length
    cord_spread: float = 0.055  # drawstrings hang this far from the centre ...
    cord_sway: float = 0.02  # ... swaying out this much more
    cord_length: float = 0.24


STRUCTURE = StructureParameters()


@dataclass(frozen=True)
class GarmentStructure:
    """Which structure the garment shows, from its kind."""

    opening: bool = False  # an open front over an inner layer
    cardigan: bool = False  # the opening closes in a V, buttoned below it
    buttons: int = 0  # buttons down a placket (0: none)
    zip: bool = False
    drawstrings: bool = False
    inner: GarmentItem | None = None  # the inner layer, named or implied


def garment_structure(outer: GarmentItem | None, inner: GarmentItem | None) -> GarmentStructure:
    if outer is None:
        return GarmentStructure()
    zipped = "zip-up" in outer.fit or outer.noun in ZIP_NOUNS
    drawstrings = outer.noun == "hoodie" or "hooded" in outer.fit
    layered = outer.garment_class in ("outerwear", "full_outfit")
    if layered and outer.noun == "cardigan" and not zipped:
        return GarmentStructure(opening=True, cardigan=True, buttons=4, inner=inner or _implied_inner(outer, "t-shirt"))
    if layered and inner is not None and not (zipped and "open" not in outer.fit):
        return GarmentStructure(opening=True, inner=inner, drawstrings=drawstrings)
    if layered and outer.noun in OPEN_FRONT_NOUNS and not zipped:
        noun = "shirt" if outer.noun in ("suit", "tuxedo", "blazer") else "t-shirt"
        return GarmentStructure(opening=True, inner=_implied_inner(outer, noun))
    if zipped:
        return GarmentStructure(zip=True, drawstrings=drawstrings)
    if outer.noun in PLACKET_NOUNS or "collared" in outer.fit:
        return GarmentStructure(buttons=2 if outer.noun.startswith("polo") or outer.noun == "henley" else 6)
    return GarmentStructure(drawstrings=drawstrings)


def _implied_inner(outer: GarmentItem, noun: str) -> GarmentItem:
    """The layer worn under an outer garment the request named alone: white, or navy under a light one."""
    light = outer.colour is not None and outer.colour.lightness > 0.8  # HLS lightness, 0..1
    colour = lookup_colour("navy" if light else "white")
    return GarmentItem(noun=noun, garment_class="top", colour=colour, materials=("cotton",), layer="inner")


def front_opening(
    coords: GarmentCoordinates,
    geometry: BodyGeometry,
    outer: GarmentItem,
    cardigan: bool = False,
    parameters: StructureParameters = STRUCTURE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the inner garment shows through an open or V-cut outer layer: (opening, lapel, edge distance px)."""
    p = parameters
    sw = geometry.shoulder_width
    length = max(geometry.hip_y - geometry.neck_base_y, sw)
    t = np.clip(coords.along / length, 0, 2)
    buttoned = outer.noun in BUTTONED_NOUNS and "open" not in outer.fit
    if cardigan:
        half = np.clip(p.cardigan_opening * sw * (1 - t / p.cardigan_close), 0, None)
    elif buttoned:
        half = np.clip(p.buttoned_opening * sw * (1 - t / p.buttoned_close), 0, None)
    else:
        half = p.open_front * sw + p.open_front_flare * sw * np.clip(1 - t / 0.25, 0, 1)
    gap = half - np.abs(coords.across)
    opening = (gap > 0) & (coords.along > -0.05 * sw) & ~coords.on_arm
    lapel_width = 0.0 if cardigan else p.lapel_width * sw
    lapel = (gap <= 0) & (gap > -lapel_width) & (t < 0.5) & (coords.along > -0.02 * sw) & ~coords.on_arm
    return opening, lapel, gap


def draw_structure(
    linear: np.ndarray,
    coords: GarmentCoordinates,
    geometry: BodyGeometry,
    structure: GarmentStructure,
    start_along: float,
    parameters: StructureParameters = STRUCTURE,
) -> np.ndarray:
    """Plackets, buttons, a zip or drawstrings drawn onto the garment's linear colour (HxWx3, a crop).

    ``start_along`` is where the front opening ends (px below the neck's base): the placket begins there.
    """
    p = parameters
    sw = geometry.shoulder_width
    px = max(1.0, p.line_width * sw)
    across, along = coords.across, coords.along
    front = ~coords.on_arm & (along > start_along)
    length = max(geometry.hip_y - geometry.neck_base_y, sw) * 1.2
    out = linear
    if structure.buttons or structure.cardigan:
        band = p.placket * sw
        stop = start_along + (p.short_placket * sw * structure.buttons if structure.buttons < 4 else length)
        along_band = front & (along < stop)
        seams = np.exp(-(((np.abs(across) - band) / px) ** 2)) * along_band
        centre_seam = np.exp(-((across / px) ** 2)) * along_band * 0.6
        out = out * (1 - p.placket_seam * np.maximum(seams, centre_seam))[..., None]
        spacing = p.button_spacing * sw
        count = structure.buttons or 5
        for k in range(count):
            y = start_along + (0.5 + k) * spacing
            if y > stop:
                break
            out = _button(out, across, along - y, p.button_radius * sw, front)
    if structure.zip:
        tape = np.exp(-((across / (2.5 * px)) ** 2)) * front
        teeth = 0.5 + 0.5 * np.cos(2 * np.pi * along / max(2.0, p.zip_teeth * sw))
        metal = np.array([0.45, 0.45, 0.47], np.float32)
        zip_line = np.clip(tape * (0.55 + 0.45 * teeth), 0, 1)
        out = out * (1 - 0.85 * zip_line[..., None]) + metal * (0.5 * zip_line * teeth)[..., None]
        pull = (np.abs(across) < 0.012 * sw) & (along > start_along) & (along < start_along + p.zip_pull * sw)
        out = np.where(pull[..., None], metal * 0.8, out)
    if structure.drawstrings:
        for side in (-1, 1):
            sway = side * (p.cord_spread * sw + p.cord_sway * sw * np.clip((along - start_along) / (0.25 * sw), 0, 1))
            end = start_along + p.cord_length * sw
            cord = np.exp(-(((across - sway) / (1.3 * px)) ** 2)) * front * (along < end)
            tip_rows = (along > start_along + 0.2 * sw) & (along < end)
            tip = (np.abs(across - sway) < 2 * px) & tip_rows
            shade = np.where(tip, 0.6, 1.0)
            colour = np.array([0.8, 0.8, 0.78], np.float32) * shade[..., None]
            out = out * (1 - cord[..., None]) + colour * cord[..., None]
    return out.astype(np.float32)


def _button(linear: np.ndarray, across: np.ndarray, along: np.ndarray, radius: float, where: np.ndarray) -> np.ndarray:
    """A round button: darker than the cloth, its rim in shadow, a small highlight at its top."""
    distance = np.hypot(across, along)
    disc = np.clip((radius - distance) + 0.5, 0, 1) * where
    if not disc.any():
        return linear
    rim = np.exp(-(((distance - radius) / max(1.0, 0.2 * radius)) ** 2)) * where
    highlight = np.exp(-((np.hypot(across + 0.3 * radius, along + 0.35 * radius) / (0.35 * radius)) ** 2)) * disc
    body = linear * 0.55 + 0.02
    out = linear * (1 - disc[..., None]) + body * disc[..., None]
    out = out * (1 - 0.4 * rim[..., None]) + 0.25 * highlight[..., None]
    return out

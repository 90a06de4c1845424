"""Colour names: the CSS and fashion colour tables, modifiers (light, dark, pastel...) and lookup.

>>> lookup_colour("dark olive").rgb
(57, 64, 23)
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

from tryon_api.garments.vocabulary import match_phrase, words_of

RGB = tuple[int, int, int]


def _hex(value: str) -> RGB:
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


# CSS / X11 colour names (spaces where a reader would write them), then fashion names.
_CSS = """
aliceblue f0f8ff|antique white faebd7|aqua 00ffff|aquamarine 7fffd4|azure f0ffff|beige d8c8a8|bisque ffe4c4
black 1b1b1d|blanched almond ffebcd|blue 2850b4|blue violet 8a2be2|brown 7a4a2a|burlywood deb887
cadet blue 5f9ea0|chartreuse 7fff00|chocolate 5c3a21|coral ff7f50|cornflower blue 6495ed|cornsilk fff8dc
crimson dc143c|cyan 00c8d8|dark blue 00008b|dark cyan 008b8b|dark goldenrod b8860b|dark gray a9a9a9
dark grey a9a9a9|dark green 006400|dark khaki bdb76b|dark magenta 8b008b|dark olive green 556b2f
dark orange ff8c00|dark orchid 9932cc|dark red 8b0000|dark salmon e9967a|dark sea green 8fbc8f
dark slate blue 483d8b|dark slate gray 2f4f4f|dark slate grey 2f4f4f|dark turquoise 00ced1
dark violet 9400d3|deep pink ff1493|deep sky blue 00bfff|dim gray 696969|dim grey 696969
dodger blue 1e90ff|firebrick b22222|floral white fffaf0|forest green 228b22|fuchsia e0209a
gainsboro dcdcdc|ghost white f8f8ff|gold e6b422|goldenrod daa520|gray 808080|grey 808080|green 2e7d32
green yellow adff2f|honeydew f0fff0|hot pink ff69b4|indian red cd5c5c|indigo 3f2a7a|ivory f6f2e4
khaki c3b091|lavender b8a8dc|lavender blush fff0f5|lawn green 7cfc00|lemon chiffon fffacd
light blue add8e6|light coral f08080|light cyan e0ffff|light goldenrod fafad2|light gray d3d3d3
light grey d3d3d3|light green 90ee90|light pink ffb6c1|light salmon ffa07a|light sea green 20b2aa
light sky blue 87cefa|light slate gray 778899|light slate grey 778899|light steel blue b0c4de
light yellow ffffe0|lime 32cd32|lime green 32cd32|magenta c2187a|maroon 6b1a1e
medium aquamarine 66cdaa|medium blue 0000cd|medium orchid ba55d3|medium purple 9370db
medium sea green 3cb371|medium slate blue 7b68ee|medium spring green 00fa9a|medium turquoise 48d1cc
medium violet red c71585|midnight blue 191970|mint cream f5fffa|misty rose ffe4e1|moccasin ffe4b5
navajo white ffdead|navy 1f2a4a|old lace fdf5e6|olive 6b6b2a|olive drab 6b8e23|orange f07f1e
orange red ff4500|orchid da70d6|pale goldenrod eee8aa|pale green 98fb98|pale turquoise afeeee
pale violet red db7093|papaya whip ffefd5|peach puff ffdab9|peru cd853f|pink f2a0b8|plum 6e3a5e
powder blue b0e0e6|purple 6a2c91|rebecca purple 663399|red c0232c|rosy brown bc8f8f|royal blue 2a52be
saddle brown 8b4513|salmon fa8072|sandy brown f4a460|sea green 2e8b57|seashell fff5ee|sienna a0522d
silver c0c0c0|sky blue 87ceeb|slate blue 6a5acd|slate gray 708090|slate grey 708090|snow fffafa
spring green 00ff7f|steel blue 4682b4|tan c8a878|teal 1b7a7a|thistle d8bfd8|tomato ff6347
turquoise 40e0d0|violet 8f5fc8|wheat f5deb3|white f4f4f2|white smoke f5f5f5|yellow f2cc30
yellow green 9acd32
"""

_FASHION = """
navy blue 1f2a4a|burgundy 722331|wine 6a1f2e|oxblood 4a1a1c|cherry a01c2c|cherry red a01c2c
scarlet d0252a|ruby 9b1b30|brick 9c4030|brick red 9c4030|rust a8481e|terracotta c0603e|copper b0663a
bronze 8c6a3a|camel c19a6b|cognac 9a5b2c|caramel b07a45|chestnut 7b3f22|mocha 6f4e3a|espresso 3b2a22
coffee 5a3e2b|taupe 8b7d6b|stone b8ae9c|sand d2bf9b|oatmeal d8cbb1|ecru e6dcc3|cream efe6d0
off white ede9e0|bone e3dac9|eggshell efe9d9|champagne e8d6b0|nude d9b69a|blush e7b7b5
dusty rose c08a8e|rose d8788c|mauve a77b91|lilac b9a0cf|lavender purple 9b7fc0|periwinkle 8c9ae0
charcoal 36393d|charcoal grey 36393d|charcoal gray 36393d|graphite 44474b|slate 5a6470|pewter 8e9092
ash b2b2ae|heather grey a8a8a8|heather gray a8a8a8|light heather grey c8c8c6|stone grey 9a968c
jet black 111112|onyx 1e1e20|ink 1c2233|midnight 1b2038|cobalt 1f4fb0|cobalt blue 1f4fb0
sapphire 1e3f8a|electric blue 1f6fff|royal 2a52be|cerulean 2a7ab0|azure blue 2f7fd0|ice blue cfe3f0
baby blue a7c7e7|denim blue 3d5a80|indigo blue 2e3b6e|petrol 1e4f5c|petrol blue 1e4f5c
teal blue 1f6f80|aqua blue 3fb8c8|mint a8e0c0|mint green a8e0c0|sage 9aae8c|sage green 9aae8c
emerald 1f7a4d|emerald green 1f7a4d|jade 2f8f6a|kelly green 2e9a3e|bottle green 1d4a2c
hunter green 2f4a30|army green 4b5320|military green 4b5320|olive green 6b6b2a|khaki green 8a8a5c
lime green 32cd32|neon green 39ff14|chartreuse green 7fbf20|pistachio b7c98e|moss 6b7a3a
moss green 6b7a3a|mustard d0a21e|mustard yellow d0a21e|lemon f5e050|lemon yellow f5e050
canary f7df3a|canary yellow f7df3a|butter f2e3a0|butter yellow f2e3a0|ochre c0871f|amber e0a020
tangerine f28a30|apricot f2b080|peach f6c0a0|salmon pink f49a8a|coral red f0624f|coral pink f2887a
fuchsia pink e0209a|magenta pink c2187a|raspberry b3245a|berry 8e2a5a|plum purple 6e3a5e
aubergine 45213a|eggplant 45213a|grape 5a2f72|amethyst 8a5fb8|royal purple 5a2f91|violet purple 7f4fc0
gold yellow e6b422|golden e6b422|silver grey b8b8b8|gunmetal 4b5058|khaki beige c3b091|tan brown a8845a
dark brown 4a2e1c|light brown a67b5b|chocolate brown 5c3a21|walnut 5d432c|hazel 8e7618|honey c8902a
"""


def _table(*blocks: str) -> dict[str, RGB]:
    table: dict[str, RGB] = {}
    for block in blocks:
        for entry in block.replace("\n", "|").split("|"):
            entry = entry.strip()
            if entry:
                name, value = entry.rsplit(" ", 1)
                table[name] = _hex(value)
    return table


COLOURS: dict[str, RGB] = _table(_CSS, _FASHION)
"""Every colour name the parser knows (lower case, words separated by one space) -> sRGB."""

# Colours that name a neutral (no hue to match): black, white and the greys and off-whites.
_NEUTRAL_WORDS = frozenset(
    {"black", "white", "grey", "gray", "charcoal", "graphite", "silver", "ash", "pewter", "onyx", "jet", "smoke"}
)

COLOUR_MODIFIERS = (
    "light",
    "dark",
    "pastel",
    "neon",
    "pale",
    "deep",
    "bright",
    "muted",
    "dusty",
    "faded",
    "washed",
    "vivid",
    "rich",
    "soft",
    "vibrant",
    "bold",
    "dull",
    "electric",
)
_MODIFIER_ALIASES = {
    "lighter": "light",
    "darker": "dark",
    "washed out": "washed",
    "acid": "neon",
    "fluorescent": "neon",
}


def _apply_modifier(rgb: RGB, modifier: str) -> RGB:
    """Shift a colour in HLS the way a shopper means the word (light = paler, deep = darker and richer)."""
    h, lum, s = colorsys.rgb_to_hls(*(c / 255.0 for c in rgb))
    if modifier == "light":
        lum = lum + (1 - lum) * 0.45
    elif modifier == "dark":
        lum = lum * 0.6
    elif modifier == "pale":
        lum, s = lum + (1 - lum) * 0.6, s * 0.6
    elif modifier == "pastel":
        lum, s = max(lum, 0.78), min(s, 0.65)
    elif modifier in ("neon", "electric"):
        lum, s = min(max(lum, 0.5), 0.6), 1.0
    elif modifier in ("deep", "rich"):
        lum, s = lum * 0.75, min(1.0, s * 1.15)
    elif modifier in ("bright", "vivid", "vibrant", "bold"):
        lum, s = lum + (0.55 - lum) * 0.4, min(1.0, s * 1.3 + 0.1)
    elif modifier in ("muted", "dusty", "dull", "soft"):
        s = s * 0.55
    elif modifier in ("faded", "washed"):
        lum, s = lum + (1 - lum) * 0.3, s * 0.6
    r, g, b = colorsys.hls_to_rgb(h, min(1.0, max(0.0, lum)), min(1.0, max(0.0, s)))
    return round(r * 255), round(g * 255), round(b * 255)


@dataclass(frozen=True)
class NamedColour:
    """A colour as written ("light navy blue"): its base name, sRGB with modifiers applied."""

    name: str
    rgb: RGB
    modifiers: tuple[str, ...] = ()

    @property
    def phrase(self) -> str:
        return " ".join((*self.modifiers, self.name))

    @property
    def hue_degrees(self) -> float:
        h, _l, _s = colorsys.rgb_to_hls(*(c / 255.0 for c in self.rgb))
        return h * 360.0

    @property
    def lightness(self) -> float:
        """HLS lightness in 0..1."""
        return colorsys.rgb_to_hls(*(c / 255.0 for c in self.rgb))[1]

    @property
    def is_neutral(self) -> bool:
        """Black, white, greys: judged by lightness, not hue."""
        if self.name.split()[-1] in _NEUTRAL_WORDS or self.name in ("off white", "jet black", "heather grey"):
            return True
        r, g, b = self.rgb
        return max(r, g, b) - min(r, g, b) < 18


def lookup_colour(phrase: str) -> NamedColour | None:
    """A colour from a phrase such as "dark forest green" or "navy"; None when no name matches."""
    words = words_of(phrase)
    modifiers: list[str] = []
    index = 0
    while index < len(words):
        name, used = match_phrase(words, index, COLOURS)
        if name is not None:
            return make_colour(name, tuple(modifiers))
        modifier, used = match_phrase(words, index, COLOUR_WORD_MODIFIERS)
        if modifier is not None:
            modifiers.append(COLOUR_WORD_MODIFIERS[modifier])
            index += used
        else:
            index += 1
    return None


def make_colour(name: str, modifiers: tuple[str, ...]) -> NamedColour:
    rgb = COLOURS[name]
    for modifier in modifiers:
        rgb = _apply_modifier(rgb, modifier)
    return NamedColour(name=name, rgb=rgb, modifiers=modifiers)


COLOUR_WORD_MODIFIERS: dict[str, str] = {m: m for m in COLOUR_MODIFIERS} | _MODIFIER_ALIASES

"""Understanding a free-text clothing description: garments, colours, materials, patterns, layers.

Pure Python (no numpy) so that every backend can use it: the embedded backend renders from it,
the Bedrock backend builds its prompts from it. The result is a frozen, typed value; the public
API (``parse_description``, ``GarmentDescription``, ``GarmentItem``, ``NamedColour``,
``lookup_colour``, ``COLOURS``) is stable.

    >>> d = parse_description("Black leather jacket with white t-shirt underneath")
    >>> d.primary.noun, d.primary.colour.name, d.primary.materials, d.garment_class
    ('jacket', 'black', ('leather',), 'outerwear')
"""

from __future__ import annotations

import colorsys
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

GarmentClass = Literal["top", "bottom", "dress", "outerwear", "full_outfit"]
Layer = Literal["outer", "inner", "single"]
Style = Literal["formal", "casual", "sporty", "outdoor"]

RGB = tuple[int, int, int]


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


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
    words = _words(phrase)
    modifiers: list[str] = []
    index = 0
    while index < len(words):
        name, used = _match(words, index, COLOURS)
        if name is not None:
            return _make_colour(name, tuple(modifiers))
        modifier, used = _match(words, index, _MODIFIERS)
        if modifier is not None:
            modifiers.append(_MODIFIERS[modifier])
            index += used
        else:
            index += 1
    return None


def _make_colour(name: str, modifiers: tuple[str, ...]) -> NamedColour:
    rgb = COLOURS[name]
    for modifier in modifiers:
        rgb = _apply_modifier(rgb, modifier)
    return NamedColour(name=name, rgb=rgb, modifiers=modifiers)


_MODIFIERS: dict[str, str] = {m: m for m in COLOUR_MODIFIERS} | _MODIFIER_ALIASES

# Garment nouns -> (canonical noun, class, weight). Weight orders layers: the heavier one is outside.
_NOUNS: dict[str, tuple[str, GarmentClass, int]] = {}


def _nouns(garment_class: GarmentClass, weight: int, entries: str) -> None:
    for entry in entries.split(","):
        entry = entry.strip()
        written, _, canonical = entry.partition("=")
        _NOUNS[written.strip()] = (canonical.strip() or written.strip(), garment_class, weight)


_nouns(
    "top",
    1,
    "shirt, t shirt=t-shirt, tshirt=t-shirt, tee=t-shirt, tees=t-shirt, blouse, top, tank top, tank,"
    " camisole, cami, polo, polo shirt, crop top, tunic, bodysuit, henley, button down=shirt, button up=shirt,"
    " dress shirt, oxford shirt, kurta, sports bra, bra, singlet, undershirt, tube top, halter top, bralette,"
    " rugby shirt, flannel=shirt, jersey, shirts=shirt, blouses=blouse, tops=top",
)
_nouns(
    "top",
    2,
    "sweater, jumper, pullover, hoodie, hoody=hoodie, sweatshirt, turtleneck, crewneck=sweater, fleece,"
    " sweaters=sweater, hoodies=hoodie, knit=sweater",
)
_nouns(
    "outerwear",
    3,
    "cardigan, vest, waistcoat, gilet, shacket, overshirt, kimono, shrug, bolero",
)
_nouns(
    "outerwear",
    4,
    "jacket, blazer, suit jacket=blazer, sport coat=blazer, sports coat=blazer, bomber, bomber jacket=jacket,"
    " windbreaker, anorak, denim jacket=jacket, leather jacket=jacket, biker jacket=jacket, varsity jacket=jacket,"
    " jackets=jacket, blazers=blazer, field jacket=jacket, trucker jacket=jacket",
)
_nouns(
    "outerwear",
    5,
    "coat, overcoat, trench, trench coat=trench coat, parka, puffer, puffer jacket=puffer, raincoat, mac,"
    " peacoat, pea coat=peacoat, duffle coat=coat, poncho, cape, topcoat, coats=coat, down jacket=puffer",
)
_nouns(
    "bottom",
    0,
    "jeans, trousers, pants, shorts, skirt, leggings, chinos, joggers, sweatpants, slacks, culottes,"
    " cargo pants=cargo pants, cargos=cargo pants, track pants=track pants, mini skirt=skirt, miniskirt=skirt,"
    " maxi skirt=skirt, pencil skirt=skirt, skirts=skirt, bermudas=shorts",
)
_nouns(
    "dress",
    1,
    "dress, gown, sundress, maxi dress=dress, midi dress=dress, mini dress=dress, shirt dress=dress,"
    " slip dress=dress, wrap dress=dress, romper, playsuit, sari, saree=sari, kaftan, caftan=kaftan, frock=dress,"
    " dresses=dress, pinafore",
)
_nouns(
    "full_outfit",
    2,
    "suit, tuxedo, tux=tuxedo, tracksuit, track suit=tracksuit, jumpsuit, overalls, dungarees, pantsuit,"
    " outfit, uniform, boilersuit, boiler suit=boilersuit, co ord=co-ord, coord=co-ord, scrubs, onesie",
)

# Things on a garment, not garments: a colour next to them is an accent, never the garment's colour.
_DETAIL_WORDS = _wordset(
    "buttons button zipper zip trim collar collars pocket pockets logo logos embroidery print prints accents accent"
    " details detail lining cuffs cuff stitching piping lapels lapel hood belt patch patches sleeves stripe stripes"
    " dots spots checks letters lettering text graphic graphics"
)

MATERIALS: dict[str, str] = {
    "leather": "leather",
    "faux leather": "leather",
    "vegan leather": "leather",
    "denim": "denim",
    "jean": "denim",
    "chambray": "denim",
    "silk": "silk",
    "silky": "silk",
    "wool": "wool",
    "woolen": "wool",
    "woollen": "wool",
    "merino": "wool",
    "cashmere": "wool",
    "tweed": "tweed",
    "knit": "knit",
    "knitted": "knit",
    "cable knit": "knit",
    "chunky knit": "knit",
    "ribbed": "knit",
    "crochet": "knit",
    "linen": "linen",
    "cotton": "cotton",
    "poplin": "cotton",
    "jersey": "jersey",
    "velvet": "velvet",
    "velour": "velvet",
    "satin": "satin",
    "sateen": "satin",
    "suede": "suede",
    "nubuck": "suede",
    "corduroy": "corduroy",
    "cord": "corduroy",
    "fleece": "fleece",
    "flannel": "flannel",
    "chiffon": "chiffon",
    "lace": "lace",
    "nylon": "nylon",
    "polyester": "nylon",
    "sequin": "sequin",
    "sequined": "sequin",
    "sequinned": "sequin",
    "glitter": "sequin",
    "metallic": "metallic",
    "shiny": "satin",
    "canvas": "canvas",
    "mesh": "mesh",
    "tulle": "tulle",
    "organza": "tulle",
    "quilted": "quilted",
    "padded": "quilted",
    "down": "quilted",
    "puffy": "quilted",
    "waterproof": "nylon",
    "gore tex": "nylon",
    "lycra": "jersey",
    "spandex": "jersey",
    "terry": "cotton",
    "twill": "cotton",
    "sherpa": "fleece",
    "shearling": "fleece",
    "fur": "fur",
    "faux fur": "fur",
    "vinyl": "leather",
    "pvc": "leather",
    "latex": "leather",
}

PATTERNS: dict[str, str] = {
    "striped": "striped",
    "stripes": "striped",
    "stripe": "striped",
    "stripy": "striped",
    "stripey": "striped",
    "breton": "striped",
    "pinstripe": "pinstriped",
    "pinstriped": "pinstriped",
    "pin striped": "pinstriped",
    "pinstripes": "pinstriped",
    "plaid": "plaid",
    "tartan": "plaid",
    "buffalo check": "plaid",
    "buffalo plaid": "plaid",
    "checked": "checked",
    "check": "checked",
    "checks": "checked",
    "checkered": "checked",
    "chequered": "checked",
    "checkerboard": "checked",
    "gingham": "checked",
    "windowpane": "checked",
    "polka dot": "polka dot",
    "polka dots": "polka dot",
    "polka dotted": "polka dot",
    "polkadot": "polka dot",
    "dotted": "polka dot",
    "dots": "polka dot",
    "spotted": "polka dot",
    "spots": "polka dot",
    "floral": "floral",
    "flowered": "floral",
    "flowery": "floral",
    "flower print": "floral",
    "flowers": "floral",
    "botanical": "floral",
    "hawaiian": "floral",
    "camo": "camo",
    "camouflage": "camo",
    "houndstooth": "houndstooth",
    "dogtooth": "houndstooth",
    "herringbone": "herringbone",
    "paisley": "paisley",
    "leopard": "leopard",
    "leopard print": "leopard",
    "cheetah": "leopard",
    "animal print": "leopard",
    "zebra": "zebra",
    "zebra print": "zebra",
    "tie dye": "tie-dye",
    "tie dyed": "tie-dye",
    "argyle": "argyle",
    "geometric": "geometric",
    "graphic": "graphic",
    "logo": "graphic",
    "printed": "graphic",
    "colour block": "colour block",
    "color block": "colour block",
    "colorblock": "colour block",
    "colourblock": "colour block",
}

FITS: dict[str, str] = {
    "oversized": "oversized",
    "oversize": "oversized",
    "loose": "loose",
    "loose fit": "loose",
    "relaxed": "loose",
    "baggy": "loose",
    "boxy": "boxy",
    "slim": "slim",
    "slim fit": "slim",
    "fitted": "slim",
    "skinny": "slim",
    "tight": "slim",
    "tailored": "tailored",
    "cropped": "cropped",
    "crop": "cropped",
    "long": "long",
    "longline": "long",
    "maxi": "long",
    "midi": "midi",
    "mini": "short",
    "short": "short",
    "long sleeve": "long-sleeve",
    "long sleeved": "long-sleeve",
    "long sleeves": "long-sleeve",
    "longsleeve": "long-sleeve",
    "short sleeve": "short-sleeve",
    "short sleeved": "short-sleeve",
    "short sleeves": "short-sleeve",
    "sleeveless": "sleeveless",
    "strapless": "sleeveless",
    "tank": "sleeveless",
    "three quarter sleeve": "three-quarter-sleeve",
    "v neck": "v-neck",
    "vneck": "v-neck",
    "crew neck": "crew-neck",
    "round neck": "crew-neck",
    "turtle neck": "turtleneck",
    "high neck": "turtleneck",
    "mock neck": "turtleneck",
    "collared": "collared",
    "hooded": "hooded",
    "zip up": "zip-up",
    "zip": "zip-up",
    "zipped": "zip-up",
    "button up": "buttoned",
    "buttoned": "buttoned",
    "open": "open",
    "unbuttoned": "open",
    "unzipped": "open",
    "double breasted": "double-breasted",
    "single breasted": "single-breasted",
    "high waisted": "high-waisted",
    "wide leg": "wide-leg",
    "straight leg": "straight-leg",
    "off shoulder": "off-shoulder",
    "off the shoulder": "off-shoulder",
}

# Style cues: words that suggest where the outfit belongs (the environment scene).
_STYLE_WORDS: dict[Style, frozenset[str]] = {
    "formal": _wordset(
        "suit tuxedo blazer formal business office elegant smart tie bow evening gown oxford trench"
        " overcoat waistcoat pinstriped tailored silk satin cocktail wedding corporate professional"
    ),
    "sporty": _wordset(
        "sport sports sporty athletic gym running jogging track tracksuit joggers leggings yoga training"
        " performance sweatpants jersey football basketball tennis cycling workout"
    ),
    "outdoor": _wordset(
        "hiking hike outdoor outdoors parka puffer anorak windbreaker raincoat fleece camping trail waterproof"
        " mountain quilted camo flannel gilet field utility cargo ski winter"
    ),
    "casual": _wordset(
        "casual street streetwear denim jeans t-shirt hoodie sweatshirt graphic relaxed oversized weekend"
        " everyday summer beach sundress shorts tee bomber varsity"
    ),
}

# Connectors between garments and the layering they imply.
_SPLITTERS: dict[str, str] = {
    "with": "with",
    "and": "and",
    "plus": "and",
    "over": "over",
    "atop": "over",
    "on top of": "over",
    "layered over": "over",
    "under": "under",
    "underneath": "under",
    "beneath": "under",
    "below": "under",
    "paired with": "with",
    "worn with": "with",
    "worn over": "over",
    "worn under": "under",
    "layered under": "under",
    ",": "and",
    ";": "and",
    "&": "and",
    "+": "and",
}


@dataclass(frozen=True)
class GarmentItem:
    """One garment of the request, e.g. the jacket in "jacket over a t-shirt"."""

    noun: str
    garment_class: GarmentClass
    colour: NamedColour | None = None
    materials: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    fit: tuple[str, ...] = ()
    layer: Layer = "single"
    secondary_colours: tuple[NamedColour, ...] = ()
    words: str = ""

    @property
    def phrase(self) -> str:
        """A normalised short phrase, e.g. "light blue striped linen shirt" (for prompts and logs)."""
        parts = [*self.fit, self.colour.phrase if self.colour else "", *self.patterns, *self.materials, self.noun]
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class GarmentDescription:
    """The whole request: its garments, the class of the request and a style for the scene."""

    text: str
    items: tuple[GarmentItem, ...]
    garment_class: GarmentClass
    style: Style

    @property
    def primary(self) -> GarmentItem | None:
        """The garment that dominates the visible torso: the outer layer over a top, else the first torso item."""
        torso = [i for i in self.items if i.garment_class != "bottom"]
        for item in torso:
            if item.layer == "outer":
                return item
        if torso:
            return torso[0]
        return self.items[0] if self.items else None

    @property
    def inner(self) -> GarmentItem | None:
        """The garment seen under the outer layer (the t-shirt under an open jacket), if any."""
        return next((i for i in self.items if i.layer == "inner"), None)

    @property
    def bottom(self) -> GarmentItem | None:
        return next((i for i in self.items if i.garment_class == "bottom"), None)


_TOKEN = re.compile(r"[a-z0-9]+|[,;&+]")


def _words(text: str) -> list[str]:
    text = text.lower().replace("’", "'")
    return _TOKEN.findall(text)


_MAX_PHRASE = 4


def _match(words: list[str], index: int, table: Mapping[str, object]) -> tuple[str | None, int]:
    """The longest phrase of ``table`` starting at ``words[index]``: (key, words used) or (None, 0)."""
    for length in range(min(_MAX_PHRASE, len(words) - index), 0, -1):
        phrase = " ".join(words[index : index + length])
        if phrase in table:
            return phrase, length
    return None, 0


# Colours a garment has when the text names only its material or kind ("denim jacket", "jeans").
_IMPLIED_COLOURS: dict[str, str] = {
    "denim": "denim blue",
    "leather": "black",
    "suede": "tan",
    "tweed": "taupe",
    "corduroy": "camel",
    "linen": "oatmeal",
    "fur": "cream",
    "chinos": "khaki",
    "trench coat": "khaki",
    "tuxedo": "black",
    "camo": "army green",
    "jeans": "denim blue",
}
_IMPLIED_MATERIALS: dict[str, str] = {"jeans": "denim", "puffer": "quilted", "fleece": "fleece"}


def implied_colour(item: GarmentItem) -> NamedColour | None:
    """The stated colour, else the usual one for the material or kind (denim -> denim blue), else None."""
    if item.colour is not None:
        return item.colour
    for key in (item.noun, *item.patterns, *item.materials):
        if key in _IMPLIED_COLOURS:
            return _make_colour(_IMPLIED_COLOURS[key], ())
    return None


@dataclass
class _Segment:
    """The words between two connectors, sorted by kind while reading."""

    nouns: list[tuple[str, GarmentClass, int, str]]
    colours: list[NamedColour]
    materials: list[str]
    patterns: list[str]
    fits: list[str]
    words: list[str]
    trailing: str | None = None  # a connector ending the text ("... with a t-shirt underneath")


def _new_segment() -> _Segment:
    return _Segment([], [], [], [], [], [])


def _classify(words: list[str]) -> tuple[list[_Segment], list[str]]:
    """Split the words into segments at connectors; return the segments and the connectors between them."""
    segments = [_new_segment()]
    connectors: list[str] = []
    modifiers: list[str] = []
    index = 0
    while index < len(words):
        current = segments[-1]
        candidates: list[tuple[int, int, str, str]] = []  # (length, -priority, kind, key)
        tables: tuple[tuple[str, Mapping[str, object]], ...] = (
            ("split", _SPLITTERS),
            ("noun", _NOUNS),
            ("colour", COLOURS),
            ("pattern", PATTERNS),
            ("fit", FITS),
            ("material", MATERIALS),
            ("modifier", _MODIFIERS),
        )
        for priority, (kind, table) in enumerate(tables):
            key, used = _match(words, index, table)
            if key is not None:
                candidates.append((used, -priority, kind, key))
        if not candidates:
            if words[index] not in ("a", "an", "the", "in", "of", "some", "my", "is", "it", "colour", "color"):
                modifiers.clear()
            current.words.append(words[index])
            index += 1
            continue
        used, _, kind, key = max(candidates)
        current.words.extend(words[index : index + used])
        index += used
        if kind == "split":
            connectors.append(_SPLITTERS[key])
            segments.append(_new_segment())
        elif kind == "modifier":
            modifiers.append(_MODIFIERS[key])
            continue
        elif kind == "noun":
            noun, garment_class, weight = _NOUNS[key]
            current.nouns.append((noun, garment_class, weight, key))
        elif kind == "colour":
            next_word = words[index] if index < len(words) else ""
            if next_word not in _DETAIL_WORDS or next_word in PATTERNS:
                current.colours.append(_make_colour(key, tuple(dict.fromkeys(modifiers))))
        elif kind == "pattern":
            current.patterns.append(PATTERNS[key])
        elif kind == "fit":
            current.fits.append(FITS[key])
        elif kind == "material":
            current.materials.append(MATERIALS[key])
        modifiers.clear()
    # A connector at the very end ("with a white t-shirt underneath") describes the last segment.
    while len(segments) > 1 and not segments[-1].words[len(segments[-1].words) :] and _is_empty(segments[-1]):
        segments.pop()
        segments[-1].trailing = connectors.pop()
    return segments, connectors


def _is_empty(segment: _Segment) -> bool:
    return not (segment.nouns or segment.colours or segment.materials or segment.patterns or segment.fits)


def _merge(into: _Segment, extra: _Segment, extra_first: bool) -> None:
    if extra_first:
        into.colours[:0] = extra.colours
        into.materials[:0] = extra.materials
        into.patterns[:0] = extra.patterns
        into.fits[:0] = extra.fits
        into.words[:0] = extra.words
    else:
        into.colours.extend(extra.colours)
        into.materials.extend(extra.materials)
        into.patterns.extend(extra.patterns)
        into.fits.extend(extra.fits)
        into.words.extend(extra.words)


def _group(segments: list[_Segment], connectors: list[str]) -> tuple[list[_Segment], list[str]]:
    """Fold segments without a garment noun into a neighbour: "black and white striped shirt" is one shirt."""
    grouped: list[_Segment] = []
    links: list[str] = []
    pending: _Segment | None = None
    for position, segment in enumerate(segments):
        link = connectors[position - 1] if position > 0 else ""
        if not segment.nouns:
            following = segments[position + 1] if position + 1 < len(segments) else None
            forward = following is not None and following.nouns and connectors[position] == "and"
            if grouped and not forward and pending is None:
                _merge(grouped[-1], segment, extra_first=False)
            elif pending is None:
                pending = segment
            else:
                _merge(pending, segment, extra_first=False)
            continue
        if pending is not None:
            _merge(segment, pending, extra_first=True)
            pending = None
        if grouped:
            links.append(link)
        grouped.append(segment)
    if pending is not None and grouped:
        _merge(grouped[-1], pending, extra_first=False)
    return grouped, links


def _item(segment: _Segment) -> tuple[GarmentItem, int]:
    noun, garment_class, weight, _written = segment.nouns[-1]
    materials = list(segment.materials)
    for _noun, _cls, _w, written in segment.nouns:
        materials.extend(MATERIALS[word] for word in (written, *written.split()) if word in MATERIALS)
    if noun in _IMPLIED_MATERIALS:
        materials.append(_IMPLIED_MATERIALS[noun])
    fits = list(segment.fits)
    if any(n == "turtleneck" for n, _c, _w, _written in segment.nouns):  # "turtleneck sweater"
        fits.append("turtleneck")
    if noun in ("tank top", "camisole", "cami", "singlet", "tube top", "halter top"):
        fits.append("sleeveless")
    colour = segment.colours[0] if segment.colours else None
    item = GarmentItem(
        noun=noun,
        garment_class=garment_class,
        colour=colour,
        materials=tuple(dict.fromkeys(materials)),
        patterns=tuple(dict.fromkeys(segment.patterns)),
        fit=tuple(dict.fromkeys(fits)),
        secondary_colours=tuple(dict.fromkeys(segment.colours[1:])),
        words=" ".join(segment.words),
    )
    return item, weight


def _layers(items: list[tuple[GarmentItem, int]], links: list[str], segments: list[_Segment]) -> list[Layer]:
    """Which torso garment is worn outside: explicit words first ("over", "under"), then the heavier one."""
    torso = [i for i, (item, _w) in enumerate(items) if item.garment_class in ("top", "outerwear", "dress")]
    layers: list[Layer] = ["single"] * len(items)
    if len(torso) < 2:
        return layers
    score = {i: float(items[i][1]) for i in torso}
    for position, link in enumerate(links):
        left, right = position, position + 1
        if left in score and right in score:
            if link == "over":
                score[left] += 10
            elif link == "under":
                score[right] += 10
    for i in torso:
        if segments[i].trailing == "under":
            score[i] -= 10
        elif segments[i].trailing == "over":
            score[i] += 10
    outer = max(torso, key=lambda i: (score[i], -i))
    for i in torso:
        layers[i] = "outer" if i == outer else "inner"
    return layers


def _style(words: list[str], items: list[GarmentItem]) -> Style:
    vocabulary = set(words) | {item.noun for item in items} | {p for item in items for p in item.patterns}
    vocabulary |= {m for item in items for m in item.materials} | {f for item in items for f in item.fit}
    best: Style = "casual"
    best_score = 0
    for style in ("formal", "sporty", "outdoor", "casual"):
        score = len(vocabulary & _STYLE_WORDS[style])
        if score > best_score:
            best, best_score = style, score
    return best


def _request_class(items: list[GarmentItem]) -> GarmentClass:
    classes = {item.garment_class for item in items}
    if not classes:
        return "top"
    if "full_outfit" in classes or ("bottom" in classes and classes & {"top", "outerwear", "dress"}):
        return "full_outfit"
    for garment_class in ("dress", "outerwear", "top", "bottom"):
        if garment_class in classes:
            return garment_class
    return "top"


def parse_description(text: str) -> GarmentDescription:
    """Read a shopper's description into garments; a text naming no garment becomes one "top" with its colours."""
    words = _words(text)
    segments, connectors = _classify(words)
    grouped, links = _group(segments, connectors)
    if not grouped:
        merged = _new_segment()
        for segment in segments:
            _merge(merged, segment, extra_first=False)
        merged.nouns.append(("top", "top", 1, "top"))
        grouped = [merged]
    pairs = [_item(segment) for segment in grouped]
    layers = _layers(pairs, links, grouped)
    items = [
        GarmentItem(**{**item.__dict__, "layer": layer})  # frozen: rebuild with the layer
        for (item, _w), layer in zip(pairs, layers, strict=True)
    ]
    return GarmentDescription(
        text=text, items=tuple(items), garment_class=_request_class(items), style=_style(words, items)
    )

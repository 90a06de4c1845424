"""The words of clothing: garment nouns and their class, materials, patterns, fits, styles, connectors.

Pure data tables (and the small helpers that fill them), read by the description parser.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

GarmentClass = Literal["top", "bottom", "dress", "outerwear", "full_outfit"]
Layer = Literal["outer", "inner", "single"]
Style = Literal["formal", "casual", "sporty", "outdoor"]


def wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Garment nouns -> (canonical noun, class, weight). Weight orders layers: the heavier one is outside.
NOUNS: dict[str, tuple[str, GarmentClass, int]] = {}


def _nouns(garment_class: GarmentClass, weight: int, entries: str) -> None:
    for entry in entries.split(","):
        entry = entry.strip()
        written, _, canonical = entry.partition("=")
        NOUNS[written.strip()] = (canonical.strip() or written.strip(), garment_class, weight)


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
DETAIL_WORDS = wordset(
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
STYLE_WORDS: dict[Style, frozenset[str]] = {
    "formal": wordset(
        "suit tuxedo blazer formal business office elegant smart tie bow evening gown oxford trench"
        " overcoat waistcoat pinstriped tailored silk satin cocktail wedding corporate professional"
    ),
    "sporty": wordset(
        "sport sports sporty athletic gym running jogging track tracksuit joggers leggings yoga training"
        " performance sweatpants jersey football basketball tennis cycling workout"
    ),
    "outdoor": wordset(
        "hiking hike outdoor outdoors parka puffer anorak windbreaker raincoat fleece camping trail waterproof"
        " mountain quilted camo flannel gilet field utility cargo ski winter"
    ),
    "casual": wordset(
        "casual street streetwear denim jeans t-shirt hoodie sweatshirt graphic relaxed oversized weekend"
        " everyday summer beach sundress shorts tee bomber varsity"
    ),
}

# Connectors between garments and the layering they imply.
SPLITTERS: dict[str, str] = {
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

# Colours a garment has when the text names only its material or kind ("denim jacket", "jeans").
IMPLIED_COLOURS: dict[str, str] = {
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
IMPLIED_MATERIALS: dict[str, str] = {"jeans": "denim", "puffer": "quilted", "fleece": "fleece"}


TOKEN = re.compile(r"[a-z0-9]+|[,;&+]")


def words_of(text: str) -> list[str]:
    text = text.lower().replace("’", "'")
    return TOKEN.findall(text)


MAX_PHRASE = 4


def match_phrase(words: list[str], index: int, table: Mapping[str, object]) -> tuple[str | None, int]:
    """The longest phrase of ``table`` starting at ``words[index]``: (key, words used) or (None, 0)."""
    for length in range(min(MAX_PHRASE, len(words) - index), 0, -1):
        phrase = " ".join(words[index : index + length])
        if phrase in table:
            return phrase, length
    return None, 0

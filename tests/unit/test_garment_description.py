"""The description parser: tables of shopper phrases and the garments they must produce."""

from __future__ import annotations

import colorsys

import pytest

from tryon_api.garments.colours import COLOURS, lookup_colour
from tryon_api.garments.description import implied_colour, parse_description

# text -> (request class, primary noun, primary class, primary colour, primary layer)
PRIMARY_CASES = [
    ("Black leather jacket with white t-shirt underneath", "outerwear", "jacket", "outerwear", "black", "outer"),
    ("Oversized denim jacket", "outerwear", "jacket", "outerwear", None, "single"),
    ("red hoodie", "top", "hoodie", "top", "red", "single"),
    ("grey hoodie under a navy puffer jacket", "outerwear", "puffer", "outerwear", "navy", "outer"),
    ("a white shirt over a black turtleneck", "top", "shirt", "top", "white", "outer"),
    ("black turtleneck under a white shirt", "top", "shirt", "top", "white", "outer"),
    ("camel wool coat over a cream turtleneck", "outerwear", "coat", "outerwear", "camel", "outer"),
    ("emerald green silk dress", "dress", "dress", "dress", "emerald green", "single"),
    ("floral summer dress with a denim jacket", "dress", "jacket", "outerwear", None, "outer"),
    ("light blue linen shirt and khaki chinos", "full_outfit", "shirt", "top", "light blue", "single"),
    ("charcoal pinstriped suit", "full_outfit", "suit", "full_outfit", "charcoal", "single"),
    ("navy blue T-Shirt", "top", "t-shirt", "top", "navy blue", "single"),
    ("burgundy cardigan on top of a white blouse", "outerwear", "cardigan", "outerwear", "burgundy", "outer"),
    ("dark jeans", "bottom", "jeans", "bottom", None, "single"),
    ("something elegant in mustard", "top", "top", "top", "mustard", "single"),
]


@pytest.mark.parametrize(("text", "request_class", "noun", "item_class", "colour", "layer"), PRIMARY_CASES)
def test_primary_garment_of_each_description(
    text: str, request_class: str, noun: str, item_class: str, colour: str | None, layer: str
) -> None:
    description = parse_description(text)
    primary = description.primary
    assert primary is not None
    assert description.garment_class == request_class
    assert (primary.noun, primary.garment_class, primary.layer) == (noun, item_class, layer)
    assert (primary.colour.name if primary.colour else None) == colour


# text -> {noun: (materials, patterns, fit)}
DETAIL_CASES = [
    ("Black leather jacket with white t-shirt underneath", {"jacket": (("leather",), (), ()), "t-shirt": ((), (), ())}),
    ("red and black plaid flannel shirt", {"shirt": (("flannel",), ("plaid",), ())}),
    ("white t-shirt with navy stripes", {"t-shirt": ((), ("striped",), ())}),
    ("oversized cropped cable-knit sweater", {"sweater": (("knit",), (), ("oversized", "cropped"))}),
    ("pastel pink short-sleeve polo shirt", {"polo shirt": ((), (), ("short-sleeve",))}),
    ("sleeveless polka-dot satin blouse", {"blouse": (("satin",), ("polka dot",), ("sleeveless",))}),
    ("tartan wool skirt", {"skirt": (("wool",), ("plaid",), ())}),
    ("camo cargo pants", {"cargo pants": ((), ("camo",), ())}),
    ("houndstooth tweed blazer", {"blazer": (("tweed",), ("houndstooth",), ())}),
    (
        "brown suede jacket open over a velvet top",
        {"jacket": (("suede",), (), ("open",)), "top": (("velvet",), (), ())},
    ),
    ("slim fit long-sleeved gingham shirt", {"shirt": ((), ("checked",), ("slim", "long-sleeve"))}),
    ("floral print linen sundress", {"sundress": (("linen",), ("floral",), ())}),
    ("blue jeans", {"jeans": (("denim",), (), ())}),
    ("burgundy turtleneck sweater", {"sweater": ((), (), ("turtleneck",))}),
]


@pytest.mark.parametrize(("text", "expected"), DETAIL_CASES)
def test_materials_patterns_and_fit(text: str, expected: dict[str, tuple[tuple[str, ...], ...]]) -> None:
    items = {item.noun: item for item in parse_description(text).items}
    assert set(items) == set(expected)
    for noun, (materials, patterns, fit) in expected.items():
        assert items[noun].materials == materials
        assert items[noun].patterns == patterns
        assert items[noun].fit == fit


def test_two_colours_with_a_pattern_become_main_and_secondary() -> None:
    shirt = parse_description("red and black plaid flannel shirt").items[0]
    assert shirt.colour is not None and shirt.colour.name == "red"
    assert [c.name for c in shirt.secondary_colours] == ["black"]
    tee = parse_description("white t-shirt with navy stripes").items[0]
    assert tee.colour is not None and tee.colour.name == "white"
    assert [c.name for c in tee.secondary_colours] == ["navy"]


def test_colour_of_buttons_is_not_the_garment_colour() -> None:
    jacket = parse_description("jacket with gold buttons").items[0]
    assert jacket.colour is None


def test_layers_of_a_three_piece_request() -> None:
    description = parse_description("navy blazer over a white shirt with grey trousers")
    layers = {item.noun: item.layer for item in description.items}
    assert layers == {"blazer": "outer", "shirt": "inner", "trousers": "single"}
    assert description.inner is not None and description.inner.noun == "shirt"
    assert description.bottom is not None and description.bottom.noun == "trousers"
    assert description.garment_class == "full_outfit"


@pytest.mark.parametrize(
    ("text", "style"),
    [
        ("charcoal pinstriped suit", "formal"),
        ("navy blazer with a white dress shirt", "formal"),
        ("black running leggings and a neon green sports bra", "sporty"),
        ("grey tracksuit", "sporty"),
        ("orange waterproof hiking anorak", "outdoor"),
        ("red plaid flannel shirt and a quilted gilet", "outdoor"),
        ("oversized graphic t-shirt", "casual"),
        ("red hoodie", "casual"),
    ],
)
def test_style_hint_for_the_scene(text: str, style: str) -> None:
    assert parse_description(text).style == style


def _hls(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    h, lum, s = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
    return h * 360, lum, s


def test_vocabulary_has_css_and_fashion_names() -> None:
    assert len(COLOURS) > 200
    for name in ("navy", "burgundy", "maroon", "olive", "khaki", "camel", "charcoal", "cream", "ivory", "teal"):
        assert name in COLOURS
    for name in ("mustard", "rust", "emerald", "coral", "lavender", "denim blue", "navy blue", "forest green"):
        assert name in COLOURS


@pytest.mark.parametrize(
    ("phrase", "name", "hue_range"),
    [
        ("navy blue", "navy blue", (200, 250)),
        ("forest green", "forest green", (100, 140)),
        ("burgundy", "burgundy", (330, 360)),
        ("mustard", "mustard", (35, 55)),
        ("teal", "teal", (170, 190)),
        ("coral", "coral", (5, 25)),
        ("lavender", "lavender", (240, 280)),
    ],
)
def test_colour_names_have_the_right_hue(phrase: str, name: str, hue_range: tuple[int, int]) -> None:
    colour = lookup_colour(phrase)
    assert colour is not None and colour.name == name
    assert hue_range[0] <= colour.hue_degrees <= hue_range[1]
    assert not colour.is_neutral


def test_modifiers_shift_lightness_and_saturation() -> None:
    base = lookup_colour("blue")
    assert base is not None
    light, dark = lookup_colour("light blue"), lookup_colour("dark-blue")  # CSS names, not modifiers
    assert light is not None and dark is not None and light.lightness > base.lightness > dark.lightness
    pale, deep = lookup_colour("pale teal"), lookup_colour("deep teal")
    teal = lookup_colour("teal")
    assert pale is not None and deep is not None and teal is not None
    assert pale.modifiers == ("pale",) and deep.modifiers == ("deep",)
    assert pale.lightness > teal.lightness > deep.lightness
    neon, muted = lookup_colour("neon orange"), lookup_colour("muted orange")
    assert neon is not None and muted is not None
    assert _hls(neon.rgb)[2] > _hls(muted.rgb)[2]
    assert abs(neon.hue_degrees - muted.hue_degrees) < 15  # modifiers keep the hue
    pastel = lookup_colour("pastel purple")
    assert pastel is not None and pastel.lightness >= 0.75


@pytest.mark.parametrize(("phrase", "neutral"), [("black", True), ("charcoal grey", True), ("off white", True)])
def test_neutrals_are_recognised(phrase: str, neutral: bool) -> None:
    colour = lookup_colour(phrase)
    assert colour is not None and colour.is_neutral is neutral


def test_implied_colour_from_material() -> None:
    jacket = parse_description("oversized denim jacket").primary
    assert jacket is not None and jacket.colour is None
    implied = implied_colour(jacket)
    assert implied is not None and implied.name == "denim blue"
    stated = parse_description("black denim jacket").primary
    assert stated is not None
    assert implied_colour(stated) == stated.colour


def test_unknown_words_and_empty_text_still_give_one_item() -> None:
    description = parse_description("!!!")
    assert len(description.items) == 1 and description.primary is not None
    assert description.primary.colour is None
    assert lookup_colour("nothing here") is None


def test_phrase_is_normalised() -> None:
    item = parse_description("Slim, LIGHT BLUE striped linen shirt").items[0]
    assert item.phrase == "slim light blue striped linen shirt"

"""Understanding a free-text clothing description: garments, colours, materials, patterns, layers.

Pure Python (no numpy) so that every backend can use it: the embedded backend renders from it,
the Bedrock backend builds its prompts from it. The result is a frozen, typed value. The words it
knows are in ``vocabulary`` (garments, materials, patterns, fits, styles) and ``colours``.

    >>> d = parse_description("Black leather jacket with white t-shirt underneath")
    >>> d.primary.noun, d.primary.colour.name, d.primary.materials, d.garment_class
    ('jacket', 'black', ('leather',), 'outerwear')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tryon_api.garments.colours import COLOUR_WORD_MODIFIERS, COLOURS, NamedColour, make_colour
from tryon_api.garments.vocabulary import (
    DETAIL_WORDS,
    FITS,
    IMPLIED_COLOURS,
    IMPLIED_MATERIALS,
    MATERIALS,
    NOUNS,
    PATTERNS,
    SPLITTERS,
    STYLE_WORDS,
    GarmentClass,
    Layer,
    Style,
    match_phrase,
    words_of,
)


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


def implied_colour(item: GarmentItem) -> NamedColour | None:
    """The stated colour, else the usual one for the material or kind (denim -> denim blue), else None."""
    if item.colour is not None:
        return item.colour
    for key in (item.noun, *item.patterns, *item.materials):
        if key in IMPLIED_COLOURS:
            return make_colour(IMPLIED_COLOURS[key], ())
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
            ("split", SPLITTERS),
            ("noun", NOUNS),
            ("colour", COLOURS),
            ("pattern", PATTERNS),
            ("fit", FITS),
            ("material", MATERIALS),
            ("modifier", COLOUR_WORD_MODIFIERS),
        )
        for priority, (kind, table) in enumerate(tables):
            key, used = match_phrase(words, index, table)
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
            connectors.append(SPLITTERS[key])
            segments.append(_new_segment())
        elif kind == "modifier":
            modifiers.append(COLOUR_WORD_MODIFIERS[key])
            continue
        elif kind == "noun":
            noun, garment_class, weight = NOUNS[key]
            current.nouns.append((noun, garment_class, weight, key))
        elif kind == "colour":
            next_word = words[index] if index < len(words) else ""
            if next_word not in DETAIL_WORDS or next_word in PATTERNS:
                current.colours.append(make_colour(key, tuple(dict.fromkeys(modifiers))))
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
    if noun in IMPLIED_MATERIALS:
        materials.append(IMPLIED_MATERIALS[noun])
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
        score = len(vocabulary & STYLE_WORDS[style])
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
    words = words_of(text)
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

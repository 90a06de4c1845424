"""The server's own refusal, its last line when it is called directly (the API moderates before it
calls, docs/model-server.md): a description that asks to undress or sexualize the person is
answered ``{"finish_reason": "content_filtered"}`` before any GPU work.

Beyond the configured English words (``TRYON_BLOCKED_TERMS``), it refuses the built-in terms below
(nudity, undressing and sexual content in English, German, French, Spanish, Italian, Portuguese,
Dutch, Polish, Turkish, Russian, Chinese, Japanese and Korean, with their euphemisms), and reads
the description the ways people write around word lists: compatibility forms (full-width
letters), case, accents (``nüde``), zero-width characters, leetspeak (``n4ked``, ``s3x``, with
``1`` as ``i`` or ``l``), look-alike Cyrillic and Greek letters, spaced or dotted letters
(``n a k e d``), letters repeated three times or more (``naaaked``). Words match whole words and
phrases whole word sequences, so ``nudeish beige`` and ``a striped shirt`` pass. ``nude`` as a
colour (``nude heels``, ``a nude slip dress``) passes too.
"""

from __future__ import annotations

import re
import unicodedata

_LEET = str.maketrans({"0": "o", "3": "e", "4": "a", "@": "a", "5": "s", "$": "s", "7": "t", "!": "i", "|": "l"})
_LOOKALIKES = str.maketrans(
    {"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "к": "k", "і": "i", "ѕ": "s", "ј": "j",
     "ı": "i", "ν": "v", "ο": "o", "α": "a", "ε": "e", "τ": "t", "κ": "k", "ι": "i", "ρ": "p"}
)  # fmt: skip
_TOKEN = re.compile(r"[^\W\d_]+")
_REPEATS = re.compile(r"(.)\1{2,}")

BUILT_IN_TERMS = (
    # English, with the euphemisms of undressing
    "naked, nude, nudes, nudity, nudist, topless, bottomless, shirtless, unclothed, undressed, undress,"
    " undressing, disrobed, disrobe, stark naked, in the buff, birthday suit, au naturel, wearing nothing,"
    " nothing underneath, nothing under it, without clothes, without clothing, no clothes, no clothing,"
    " clothes off, take off her clothes, take off his clothes, remove her clothes, remove his clothes,"
    " remove clothes, remove clothing, strip her, strip him, strip naked, no bra, braless, without a bra,"
    " no underwear, without underwear, no panties, going commando, bare breasts, bare breasted, bare chested,"
    " sex, sexual, erotic, porn, porno, pron, xxx, nsfw, hentai, fetish, bdsm,"
    " bondage, lewd, explicit, nipple, nipples, areola, genitals, genitalia, penis, vagina, pubic, boobs, tits,"
    # German, French, Spanish, Italian, Portuguese, Dutch, Polish, Turkish, Russian
    " nackt, nackig, oben ohne, ausziehen, ausgezogen, entkleidet, ohne kleidung, ohne bh, nichts drunter,"
    " nu, nue, nus, nues, nudite, a poil, seins nus, deshabille, deshabillee, sans vetements,"
    " desnudo, desnuda, desnudos, desnudas, sin ropa, desvestida, en pelotas, nudo, nuda, nudi, senza vestiti,"
    " spogliata, svestita, nua, pelado, pelada, sem roupa, naakt, zonder kleren, nagi, naga, nago, rozebrana,"
    " ciplak, голый, голая, обнаженная, раздетая, без одежды, секс, порно"
)
BUILT_IN_SUBSTRINGS = ("裸", "ヌード", "脱衣", "色情", "乳首", "나체", "누드", "알몸")
NUDE_AS_COLOUR_NEXT = frozenset(
    [
        "color",
        "colour",
        "colored",
        "coloured",
        "tone",
        "toned",
        "shade",
        "beige",
        "pink",
        "heels",
        "heel",
        "pumps",
        "sandals",
        "shoes",
        "lipstick",
        "dress",
        "slip",
        "gown",
        "skirt",
        "top",
        "blouse",
        "shirt",
        "cardigan",
        "sweater",
        "coat",
        "trench",
        "jacket",
        "blazer",
        "tights",
        "stockings",
        "trousers",
        "pants",
    ]
)


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _term(text: str) -> str:
    return " ".join(_TOKEN.findall(_plain(text)))


def _joined(tokens: list[str]) -> list[str]:
    """Runs of three or more one-letter words joined (``n a k e d``), with and without the first."""
    out: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1:
            run.append(token)
            continue
        out.extend(("".join(run), "".join(run[1:])) if len(run) >= 3 else run)
        run = []
        if token:
            out.append(token)
    return out


def _readings(description: str) -> list[list[str]]:
    base = _plain(description)
    looks = base.translate(_LOOKALIKES)
    forms = {base, looks, looks.translate(_LEET).replace("1", "i"), looks.translate(_LEET).replace("1", "l")}
    readings = []
    for form in forms:
        tokens = _joined(_TOKEN.findall(form))
        readings.extend((tokens, [_REPEATS.sub(r"\1", token) for token in tokens]))
    return readings


def _found(words: list[str], terms: frozenset[str]) -> str | None:
    padded = f" {' '.join(words)} "
    singular = {w[:-1] for w in words if len(w) > 3 and w.endswith("s")}
    for term in terms:
        if (" " in term and f" {term} " in padded) or (" " not in term and (term in words or term in singular)):
            return term
    return None


def _nude_is_a_colour(words: list[str]) -> bool:
    uses = [i for i, word in enumerate(words) if word == "nude"]
    return bool(uses) and all(i + 1 < len(words) and words[i + 1] in NUDE_AS_COLOUR_NEXT for i in uses)


def is_refused(description: str, blocked_terms: tuple[str, ...]) -> bool:
    """True when the description asks to undress or sexualize the person: the configured terms
    and the built-in ones, however they are spelled."""
    terms = frozenset(_term(t) for t in (*blocked_terms, *BUILT_IN_TERMS.split(",")) if _term(t))
    for words in _readings(description):
        term = _found(words, terms)
        if term is None:
            continue
        if term == "nude" and _nude_is_a_colour(words) and _found(words, terms - {"nude"}) is None:
            continue
        return True
    folded = unicodedata.normalize("NFKC", description)
    return any(term in folded for term in BUILT_IN_SUBSTRINGS)

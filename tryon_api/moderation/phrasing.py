"""The local text check (no network): refuses descriptions that ask to undress or sexualize the
person, in several languages, spellings and euphemisms.

It runs first on every backend (it is free and takes microseconds), and is the only text check
where no AWS service is configured: the local chain with real weights on a workstation GPU is not
an open door. A description is read in several normalised forms, and each is matched against the
term lists of the level:

- Unicode compatibility forms (full-width letters), case, accents (``nüde``), zero-width and
  format characters removed;
- leetspeak (``n4ked``, ``s3x``, ``pr0n``; ``1`` read as ``i`` and as ``l``) and look-alike
  Cyrillic and Greek letters in Latin words (``nаked`` with a Cyrillic ``а``);
- spaced or dotted letters joined (``n a k e d``, ``n.u.d.e``), repeated letters folded
  (``naaaked``), a plural ``s`` dropped.

Words match whole tokens, phrases whole token sequences, so ``a navy suit`` never matches
``birthday suit`` and ``nudelholz`` never matches ``nude``. Scripts without spaces (Chinese,
Japanese) are matched as substrings.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from tryon_api.moderation.interface import ALLOWED, ModerationLevel, Verdict

_LEET = str.maketrans({"0": "o", "3": "e", "4": "a", "@": "a", "5": "s", "$": "s", "7": "t", "!": "i", "|": "l"})
_ONE_AS = ("i", "l")
# Cyrillic and Greek letters that look Latin (the common evasion of word lists).
_LOOKALIKES = str.maketrans(
    {"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "к": "k", "і": "i", "ѕ": "s", "ј": "j",
     "ԁ": "d", "ո": "n", "ı": "i", "ν": "v", "ο": "o", "α": "a", "ε": "e", "τ": "t", "κ": "k", "ι": "i", "ρ": "p",
     "ѵ": "v"}
)  # fmt: skip
_TOKEN = re.compile(r"[^\W\d_]+")
_REPEATS = re.compile(r"(.)\1{2,}")  # three or more: "naaaked" (two are spelling: "stripped")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def _words(text: str) -> str:
    """A term as the lists hold it: lower-case words without accents, one space apart."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(ch))
    return " ".join(_TOKEN.findall(plain))


def _fold(token: str) -> str:
    return _REPEATS.sub(r"\1", token)


def _lines(block: str) -> frozenset[str]:
    return frozenset(_words(line) for line in block.split(",") if line.strip())


# --- permissive: refused at every level --------------------------------------------------------
# Nudity, undressing and sexual content: the words, their euphemisms, in English, German, French,
# Spanish, Italian, Portuguese, Dutch, Polish, Turkish and Russian.
NUDITY = _lines(
    "naked, nude, nudes, nudity, nudist, topless, bottomless, shirtless, unclothed, undressed, undress,"
    " undressing, unclad, disrobed, disrobe, stark naked, butt naked, in the buff, birthday suit, au naturel,"
    " wearing nothing, has nothing on, with nothing on her, with nothing on him, nothing underneath,"
    " nothing under it, nothing beneath, without clothes,"
    " without clothing, no clothes, no clothing, with no clothes, clothes off, clothing optional, take off her clothes,"
    " take off his clothes, take off their clothes, remove her clothes, remove his clothes, remove the clothes,"
    " remove clothes, remove clothing, remove her top, remove his shirt, strip her, strip him, stripped, stripping,"
    " strip naked, no bra, braless, without a bra, without bra, no underwear, without underwear, no panties,"
    " going commando, free the nipple, skinny dipping, bare breasts, bare breasted, bare chested, bare chest,"
    " bare body, exposed breasts, exposed body, x ray clothes, see through everything,"
    # German
    " nackt, nackig, nacktheit, oben ohne, unten ohne, ausziehen, ausgezogen, entkleidet, entkleiden,"
    " ohne kleidung, ohne kleider, ohne bh, nichts an, nichts drunter, splitternackt, freikörperkultur, fkk,"
    # French
    " nu, nue, nus, nues, nudite, a poil, seins nus, torse nu, deshabille, deshabillee, deshabiller, devetu,"
    " devetue, sans vetements, sans habits, sans soutien gorge, rien dessous, rien en dessous,"
    # Spanish / Portuguese / Italian
    " desnudo, desnuda, desnudos, desnudas, desnudez, semidesnuda, semidesnudo, desvestida, desvestido,"
    " desvestir, sin ropa, sin sujetador, en pelotas, en bolas, nua, pelado, pelada, pelados, sem roupa,"
    " despida, despido, nudo, nuda, nudi, senza vestiti, spogliata, spogliato, svestita, svestito, senza reggiseno,"
    # Dutch / Polish / Turkish / Russian
    " naakt, bloot, uitgekleed, zonder kleren, nagi, naga, nago, rozebrana, rozebrany, bez ubrania, ciplak,"
    " soyunmus, голый, голая, голые, обнаженная, обнаженный, обнажённая, раздетая, раздетый, без одежды, нагая"
)
SEXUAL = _lines(
    "sex, sexual, sexually, sexualized, sexualised, erotic, erotica, porn, porno, pornographic, pron, xxx, nsfw,"
    " hentai, fetish, bdsm, bondage, kinky, orgasm, horny, lewd, explicit, nipple, nipples, areola, areolas,"
    " genitals, genitalia, genital, penis, vagina, vulva, pubic, crotch shot, boobs, boobies, tits, titties,"
    " onlyfans, camgirl, stripper, striptease, lap dance, pole dance outfit, aroused, sensual pose, seductive pose,"
    " provocative pose, spread legs, wet t shirt,"
    " sexuell, erotisch, brustwarzen, nippel, sexe, sexuel, sexuelle, erotique, tetons, sexo, sexual, erotico,"
    " erotica, pezones, tetas, capezzoli, tette, seios, mamilos, секс, эротика, порно, сиськи"
)
# "nude" is also a colour in fashion: "nude heels", "a nude-coloured slip dress".
NUDE_AS_COLOUR_NEXT = frozenset(
    _words(
        "color colour colored coloured tone toned shade beige pink heels heel pumps pump sandals shoes lipstick"
        " dress slip gown skirt top blouse shirt cardigan sweater coat trench jacket blazer tights stockings"
        " pantyhose trousers pants jumpsuit bodysuit mesh tulle lining"
    ).split()
)
CJK_REFUSED = ("裸", "ヌード", "脱衣", "全裸", "半裸", "色情", "性交", "乳首", "おっぱい", "脱が", "脱い",
               "나체", "누드", "알몸")  # fmt: skip

# --- conservative: also refused ----------------------------------------------------------------
INTIMATE_AND_SWIM = _lines(
    "underwear, lingerie, bra, bralette, panty, panties, knickers, thong, g string, gstring, briefs, boxers,"
    " boxer briefs, undies, negligee, babydoll, corset, bustier, garter, garter belt, suspenders belt,"
    " bodystocking, nightie, teddy lingerie, bikini, monokini, tankini, swimsuit, swimwear, bathing suit, swim trunks,"
    " swimming trunks, swim briefs, speedo, trikini, micro bikini, sheer, see through, transparent, translucent,"
    " mesh top, fishnet, sexy, cleavage, plunging, low cut, revealing, skimpy, barely there,"
    " unterwasche, dessous, bh, badeanzug, badehose, durchsichtig, transparent, reizwasche,"
    " sous vetements, soutien gorge, maillot de bain, ropa interior, sujetador, bragas, tanga,"
    " traje de bano, banador, transparente, intimo, reggiseno, mutande, costume da bagno, biancheria intima,"
    " roupa intima, sutia, calcinha, maio, ondergoed, badpak, bielizna, stanik, купальник, белье, бельё,"
    " бюстгальтер, прозрачный, прозрачная"
)
CJK_CONSERVATIVE = ("下着", "水着", "ビキニ", "内衣", "泳衣", "比基尼", "透明", "속옷", "수영복", "비키니")


@dataclass(frozen=True)
class _Reading:
    """One normalised form of the description: its tokens and its padded word string."""

    tokens: frozenset[str]
    padded: str


def _join_spaced_letters(tokens: list[str]) -> list[str]:
    """``n a k e d`` (or ``n.a.k.e.d``) -> ``naked``: runs of three or more one-letter tokens."""
    joined: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1:
            run.append(token)
            continue
        if len(run) >= 3:
            # "a n.a.k.e.d person": the run with and without a leading article's letter.
            joined.extend(("".join(run), "".join(run[1:])))
        else:
            joined.extend(run)
        run = []
        if token:
            joined.append(token)
    return joined


def _readings(text: str) -> list[_Reading]:
    base = unicodedata.normalize("NFKC", text).casefold()
    # Zero-width and other format characters, then accents (their combining marks).
    base = "".join(ch for ch in base if unicodedata.category(ch) != "Cf")
    base = "".join(ch for ch in unicodedata.normalize("NFKD", base) if not unicodedata.combining(ch))
    forms = {base, base.translate(_LOOKALIKES)}
    for one in _ONE_AS:
        forms.add(base.translate(_LOOKALIKES).translate(_LEET).replace("1", one))
    readings = []
    for form in forms:
        raw = _join_spaced_letters(_TOKEN.findall(form))
        for tokens in (raw, [_fold(token) for token in raw]):
            words = set(tokens)
            words.update(token[:-1] for token in tokens if len(token) > 3 and token.endswith("s"))
            readings.append(_Reading(frozenset(words), f" {' '.join(tokens)} "))
    return readings


def _matches(reading: _Reading, terms: frozenset[str]) -> str | None:
    for term in terms:
        if (" " in term and f" {term} " in reading.padded) or term in reading.tokens:
            return term
    return None


def _nude_as_colour_only(reading: _Reading) -> bool:
    """Every ``nude`` in the description is a colour (followed by a garment or colour word)."""
    words = reading.padded.split()
    uses = [i for i, word in enumerate(words) if word == "nude"]
    return bool(uses) and all(i + 1 < len(words) and words[i + 1] in NUDE_AS_COLOUR_NEXT for i in uses)


class LocalPhrasingChecker:
    """The no-network text check; the same at every backend and deployment."""

    name = "local-phrasing"

    def check_text(self, text: str, level: ModerationLevel) -> Verdict:
        if level == "off":
            return ALLOWED
        for reading in _readings(text):
            term = _matches(reading, SEXUAL)
            if term:
                return Verdict(False, "sexual", self.name)
            term = _matches(reading, NUDITY)
            if term and not (term == "nude" and _nude_as_colour_only(reading) and not _other_nudity(reading)):
                return Verdict(False, "nudity", self.name)
            if level == "conservative" and _matches(reading, INTIMATE_AND_SWIM):
                return Verdict(False, "underwear-swimwear-or-see-through", self.name)
        folded = unicodedata.normalize("NFKC", text)
        if any(term in folded for term in CJK_REFUSED):
            return Verdict(False, "nudity", self.name)
        if level == "conservative" and any(term in folded for term in CJK_CONSERVATIVE):
            return Verdict(False, "underwear-swimwear-or-see-through", self.name)
        return ALLOWED


def _other_nudity(reading: _Reading) -> bool:
    return _matches(reading, NUDITY - {"nude"}) is not None

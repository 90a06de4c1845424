"""The server's last-line refusal (tryon_model_server/refusal.py) beyond its English word list:
languages, spellings, spacing and euphemisms are refused; ordinary clothing passes."""

from __future__ import annotations

import pytest

from tryon_model_server.refusal import is_refused
from tryon_model_server.settings import DEFAULT_BLOCKED_TERMS

REFUSED = [
    "nude",
    "Nude, no clothes",
    "shirtless",
    "a transparent mesh top with nothing underneath",
    "take off her clothes",
    "in her birthday suit",
    "braless in a white tank top",
    "nackt",
    "oben ohne",
    "une femme nue",
    "desnuda",
    "senza vestiti",
    "sem roupa",
    "naakt",
    "çıplak",
    "голая",
    "全裸",
    "n4ked",
    "t0pl3ss",
    "s3x",
    "n a k e d",
    "a n.u.d.e person",
    "nüde",
    "NAAAKED",
    "nаked with a Cyrillic a",
    "ｎａｋｅｄ",
    "na\u200bked",
]
ALLOWED = [
    "denim jacket",
    "a navy suit",
    "nudeish beige trench coat",
    "a striped shirt",
    "nude heels with a black dress",
    "a nude slip dress",
    "a red bikini",
    "a black lace bra",
    "size 10 jeans",
    "a drawstring hoodie",
]


@pytest.mark.parametrize("description", REFUSED)
def test_refused_in_any_language_spelling_or_euphemism(description: str) -> None:
    assert is_refused(description, DEFAULT_BLOCKED_TERMS)


@pytest.mark.parametrize("description", ALLOWED)
def test_ordinary_clothing_passes(description: str) -> None:
    assert not is_refused(description, DEFAULT_BLOCKED_TERMS)


def test_the_configured_terms_still_apply_and_the_built_in_ones_without_them() -> None:
    assert is_refused("a velvet catsuit", ("catsuit",))
    assert not is_refused("a velvet catsuit", DEFAULT_BLOCKED_TERMS)
    assert is_refused("n4ked", ())  # an empty TRYON_BLOCKED_TERMS keeps the built-in list

"""The keys' wire formats and calendar arithmetic, without a store."""

from __future__ import annotations

import calendar

import pytest

from tryon_api.keys.credentials import (
    TokenClaims,
    legacy_key_id,
    new_key_id,
    new_secret,
    read_token,
    secret_digest,
    secret_matches,
    sign_token,
    split_managed_key,
)
from tryon_api.keys.interface import (
    minute_window,
    month_of,
    next_month_of,
    seconds_until_next_minute,
    seconds_until_next_month,
)

SECRET = b"unit-test-signing-secret-0123456789-abcdefghijklmnopq"


def test_a_managed_key_splits_into_its_public_id_and_secret() -> None:
    key_id, secret = new_key_id(), new_secret()
    assert split_managed_key(f"{key_id}.{secret}") == (key_id, secret)
    assert secret_matches(secret, secret_digest(secret)) and not secret_matches(secret + "x", secret_digest(secret))
    for shaped_wrong in (key_id, f"{key_id}.", f"{key_id}.{secret}x", f"KEY_{key_id[4:]}.{secret}", f"{secret}"):
        assert split_managed_key(shaped_wrong) is None


def test_a_plain_keys_id_is_a_digest_not_the_key() -> None:
    assert legacy_key_id("my-plain-key") == legacy_key_id("my-plain-key") != legacy_key_id("my-plain-key2")
    assert "my-plain-key" not in legacy_key_id("my-plain-key")


def test_a_token_reads_back_only_with_its_secret_and_unaltered() -> None:
    claims = TokenClaims("tid", "key_0123456789abcdef", "https://shop.example", 1_800_000_600, 4, 30, None)
    token = sign_token(claims, SECRET)
    assert read_token(token, SECRET) == claims
    assert read_token(token, SECRET + b"x") is None
    head, payload, signature = token.split(".")
    assert read_token(f"{head}.{payload[:-1]}A.{signature}", SECRET) is None
    assert read_token(f"{head}.{payload}.{signature[:-1]}", SECRET) is None
    assert read_token("tt1..", SECRET) is None and read_token("é" * 10, SECRET) is None
    assert read_token("tt1." + "A" * 3000, SECRET) is None


@pytest.mark.parametrize(
    ("moment", "month", "following", "to_next_month"),
    [
        ((2026, 12, 31, 23, 59, 59), "2026-12", "2027-01", 1),
        ((2027, 1, 1, 0, 0, 0), "2027-01", "2027-02", 31 * 86400),
        ((2028, 2, 28, 0, 0, 0), "2028-02", "2028-03", 2 * 86400),  # a leap year
    ],
)
def test_months_turn_in_utc(moment: tuple[int, ...], month: str, following: str, to_next_month: int) -> None:
    now = calendar.timegm(moment)
    assert (month_of(now), next_month_of(now), seconds_until_next_month(now)) == (month, following, to_next_month)


def test_minute_windows_are_fixed_utc_minutes() -> None:
    now = calendar.timegm((2026, 12, 7, 11, 30, 45))
    assert minute_window(now) == now - 45 and seconds_until_next_minute(now) == 15
    assert seconds_until_next_minute(now - 45) == 60

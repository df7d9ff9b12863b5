"""The single-emoji check of XEP-0444 reactions (pure logic)."""

from __future__ import annotations

import pytest

from sat_backend.core.im.emoji import is_single_emoji

ACCEPTED = [
    "👍",            # emoji presentation
    "❤️",            # text-default character + VS16
    "👍🏽",           # skin-tone modifier
    "👩‍💻",          # ZWJ sequence
    "👨‍👩‍👧‍👦",     # family: several ZWJ
    "🏳️‍🌈",        # VS16 inside a ZWJ sequence
    "🧑🏾‍🚀",         # modifier inside a ZWJ sequence
    "🇫🇷",           # flag: two regional indicators
    "1️⃣",           # keycap
    "#️⃣",
    "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F",  # Scotland: tag sequence
    "🏽",            # a lone modifier is shown as a swatch
]

REFUSED = [
    "",
    "a",
    "A",
    "1",            # text-default digit without VS16 nor keycap
    "#",
    "ok",
    "👍👍",          # two emojis
    "👍 ",
    "🇫🇷🇩🇪",         # two flags
    "🇫",            # half a flag
    "😀a",
    "\u200d",
    "1\ufe0f",      # a digit with VS16 but no keycap
    "é",
    "❤",            # text presentation by default
    "👍" * 40,       # too long
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_single_emojis_are_accepted(text: str) -> None:
    assert is_single_emoji(text)


@pytest.mark.parametrize("text", REFUSED)
def test_everything_else_is_refused(text: str) -> None:
    assert not is_single_emoji(text)

"""Is this text one emoji? The check XEP-0444 (Message Reactions) asks of every reaction.

XEP-0444 (business rules): a reaction is made of "Unicode codepoints that can be displayed as a single
emoji", as defined by Unicode Technical Standard #51. We accept exactly one extended
grapheme cluster that follows the UTS #51 emoji grammar (ED-27 *possible emoji*,
tightened so that text-default characters such as ``1`` or ``#`` alone are refused):

* a character with emoji presentation (``👍``), or any emoji character made emoji by
  VS16 (``❤️``);
* an emoji modifier sequence (``👍🏽``), a flag (two regional indicators, ``🇫🇷``), a
  keycap (``1️⃣``), a tag sequence (``🏴󠁧󠁢󠁳󠁣󠁴󠁿``);
* any of these joined by ZWJ (``👩‍💻``, ``🏳️‍🌈``).

The ``regex`` module gives the emoji properties of the Unicode version it ships (the
standard library's :mod:`unicodedata` has none).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import regex

#: a reaction longer than this is refused without parsing (the longest RGI sequences
#: have 10 code points; tag sequences a few more)
MAX_CODE_POINTS = 32

_ELEMENT = r"""
(?:
    \p{Regional_Indicator}\p{Regional_Indicator}
  | [0-9\#*]\uFE0F?\u20E3
  | \p{Emoji_Modifier_Base}\p{Emoji_Modifier}
  | \U0001F3F4[\U000E0020-\U000E007E]+\U000E007F
  | (?![0-9\#*])\p{Emoji}\uFE0F
  | (?!\p{Regional_Indicator})\p{Emoji_Presentation}
)
"""


@cache
def _patterns() -> tuple[regex.Pattern[str], regex.Pattern[str]]:
    """(one grapheme cluster, the emoji grammar), compiled at the first reaction: importing
    ``regex`` and compiling them is not needed for the daemon to start."""
    import regex

    return regex.compile(r"\X"), regex.compile(rf"{_ELEMENT}(?:\u200D{_ELEMENT})*", regex.VERBOSE | regex.VERSION1)


def is_single_emoji(text: str) -> bool:
    """True when ``text`` is exactly one emoji (one grapheme cluster, emoji grammar)."""
    if not text or len(text) > MAX_CODE_POINTS:
        return False
    grapheme, emoji = _patterns()
    return grapheme.fullmatch(text) is not None and emoji.fullmatch(text) is not None

"""Checks of the texts the IM core puts into stanzas (bodies, subjects, statuses, roster
names and groups) against what XML 1.0 allows.

A forbidden character makes the server close the stream, and a stored one is sent again
at every login: such text is refused with ``InvalidArgument`` before anything is stored
or sent. :mod:`sat_bridge.xml_text` is the one definition of what is forbidden.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.memory.history_entry import LANGUAGE_LENGTH
from sat_bridge.xml_text import check_xml_text, forbidden_xml_char


def check_texts_by_lang(texts: Mapping[str, str], what: str) -> None:
    """Check texts keyed by ``xml:lang`` (bodies, subjects, statuses): keys and values.

    :raises InvalidArgument: a forbidden character, named with its position; a language
        longer than history keeps.
    """
    for lang, text in texts.items():
        check_xml_text(lang, f"the language of a {what}")
        if len(lang) > LANGUAGE_LENGTH:
            raise InvalidArgument(f"the language of a {what} is longer than {LANGUAGE_LENGTH} characters")
        check_xml_text(text, what)


def check_texts(texts: Iterable[str], what: str) -> None:
    """:raises InvalidArgument: one of ``texts`` holds a forbidden character."""
    for text in texts:
        check_xml_text(text, what)


def clean_texts_by_lang(texts: Mapping[str, str]) -> dict[str, str]:
    """Those of ``texts`` (by ``xml:lang``) that XML allows: for values stored before
    they were checked, which must not be sent again."""
    return {lang: text for lang, text in texts.items()
            if forbidden_xml_char(lang) is None and forbidden_xml_char(text) is None}

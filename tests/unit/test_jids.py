"""JID validation at the edge: what Twisted lets through or crashes on is refused cleanly."""

from __future__ import annotations

import pytest

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.jids import SHOWN_LENGTH, parse_bare_jid, parse_jid


@pytest.mark.parametrize(
    "value",
    [
        "a@.",  # Twisted's nameprep raised IndexError on the empty label (Internal over the bridge)
        ".",
        "..",
        "@localhost",  # empty local part, RFC 7622 §3.3.1
        "user@localhost/",  # empty resource, RFC 7622 §3.4.1
        "bell\x07@localhost",
        "",
    ],
)
def test_malformed_jids_are_invalid_arguments(value: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_jid(value, "to_jid")
    assert str(caught.value).startswith("to_jid: ")


def test_a_huge_value_is_not_echoed() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_jid("x" * 1_000_000)
    assert len(str(caught.value)) < SHOWN_LENGTH + 100
    assert "1000000 characters" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "full"),
    [("a@b/c/d", "a@b/c/d"), ("Juliet@Example.COM", "juliet@example.com"), ("a@b/r@s", "a@b/r@s"), ("example.org", "example.org")],
)
def test_valid_jids_are_prepared(value: str, full: str) -> None:
    assert parse_jid(value).full() == full


def test_bare_jid_rules() -> None:
    assert parse_bare_jid("Alice@Localhost") == "alice@localhost"
    with pytest.raises(InvalidArgument):
        parse_bare_jid("localhost")
    with pytest.raises(InvalidArgument):
        parse_bare_jid("alice@localhost/phone")


def test_jid_preparation_is_memoised_and_refusals_still_raise() -> None:
    from twisted.words.protocols.jabber import jid as twisted_jid

    from sat_backend.core.jids import cache_jid_preparation

    original = twisted_jid.prep
    try:
        cache_jid_preparation(size=8)
        cache_jid_preparation(size=8)  # once only: not wrapped twice
        prepared = twisted_jid.prep
        assert hasattr(prepared, "cache_info") and prepared.__wrapped__ is original  # type: ignore[attr-defined]
        # Twisted's own JID() (what tx-xmpp calls): parse_jid has its own cache in front
        assert twisted_jid.JID("Alice@LocalHost/Res").full() == "alice@localhost/Res"
        assert twisted_jid.JID("Alice@LocalHost/Res").full() == "alice@localhost/Res"
        assert prepared.cache_info().hits >= 1  # type: ignore[attr-defined]
        for _ in range(2):
            with pytest.raises(InvalidArgument):
                parse_jid("a b@localhost")
    finally:
        twisted_jid.prep = original

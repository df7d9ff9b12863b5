"""``sat monitor -p``: which signals are listened to and which ones are shown."""

from __future__ import annotations

from sat_bridge.spec import Arg, Signal, full_spec
from sat_frontends.cli.commands.monitor import has_profile, profile_matches, select_signals
from sat_frontends.cli.main import build_parser

MESSAGE_UPDATE = full_spec()["MessageUpdate"]
assert isinstance(MESSAGE_UPDATE, Signal)
NO_PROFILE = Signal("Tick", "core", (Arg("count", "i", "ticks"),), "A signal about no profile.")
PROFILE_FIRST = Signal("Odd", "core", (Arg("profile", "s", "not last"), Arg("x", "s")), "Profile not last.")


def test_every_signal_of_the_spec_ends_with_its_profile() -> None:
    # The filter relies on it; a new signal about a profile must follow the same order.
    assert all(has_profile(s) for s in full_spec().signals())


def test_without_filter_every_signal_is_shown() -> None:
    assert profile_matches(NO_PROFILE, (3,), set())
    assert profile_matches(MESSAGE_UPDATE, ("u", "edit", "{}", "bob"), set())


def test_filter_keeps_only_the_profiles_given() -> None:
    profiles = {"alice", "carol"}
    assert profile_matches(MESSAGE_UPDATE, ("u", "edit", "{}", "alice"), profiles)
    assert profile_matches(MESSAGE_UPDATE, ("u", "edit", "{}", "carol"), profiles)
    assert not profile_matches(MESSAGE_UPDATE, ("u", "edit", "{}", "bob"), profiles)
    # The profile is the last argument, never another one that happens to be equal.
    assert not profile_matches(MESSAGE_UPDATE, ("alice", "edit", "{}", "bob"), profiles)


def test_filter_hides_signals_without_profile_and_malformed_ones() -> None:
    assert not profile_matches(NO_PROFILE, (3,), {"alice"})
    assert not profile_matches(PROFILE_FIRST, ("alice", "x"), {"alice"})
    assert not profile_matches(MESSAGE_UPDATE, ("u", "edit", "alice"), {"alice"})  # wrong arity


def test_selection_leaves_out_signals_that_cannot_match() -> None:
    signals = [MESSAGE_UPDATE, NO_PROFILE, PROFILE_FIRST]
    assert select_signals(signals, set(), set()) == (signals, set())
    assert select_signals(signals, set(), {"alice"}) == ([MESSAGE_UPDATE], set())
    assert select_signals(signals, {"Tick"}, {"alice"}) == ([], set())
    assert select_signals(signals, {"Tick", "Nope"}, set()) == ([NO_PROFILE], {"Nope"})


def test_profile_option_is_repeatable() -> None:
    args = build_parser().parse_args(["monitor", "-p", "alice", "--profile", "bob", "--signal", "PsEvent"])
    assert args.profile == ["alice", "bob"] and args.signal == ["PsEvent"]
    assert build_parser().parse_args(["monitor"]).profile is None

"""The fuzz's books: every outcome tallied, every failure kept once, the closing figures.

A failure is anything the bridge contract does not allow as an answer: an ``Internal``
(an untyped failure), an error outside ``org.salutatoi.SAT1.Error``, no reply, an error
message that echoes unbounded input, a traceback in the backend log, the daemon dying or
losing its bus name.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sat_bridge.errors import ERROR_PREFIX, ERRORS_BY_NAME
from tests.fault.raw_bus import NO_REPLY, Outcome

#: an error message longer than this echoes input the caller controls
MAX_ERROR_TEXT = 2048
#: what dbus-fast answers for a member name nobody declared (allowed for those only)
UNKNOWN_METHOD = "org.freedesktop.DBus.Error.UnknownMethod"
_REPR_LIMIT = 160


@dataclass(frozen=True)
class Finding:
    """One failure, deduplicated on (phase, member, label, symptom)."""

    phase: str
    member: str
    label: str
    symptom: str

    def line(self, example: str) -> str:
        return f"[{self.phase}] {self.member} {self.label}: {self.symptom}  e.g. {example}"


@dataclass
class Ledger:
    calls: int = 0
    by_error: Counter[str] = field(default_factory=Counter)
    findings: dict[Finding, str] = field(default_factory=dict)
    crashes: int = 0
    untyped: int = 0

    def record(self, phase: str, member: str, label: str, body: tuple[Any, ...], outcome: Outcome,
               *, member_exists: bool = True) -> None:
        """Tally one call and keep what it shows as a finding, if anything."""
        self.calls += 1
        name = outcome.error_name or "ok"
        self.by_error[name.removeprefix(ERROR_PREFIX)] += 1
        symptom = _symptom(outcome, member_exists)
        if symptom is not None:
            if outcome.error_name == ERROR_PREFIX + "Internal":
                self.untyped += 1
            self.add(Finding(phase, member, label, symptom), short_repr(body))

    def add(self, finding: Finding, example: str) -> None:
        self.findings.setdefault(finding, example)

    def add_traceback(self, phase: str, member: str, exception: str) -> None:
        self.add(Finding(phase, member, "(batch)", f"Traceback in the backend log: {exception}"), "see the backend log")

    def crash(self, phase: str, member: str, symptom: str) -> None:
        self.crashes += 1
        self.add(Finding(phase, member, "(batch)", symptom), "see the backend log")

    def failures_of(self, phase: str, member: str) -> list[str]:
        return [f.line(example) for f, example in self.findings.items() if (f.phase, f.member) == (phase, member)]

    def summary(self) -> str:
        errors = ", ".join(f"{name}={count}" for name, count in sorted(self.by_error.items()))
        lines = [
            f"bridge fuzz: {self.calls} calls; crashes {self.crashes}; untyped errors {self.untyped}; "
            f"distinct failures {len(self.findings)}",
            f"answers: {errors}",
        ]
        lines += [finding.line(example) for finding, example in self.findings.items()]
        return "\n".join(lines)


def _symptom(outcome: Outcome, member_exists: bool) -> str | None:
    name = outcome.error_name
    if name is None:
        return None
    if name == NO_REPLY:
        return f"no reply ({outcome.text or 'connection closed'})"
    if name == UNKNOWN_METHOD and not member_exists:
        return None
    if not name.startswith(ERROR_PREFIX) or name.removeprefix(ERROR_PREFIX) not in ERRORS_BY_NAME:
        return f"foreign error {name}"
    if name == ERROR_PREFIX + "Internal":
        return f"Internal ({outcome.text[:120]})"
    if len(outcome.text) > MAX_ERROR_TEXT:
        return f"{name.removeprefix(ERROR_PREFIX)} message echoes input ({len(outcome.text)} chars)"
    return None


def short_repr(body: tuple[Any, ...]) -> str:
    """The arguments as a short line: long strings cut, with their length."""
    parts = []
    for value in body:
        text = repr(value)
        if len(text) > 40:
            text = f"{text[:30]}…({len(text)} chars)"
        parts.append(text)
    return f"({', '.join(parts)})"[:_REPR_LIMIT]

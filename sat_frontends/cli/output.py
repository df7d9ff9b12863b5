"""How ``sat`` prints results: human text by default, JSON with ``--output json``.

stdout carries results only, so that ``sat profile list | wc -l`` counts profiles: an
empty list says so on stderr (``no contacts``), and in JSON mode stdout holds the JSON
and nothing else.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO


class Output:
    """Writes results and errors in the format the user chose."""

    def __init__(self, mode: str = "text", out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.mode = mode
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr

    @property
    def json(self) -> bool:
        return self.mode == "json"

    def value(self, value: Any) -> None:
        """Print one value: as is in text mode (strings unquoted), as JSON otherwise."""
        if self.json:
            self._dump(value)
        elif isinstance(value, str):
            print(value, file=self.out)
        else:
            print(json.dumps(value, ensure_ascii=False, indent=2), file=self.out)

    def lines(self, values: list[str], *, empty: str) -> None:
        """Print a list: one item a line in text mode (``empty`` on stderr when there is
        none), a JSON array otherwise."""
        if self.json:
            self._dump(values)
        elif not values:
            self.note(empty)
        else:
            for value in values:
                print(value, file=self.out)

    def table(self, rows: list[dict[str, Any]], columns: list[str], *, empty: str) -> None:
        """Print records: aligned columns in text mode (``empty`` on stderr when there is
        none), a JSON array of objects otherwise."""
        if self.json:
            self._dump(rows)
            return
        if not rows:
            self.note(empty)
            return
        cells = [[_cell(row.get(column)) for column in columns] for row in rows]
        widths = [max([len(column)] + [len(line[i]) for line in cells]) for i, column in enumerate(columns)]
        print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip(), file=self.out)
        for line in cells:
            print("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip(), file=self.out)

    def done(self, message: str) -> None:
        """Confirm a change: a sentence in text mode, ``{"ok": true}`` otherwise."""
        if self.json:
            self._dump({"ok": True})
        else:
            print(message, file=self.out)

    def note(self, message: str) -> None:
        """A remark for the human at the terminal (stderr, text mode only): never data."""
        if not self.json:
            print(message, file=self.err)

    def error(self, kind: str, message: str) -> None:
        """Errors go to stderr; in JSON mode as ``{"error": kind, "message": …}``."""
        if self.json:
            print(json.dumps({"error": kind, "message": message}, ensure_ascii=False), file=self.err)
        else:
            print(f"sat: {kind}: {message}" if kind else f"sat: {message}", file=self.err)

    def _dump(self, value: Any) -> None:
        print(json.dumps(value, ensure_ascii=False), file=self.out)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)

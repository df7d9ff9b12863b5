"""Storage hands out typed values, not ORM rows (issue 14): no module outside
``sat_backend/memory`` imports the mapping, so none can hold a row bound to a session,
read a JSON column's keys, or run a query of its own."""

from __future__ import annotations

import ast
from pathlib import Path

import sat_backend
import sat_bridge
import sat_frontends

MAPPING = "sat_backend.memory.sqla_mapping"


def mapping_imports(source: str) -> list[int]:
    """Lines of ``source`` that import the mapping, in any form."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        if any(name == MAPPING or name.startswith(MAPPING + ".") or name.endswith(".sqla_mapping")
               or name == "sqla_mapping" for name in names):
            lines.append(node.lineno)
    return lines


def test_the_scan_sees_every_form_of_import() -> None:
    """The control: each way of importing the mapping is caught, a look-alike is not."""
    assert mapping_imports("from sat_backend.memory.sqla_mapping import History") == [1]
    assert mapping_imports("from sat_backend.memory import sqla_mapping") == [1]
    assert mapping_imports("import sat_backend.memory.sqla_mapping as m") == [1]
    assert mapping_imports("from .sqla_mapping import PubsubNode") == [1]
    assert mapping_imports("from sat_backend.memory.stored_message import StoredMessage") == []


def test_no_module_outside_memory_imports_the_mapping() -> None:
    offenders = []
    for package in (sat_backend, sat_bridge, sat_frontends):
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*.py")):
            if package is sat_backend and path.relative_to(root).parts[0] == "memory":
                continue
            offenders += [f"{path.relative_to(root.parent)}:{line}"
                          for line in mapping_imports(path.read_text(encoding="utf-8"))]
    assert offenders == []

"""Plugin ordering by dependencies and recommendations (pure logic) and discovery."""

from __future__ import annotations

from pathlib import Path

from sat_backend.core.plugin_loader import PluginInfo, discover, load_order


def plugin(name: str, deps: list[str] | None = None, recs: list[str] | None = None) -> PluginInfo:
    return PluginInfo(import_name=name, name=name, main="Main", dependencies=deps or [], recommendations=recs or [])


def names(plugins: list[PluginInfo]) -> list[str]:
    return [p.import_name for p in plugins]


def test_dependencies_load_first() -> None:
    ordered, rejected = load_order(
        [plugin("XEP-0277", ["XEP-0060"]), plugin("XEP-0060", ["XEP-0030"]), plugin("XEP-0030")]
    )
    assert names(ordered) == ["XEP-0030", "XEP-0060", "XEP-0277"]
    assert rejected == {}


def test_missing_dependency_rejects_the_plugin_and_its_dependants() -> None:
    ordered, rejected = load_order(
        [plugin("A", ["missing"]), plugin("B", ["A"]), plugin("C")]
    )
    assert names(ordered) == ["C"]
    assert rejected["A"] == "missing dependency missing"
    assert "A" in rejected["B"]


def test_recommendations_come_first_when_present_and_are_optional() -> None:
    ordered, rejected = load_order([plugin("Z", recs=["Y", "absent"]), plugin("Y")])
    assert names(ordered) == ["Y", "Z"]
    assert rejected == {}


def test_cycles_are_rejected_not_looped() -> None:
    ordered, rejected = load_order([plugin("A", ["B"]), plugin("B", ["A"]), plugin("C")])
    assert names(ordered) == ["C"]
    assert set(rejected) == {"A", "B"}
    assert "cycle" in rejected["A"]


def test_duplicate_import_names_keep_the_first() -> None:
    first, second = plugin("A"), plugin("A")
    ordered, rejected = load_order([first, second])
    assert ordered == [first]
    assert "same import name" in rejected["A"]


def test_discover_skips_broken_modules(tmp_path: Path) -> None:
    (tmp_path / "plugin_good.py").write_text(
        'PLUGIN_INFO = {"name": "Good", "import_name": "GOOD", "main": "Good"}\n'
        "class Good:\n    def __init__(self, host):\n        self.host = host\n"
    )
    (tmp_path / "plugin_syntax.py").write_text("this is not python\n")
    (tmp_path / "plugin_noinfo.py").write_text("X = 1\n")
    (tmp_path / "not_a_plugin.py").write_text('PLUGIN_INFO = {"name": "N", "import_name": "N", "main": "N"}\n')
    found = {p.import_name for p in discover(extra_dirs=[tmp_path])}
    assert "GOOD" in found
    assert "N" not in found

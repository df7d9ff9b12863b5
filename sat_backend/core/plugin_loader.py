"""Find plugins, order them by their declared dependencies, and load them.

A plugin is a module named ``plugin_*.py`` with a ``PLUGIN_INFO`` dict; importing it
starts nothing (house rule). Keys:

``name`` (human name), ``import_name`` (unique id, e.g. ``XEP-0060``), ``type``,
``protocols`` (XEPs implemented), ``dependencies`` (import names that must load first;
a missing one means this plugin is not loaded), ``recommendations`` (loaded first when
available, ignored otherwise), ``main`` (class name, instantiated with the host),
``handler`` (bool: per-profile XMPP handler, used by later issues), ``description``.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

log = logging.getLogger(__name__)

REQUIRED_KEYS = ("name", "import_name", "main")


@dataclass
class PluginInfo:
    """``PLUGIN_INFO`` of one module, checked."""

    import_name: str
    name: str
    main: str
    module: ModuleType | None = None
    dependencies: list[str] = field(default_factory=list)
    recommendations: list[str] = field(default_factory=list)
    protocols: list[str] = field(default_factory=list)
    handler: bool = False
    description: str = ""

    @classmethod
    def from_module(cls, module: ModuleType) -> PluginInfo:
        """:raises ValueError: missing or malformed ``PLUGIN_INFO``."""
        info = getattr(module, "PLUGIN_INFO", None)
        if not isinstance(info, dict):
            raise ValueError(f"{module.__name__} has no PLUGIN_INFO dict")
        missing = [key for key in REQUIRED_KEYS if not info.get(key)]
        if missing:
            raise ValueError(f"{module.__name__}: PLUGIN_INFO lacks {', '.join(missing)}")
        return cls(
            import_name=info["import_name"],
            name=info["name"],
            main=info["main"],
            module=module,
            dependencies=list(info.get("dependencies", [])),
            recommendations=list(info.get("recommendations", [])),
            protocols=list(info.get("protocols", [])),
            handler=bool(info.get("handler", False)),
            description=info.get("description", ""),
        )


def load_order(plugins: Iterable[PluginInfo]) -> tuple[list[PluginInfo], dict[str, str]]:
    """Order plugins so that dependencies and available recommendations come first.

    :returns: the loadable plugins in load order, and the rejected ones by import name
        with the reason (missing dependency, dependency cycle, duplicate name).
    """
    by_name: dict[str, PluginInfo] = {}
    duplicates: dict[str, str] = {}
    for plugin in plugins:
        if plugin.import_name in by_name:
            duplicates[plugin.import_name] = "another plugin has the same import name (kept the first)"
            continue
        by_name[plugin.import_name] = plugin
    rejected: dict[str, str] = {}

    ordered: list[PluginInfo] = []
    state: dict[str, str] = {}  # "visiting" | "done" | "rejected"

    def visit(name: str, chain: tuple[str, ...]) -> bool:
        status = state.get(name)
        if status == "done":
            return True
        if status == "rejected":
            return False
        if status == "visiting":
            cycle = " → ".join(chain[chain.index(name):] + (name,))
            for member in chain[chain.index(name):]:
                rejected.setdefault(member, f"dependency cycle: {cycle}")
                state[member] = "rejected"
            return False
        plugin = by_name.get(name)
        if plugin is None or name in rejected:
            return False
        state[name] = "visiting"
        for dependency in plugin.dependencies:
            if dependency not in by_name:
                rejected[name] = f"missing dependency {dependency}"
            elif not visit(dependency, chain + (name,)):
                rejected.setdefault(name, f"dependency {dependency} could not be loaded")
        for recommendation in plugin.recommendations:
            if recommendation in by_name:
                visit(recommendation, chain + (name,))
        if name in rejected:
            state[name] = "rejected"
            return False
        state[name] = "done"
        ordered.append(plugin)
        return True

    for name in sorted(by_name):
        visit(name, ())
    return ordered, {**duplicates, **rejected}


def discover(package: str = "sat_backend.plugins", extra_dirs: Iterable[Path] = ()) -> list[PluginInfo]:
    """Import every ``plugin_*`` module of ``package`` and of ``extra_dirs``.

    A module that fails to import or has a bad ``PLUGIN_INFO`` is logged and skipped:
    one broken third-party plugin must not keep the backend from starting.
    """
    modules: list[ModuleType] = []
    base = importlib.import_module(package)
    for module_info in pkgutil.iter_modules(base.__path__):
        if module_info.name.startswith("plugin_"):
            module = _import(f"{package}.{module_info.name}")
            if module is not None:
                modules.append(module)
    for directory in extra_dirs:
        for path in sorted(Path(directory).glob("plugin_*.py")):
            module = _import_file(path)
            if module is not None:
                modules.append(module)
    infos = []
    for module in modules:
        try:
            infos.append(PluginInfo.from_module(module))
        except ValueError as exc:
            log.error("plugin skipped: %s", exc)
    return infos


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - a broken plugin is skipped, not fatal
        log.exception("cannot import plugin module %s", name)
        return None


def _import_file(path: Path) -> ModuleType | None:
    name = f"sat_external_plugins.{path.stem}"
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"no loader for {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    except Exception:  # noqa: BLE001 - a broken plugin is skipped, not fatal
        sys.modules.pop(name, None)
        log.exception("cannot import plugin file %s", path)
        return None


def instantiate(plugin: PluginInfo, host: Any) -> Any:
    """Create the plugin's main object, giving it the host."""
    assert plugin.module is not None
    main_class = getattr(plugin.module, plugin.main)
    return main_class(host)

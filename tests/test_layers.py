"""The engine's layers hold: the folders show them, every module imports only from its
own layer or lower ones (function-level and TYPE_CHECKING imports included), nothing
imports in a cycle, and nothing in the engine imports the UI or the command line."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sfttui"
ENGINE = PACKAGE / "engine"
# Lowest first; docs/ARCHITECTURE.md describes each. Sub-packages are their own layer;
# the modules directly in engine/ are the shared vocabulary (base) or the application.
LAYERS = ("base", "text", "runtime", "io", "analyses", "application")
BASE = ("errors", "settings", "findings")
APPLICATION = (
    "scan",
    "steps",
    "registry",
    "result",
    "session",
    "decisions",
    "export",
    "report",
    "isolated",
    "row_query",
)


def _name(path: Path) -> str:
    """An engine module's name relative to the engine: "settings", "io.load"."""
    return ".".join(path.relative_to(ENGINE).with_suffix("").parts)


def _layer(module: str) -> str:
    if "." in module:
        return module.split(".")[0]
    return "base" if module in BASE else "application" if module in APPLICATION else "unplaced"


def _imports(path: Path) -> set[str]:
    """What this module imports from the package: engine modules by name, the rest as
    "outside:<module>"."""
    here = list(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        base = here[: len(here) - (node.level - 1)] + (node.module.split(".") if node.module else [])
        # `from .io import load`: the names may be modules of a package; else `base` is one.
        targets = [[*base, a.name] for a in node.names if _is_module([*base, a.name])] or [base]
        for parts in targets:
            if parts[:2] == ["sfttui", "engine"] and len(parts) > 2:
                found.add(".".join(parts[2:]))
            elif parts != ["sfttui"]:  # `from .. import __version__` is the package itself
                found.add("outside:" + ".".join(parts))
    return found


def _is_module(parts: list[str]) -> bool:
    where = PACKAGE.parent.joinpath(*parts)
    return where.with_suffix(".py").is_file() or where.is_dir()


GRAPH = {_name(p): _imports(p) for p in ENGINE.rglob("*.py") if p.name != "__init__.py"}


def test_every_engine_module_sits_in_a_layer_its_folder_shows():
    assert [m for m in GRAPH if _layer(m) not in LAYERS] == []
    assert {_layer(m) for m in GRAPH} == set(LAYERS)


def test_no_module_imports_a_higher_layer_or_anything_outside_the_engine():
    rank = {name: i for i, name in enumerate(LAYERS)}
    wrong = [
        f"{m} ({_layer(m)}) imports {d}"
        for m, deps in GRAPH.items()
        for d in sorted(deps)
        if d.startswith("outside:") or d not in GRAPH or rank[_layer(d)] > rank[_layer(m)]
    ]
    assert wrong == []


def test_there_is_no_import_cycle():
    cycles = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in GRAPH.get(node, ()):
            if nxt == start:
                cycles.append(" -> ".join([*path, nxt]))
            elif nxt not in path and nxt in GRAPH:
                walk(start, nxt, [*path, nxt])

    for module in GRAPH:
        walk(module, module, [module])
    assert cycles == []

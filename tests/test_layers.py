"""The engine's layers hold: every module has one, imports only from its own layer or
lower ones (function-level imports included), and nothing imports in a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "sfttui" / "engine"
# Lowest first; docs/ARCHITECTURE.md describes each. A new module gets a line here.
LAYERS = {
    "base": ("errors", "settings", "progress", "findings", "memory", "atomic"),
    "text": ("normalize", "minhash", "lookup"),
    "runtime": ("parallel",),
    "io": ("formats", "rawlines", "load", "outdir"),
    "analyses": (
        "dedup",
        "balance",
        "split",
        "leakage",
        "coverage",
        "patterns",
        "labelmodel",
        "representativeness",
    ),
    "application": ("scan", "session", "decisions", "export", "report", "isolated", "engines", "dask_engine"),
}
RANK = {module: i for i, modules in enumerate(LAYERS.values()) for module in modules}


def _imports(path: Path) -> set[str]:
    """Engine modules this one imports, anywhere in it (TYPE_CHECKING blocks included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 2
            and (node.module or "").split(".")[0]
            in (
                "tui",
                "cli",
                "display",
                "summary",
                "split_command",
                "options",
            )
        ):
            found.add(f"UI:{node.module}")
    return found


GRAPH = {p.stem: _imports(p) for p in ENGINE.glob("*.py") if p.stem != "__init__"}


def test_every_engine_module_has_a_layer():
    assert sorted(set(GRAPH) - set(RANK)) == []
    assert sorted(set(RANK) - set(GRAPH)) == []


def test_no_module_imports_a_higher_layer_or_the_ui():
    upward = [
        f"{m} ({_layer(m)}) imports {d} ({_layer(d) if d in RANK else 'outside the engine'})"
        for m, deps in GRAPH.items()
        for d in sorted(deps)
        if d not in RANK or RANK[d] > RANK[m]
    ]
    assert upward == []


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


def _layer(module: str) -> str:
    return next(name for name, modules in LAYERS.items() if module in modules)

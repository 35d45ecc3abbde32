"""Rich renderings the tabs share: word diffs, chat turns, bars. Pure functions, no widgets."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import orjson
from rich.console import RenderableType
from rich.text import Text

from ..display import LiteralTable, visible, visible_block
from ..engine.io.formats import record_turns

ROLE_STYLES = {
    "system": "dim italic",
    "user": "bold cyan",
    "human": "bold cyan",
    "assistant": "bold green",
    "gpt": "bold green",
}
_WORD = re.compile(r"\w+", re.UNICODE)
BLOCKS = " ▏▎▍▌▋▊▉█"


def words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def highlight(
    text: str, reference: set[str] | None, style: str = "black on yellow", common: bool = False
) -> Text:
    """Text with words absent from `reference` highlighted (or present in it, if `common`).
    The text is data: its control characters show as glyphs (see sfttui.display)."""
    text = visible_block(text)
    out = Text()
    pos = 0
    for match in _WORD.finditer(text):
        out.append(text[pos : match.start()])
        word = match.group(0)
        hit = reference is not None and ((word.lower() in reference) == common)
        out.append(word, style=style if hit else "")
        pos = match.end()
    out.append(text[pos:])
    return out


def turns(raw: bytes | None, fallback: str, fmt: str) -> list[tuple[str, str]]:
    """(role, text) parts of a row for display, as the engine's format `fmt` reads its
    original line; the row's text when the format has one text or the line is gone."""
    if raw:
        try:
            parts = record_turns(orjson.loads(raw), fmt)
        except orjson.JSONDecodeError:
            parts = None
        if parts:
            return parts
    return [("text", fallback)]


def render_turns(
    parts: list[tuple[str, str]],
    reference: set[str] | None,
    common: bool = False,
    roles: frozenset[str] | None = None,
) -> Text:
    """The turns, each with its role; words highlighted against `reference` (only in
    turns of `roles`, when given)."""
    out = Text()
    for i, (role, text) in enumerate(parts):
        if i:
            out.append("\n")
        out.append(f"{visible(role)}: ", style=ROLE_STYLES.get(role.lower(), "bold magenta"))
        marked = roles is None or role.lower() in roles
        out.append_text(highlight(text, reference if marked else None, common=common))
    return out


def view_bar(views: dict[str, tuple[str, str]], current: str) -> Text:
    """A tab's views as keys and labels in a line, the current one reversed."""
    head = Text()
    for name, (key, label) in views.items():
        on = name == current
        head.append(f" {key} ", style="bold reverse cyan" if on else "bold cyan")
        head.append(f"{visible(label)} ", style="bold reverse" if on else "")
    return head


def bar(fraction: float, width: int) -> str:
    """A horizontal bar of `width` cells filled to `fraction`, with eighth-cell precision."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (BLOCKS[part] if part else "")).ljust(width)


def histogram(values: Any, lo: float, hi: float = 1.0, bins: int = 8) -> list[tuple[float, int]]:
    """Counts of values per bin from lo to hi (the last bin includes hi); values below lo are left out.

    Vectorised: the Duplicates summary redraws it after every decision, over every
    verified pair (hundreds of thousands at a million rows).
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[v >= lo]
    width = (hi - lo) / bins
    counts = np.bincount(np.minimum(((v - lo) / width).astype(np.int64), bins - 1), minlength=bins)
    return [(lo + i * width, int(c)) for i, c in enumerate(counts)]


def sparkline(counts: list[int]) -> str:
    top = max(counts) if counts and max(counts) else 1
    ticks = "▁▂▃▄▅▆▇█"
    return "".join(" " if c == 0 else ticks[min(7, int(c / top * 7.999))] for c in counts)


def side_by_side(cards: list[RenderableType], width: int, most: int = 3) -> list[RenderableType]:
    """Cards side by side when the pane is wide enough for readable columns, else stacked."""
    per_row = max(1, min(most, width // 34))
    out: list[RenderableType] = []
    for start in range(0, len(cards), per_row):
        grid = LiteralTable.grid(padding=(0, 2), expand=True)
        for _ in range(min(per_row, len(cards) - start)):
            grid.add_column(ratio=1)
        grid.add_row(*cards[start : start + per_row])
        out += [Text(""), grid]
    return out


def what_remains(leak_kinds: list[str], unresolved: int, shortfalls: list[str]) -> list[tuple[str, bool]]:
    """What the written splits still hold that a person should know: leaks between them
    by kind, label conflicts left unresolved, hard-data shortfalls. Each line with
    whether it is a warning."""
    counts: dict[str, int] = {}
    for kind in leak_kinds:
        counts[kind] = counts.get(kind, 0) + 1
    by_kind = ", ".join(f"{n:,} {kind}" for kind, n in sorted(counts.items()))
    lines = [
        (
            f"leakage between the splits: {len(leak_kinds):,} ({by_kind})"
            if leak_kinds
            else "leakage between the splits: none",
            bool(leak_kinds),
        ),
        (
            f"label conflicts left unresolved: {unresolved:,} (the same input goes out with different labels)"
            if unresolved
            else "label conflicts left unresolved: none",
            bool(unresolved),
        ),
    ]
    if shortfalls:
        lines.append(
            (f"hard-data shortfalls in the splits: {len(shortfalls):,}, first: {shortfalls[0]}", True)
        )
    else:
        lines.append(("hard-data shortfalls in the splits: none", False))
    return lines

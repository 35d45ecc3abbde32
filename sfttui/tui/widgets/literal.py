"""Widgets that show text from data literally: never markup, never terminal code.

Text from data is made safe where it is built (sfttui.display); this is the net under
it. Every line these widgets draw has its control characters swapped for visible
glyphs before it reaches the terminal, so an escape sequence missed at its source
still cannot clear the screen or retitle the terminal.
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable, Static

from ...display import literal_cell, needs_glyphs, visible


def visible_strip(strip: Strip) -> Strip:
    """The line with any control character in its text shown as a glyph, at its width."""
    segments = list(strip)
    if not any(needs_glyphs(s.text) for s in segments if not s.control):
        return strip
    width = strip.cell_length
    safe = [s if s.control else Segment(visible(s.text), s.style) for s in segments]
    return Strip(safe).crop(0, width)


class DrawsLiterally:
    """Mixin for a widget: every line it draws goes through `visible_strip`."""

    def render_lines(self, crop: Region) -> list[Strip]:
        return [visible_strip(strip) for strip in super().render_lines(crop)]  # type: ignore[misc]


class LiteralStatic(DrawsLiterally, Static):
    """A Static whose str content is shown as it is, not parsed as markup."""

    def __init__(self, content: Any = "", **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        super().__init__(content, **kwargs)


class LiteralDataTable(DrawsLiterally, DataTable):
    """A DataTable whose str cells and column labels are data, never markup."""

    def add_row(self, *cells: Any, **kwargs: Any) -> Any:
        return super().add_row(*(literal_cell(c) for c in cells), **kwargs)

    def add_column(self, label: Any = None, **kwargs: Any) -> Any:
        return super().add_column(literal_cell(label) if label is not None else None, **kwargs)

    def update_cell(self, row_key: Any, column_key: Any, value: Any, **kwargs: Any) -> None:
        super().update_cell(row_key, column_key, literal_cell(value), **kwargs)

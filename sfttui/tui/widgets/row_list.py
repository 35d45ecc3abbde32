"""RowList: a cursor over any number of rows, drawing only the lines on screen.

Textual's DataTable holds every row as widgets' data and redraws each visible cell
whenever the cursor moves (~40 ms a frame with 30 lines shown); with 100k+ duplicate
clusters it also has to be paged. RowList holds no rows at all: it asks its owner for
the cells of row i when line i is drawn (toolong's approach for huge logs), so moving,
deciding and jumping cost the same at a hundred rows and at a million.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len, get_character_cell_size
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...display import made_visible, visible
from .literal import DrawsLiterally

Cell = str | Text


def cell_tail(text: str, width: int) -> str:
    """The end of `text` that fits in `width` terminal cells (keys keep their distinct end),
    as drawn: its control characters are the glyphs they are shown as. A `file:line` key
    keeps its line and the start of its file's name ("trec.js…:5503", not "c.jsonl:5503":
    with several inputs, the file must show)."""
    text = visible(text)
    if cell_len(text) <= width:
        return text
    name, colon, line = text.rpartition(":")
    if colon and line.isdigit() and cell_len(line) + 3 <= width:
        head, room = "", width - len(line) - 2
        for ch in name:
            if cell_len(head + ch) > room:
                break
            head += ch
        return f"{head}…:{line}"
    used, start = 0, len(text)
    while start > 0 and used + get_character_cell_size(text[start - 1]) <= width:
        start -= 1
        used += get_character_cell_size(text[start])
    return text[start:]


@dataclass(frozen=True)
class Column:
    label: str
    width: int
    justify: Literal["left", "right"] = "left"


class RowList(DrawsLiterally, ScrollView, can_focus=True):
    """A header line and `count` rows; the cells of row i come from `cells(i)`."""

    COMPONENT_CLASSES = {"row-list--header", "row-list--cursor", "row-list--even-row"}
    BINDINGS = [
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("home,ctrl+home", "jump(0)", "First", show=False),
        Binding("end,ctrl+end", "jump(-1)", "Last", show=False),
    ]

    # Not a full repaint on every move: the watcher redraws the two lines that changed.
    cursor_row: reactive[int] = reactive(0, init=False, repaint=False)

    class Highlighted(Message):
        """The cursor is on another row (or on new rows after `reset`)."""

        def __init__(self, row_list: RowList, row: int) -> None:
            super().__init__()
            self.row_list = row_list
            self.row = row

        @property
        def control(self) -> RowList:
            return self.row_list

    def __init__(
        self,
        columns: Sequence[Column],
        cells: Callable[[int], Sequence[Cell]],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.columns = list(columns)
        self.cells = cells
        self.row_count = 0

    # --- data -------------------------------------------------------------------------
    def reset(self, count: int, cursor: int = 0, columns: Sequence[Column] | None = None) -> None:
        """New rows (or a new order): `count` of them, the cursor on row `cursor`; and
        new columns, when given."""
        if columns is not None:
            self.columns = list(columns)
        self.row_count = count
        width = sum(c.width + 1 for c in self.columns)  # a space before each column
        self.virtual_size = Size(width, count + 1)  # + the header line
        cursor = min(max(cursor, 0), max(count - 1, 0))
        self.set_reactive(RowList.cursor_row, cursor)
        self._follow_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self, cursor))

    def refresh_row(self, row: int) -> None:
        """Row `row`'s cells changed: draw its line again."""
        self.refresh_line(row + 1)

    # --- cursor -----------------------------------------------------------------------
    def validate_cursor_row(self, row: int) -> int:
        return min(max(row, 0), max(self.row_count - 1, 0))

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._follow_cursor()
        self.refresh_row(old)
        self.refresh_row(new)
        self.post_message(self.Highlighted(self, new))

    def _follow_cursor(self) -> None:
        """Scroll so the cursor's row is on screen (below the header)."""
        shown = max(self.scrollable_content_region.height - 1, 1)  # less a horizontal scrollbar
        top = round(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + shown:
            self.scroll_to(y=self.cursor_row - shown + 1, animate=False, immediate=True)

    def action_move(self, step: int) -> None:
        self.cursor_row += step

    def action_page(self, step: int) -> None:
        self.cursor_row += step * max(self.scrollable_content_region.height - 2, 1)

    def action_jump(self, row: int) -> None:
        self.cursor_row = row if row >= 0 else self.row_count - 1

    def on_click(self, event: Click) -> None:
        if event.y >= 1:
            self.cursor_row = round(self.scroll_offset.y) + event.y - 1

    def on_focus(self) -> None:
        self.refresh()  # the cursor's colours differ with and without focus

    def on_blur(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self._follow_cursor()

    # --- drawing ----------------------------------------------------------------------
    def _line(self, cells: Sequence[Cell], style: Style) -> Strip:
        line = Text(no_wrap=True, end="")
        for column, cell in zip(self.columns, cells):
            # Cells are data (keys, labels, file names, reasons): literal, on one line.
            text = Text(visible(cell)) if isinstance(cell, str) else made_visible(cell, one_line=True).copy()
            text.truncate(column.width, overflow="ellipsis")
            pad = " " * (column.width - text.cell_len)
            line.append(" ")
            if column.justify == "right":
                line.append(pad)
            line.append_text(text)
            if column.justify == "left":
                line.append(pad)
        return Strip(line.render(self.app.console)).apply_style(style)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("row-list--header")
            strip = self._line([Text(c.label, justify=c.justify) for c in self.columns], style)
            return self._fit(strip, width, style)
        row = round(self.scroll_offset.y) + y - 1
        if row >= self.row_count:
            return Strip.blank(width, base)
        style = base
        if row % 2 == 0:  # as DataTable's zebra stripes: rows counted from 0
            style += self.get_component_rich_style("row-list--even-row")
        if row == self.cursor_row:
            style += self.get_component_rich_style("row-list--cursor")
        return self._fit(self._line(self.cells(row), style), width, style)

    def _fit(self, strip: Strip, width: int, style: Style) -> Strip:
        """The part of a line the view shows: scrolled sideways where the list allows it."""
        x = round(self.scroll_offset.x)
        if x:
            strip = strip.crop(x, x + width)
        return strip.adjust_cell_length(width, style)

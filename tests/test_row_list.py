"""RowList: a million rows, only the lines on screen asked for, keys that move the cursor."""

from __future__ import annotations

import time

from textual.app import App, ComposeResult

from sfttui.tui.app import SfttuiApp
from sfttui.tui.widgets.row_list import Column, RowList, cell_tail


class ListApp(App[None]):
    CSS_PATH = SfttuiApp.CSS_PATH  # the app's stylesheet, where RowList's look is

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows
        self.asked: list[int] = []
        self.highlighted: list[int] = []

    def cells(self, index: int) -> list[str]:
        self.asked.append(index)
        return [f"{index:,}", "row"]

    def compose(self) -> ComposeResult:
        yield RowList([Column("#", 9, "right"), Column("what", 4)], self.cells, id="list")

    def on_mount(self) -> None:
        self.query_one(RowList).reset(self.rows, cursor=5)
        self.query_one(RowList).focus()

    def on_row_list_highlighted(self, event: RowList.Highlighted) -> None:
        self.highlighted.append(event.row)


async def drawn(pilot, app: ListApp) -> None:
    """Wait until the list has asked for cells: a key's repaint comes at the next refresh,
    which on a loaded machine can be after press() returns."""
    deadline = time.monotonic() + 5
    while not app.asked and time.monotonic() < deadline:
        await pilot.pause(0.01)


async def test_a_million_rows_ask_only_for_the_lines_on_screen():
    app = ListApp(1_000_000)
    async with app.run_test(size=(30, 12)) as pilot:
        await drawn(pilot, app)
        rows = app.query_one(RowList)
        assert rows.cursor_row == 5 and app.highlighted == [5]
        assert app.asked and set(app.asked) <= set(range(0, 11))  # 11 lines below the header
        app.asked.clear()
        await pilot.press("end")
        assert rows.cursor_row == 999_999 and app.highlighted[-1] == 999_999
        await drawn(pilot, app)
        assert min(app.asked) >= 999_989  # drawn: the last screen only
        line = rows.render_line(11).text
        assert "999,999" in line and "row" in line
        await pilot.press("k", "k", "pageup")
        assert rows.cursor_row == 999_997 - 10
        await pilot.press("home", "j", "down")
        assert rows.cursor_row == 2 and rows.scroll_offset.y == 0
        assert rows.render_line(0).text.split() == ["#", "what"]
        await pilot.press("up", "up", "up")  # stops at the first row
        assert rows.cursor_row == 0


async def test_reset_to_fewer_rows_keeps_the_cursor_inside():
    app = ListApp(50)
    async with app.run_test(size=(30, 12)) as pilot:
        await pilot.pause()
        rows = app.query_one(RowList)
        await pilot.press("end")
        rows.reset(3, cursor=rows.cursor_row)
        await pilot.pause()
        assert rows.cursor_row == 2 and rows.row_count == 3
        assert rows.render_line(5).text.strip() == ""  # past the last row: blank
        rows.reset(0)
        await pilot.press("j")
        assert rows.cursor_row == 0


def test_cell_tail_keeps_the_end_that_fits_in_cells():
    # A file:line key keeps its line and its file's start: "c.jsonl:5503" could be any of
    # several inputs.
    assert cell_tail("test.jsonl:1", 10) == "test.js…:1"
    assert cell_tail("short", 10) == "short"
    assert cell_tail("データ.jsonl:12", 11) == "データ.…:12"  # each kana takes two cells
    assert cell_tail("データ.jsonl:12", 10) == "データ…:12"  # and "." then does not fit
    assert cell_tail("t0001234", 4) == "1234"  # an id keeps its end
    assert cell_tail("日本語", 3) == "語"  # never a half character


def test_cell_tail_counts_control_characters_as_the_glyphs_they_are_shown_as():
    """A file named with an escape sequence: each control character counted 0 cells but
    drawn as a 1-cell glyph, the line number was cut off and rows 12 and 13 looked alike."""
    name = "ab\x1b[2Jcd\x07\x07.jsonl"
    tails = [cell_tail(f"{name}:{n}", 16) for n in (12, 13)]
    assert tails == ["ab␛[2Jcd␇␇.j…:12", "ab␛[2Jcd␇␇.j…:13"]

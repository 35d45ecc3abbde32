"""The row browser (b): every row, searched and filtered, any one opened in full.

A screen over the tabs, not a tab: what a class or a split holds, a file's rows, the
rows behind a finding and the lines that were not read are all one search away. The
search runs in a worker (a million texts), the list draws only the lines on screen.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from ..display import literal, visible
from ..engine.row_query import FINDINGS, RowMatches, RowQuery, matching_rows
from ..engine.session import Session
from .render import render_turns, turns
from .screens import PromptScreen
from .widgets.footer import KeysFooter
from .widgets.literal import LiteralStatic
from .widgets.rendered import Rendered
from .widgets.row_list import Cell, Column, RowList, cell_tail

COLUMNS = (Column("where", 16), Column("label", 10), Column("split", 7), Column("text", 80))
HELP = (
    "words to find in the text, and label:NAME split:NAME file:PART "
    f"finding:{'|'.join(FINDINGS)} (empty: every row)"
)


class RowsScreen(Screen[None]):
    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("enter", "open", "Open row"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, session: Session, query: str = "") -> None:
        super().__init__()
        self.session = session
        self.query_text = query
        self.matches: RowMatches | None = None
        # The search last asked for: one still running from before it is not shown when it
        # ends (a thread cannot be stopped, so a slow older search can end after a newer one).
        self._asked: RowQuery | None = None

    def compose(self) -> ComposeResult:
        yield LiteralStatic("Searching…", id="rows-summary")
        with Horizontal(id="rows-body"):
            yield RowList(COLUMNS, self._cells, id="rows-list")
            yield Rendered(id="rows-detail", back_to="#rows-list")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#rows-list", RowList).focus()
        self.search(self.query_text)

    def search(self, query: str) -> None:
        try:
            parsed = RowQuery.parse(query)
        except ValueError as exc:
            self.app.notify(str(exc), severity="warning")
            return
        self.query_text = query
        self.query_one("#rows-summary", LiteralStatic).update(
            literal(f"searching {parsed.describe()}…", "dim")
        )
        self._asked = parsed
        self._search(parsed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="rows")
    def _search(self, query: RowQuery) -> None:
        found = matching_rows(self.session, query)
        self.app.call_from_thread(self._found, query, found)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.worker_failed(event.worker)  # type: ignore[attr-defined]
            self.query_one("#rows-summary", LiteralStatic).update(
                literal("the search failed; / to search again", "red")
            )

    def _found(self, query: RowQuery, found: RowMatches) -> None:
        if query is not self._asked:
            return
        self.matches = found
        what = "bad lines" if found.bad_lines is not None else "rows"
        total = (
            self.session.dataset.bad_lines.height
            if found.bad_lines is not None
            else self.session.dataset.rows.height
        )
        self.query_one("#rows-summary", LiteralStatic).update(
            Text.assemble(
                (f"{len(found):,} of {total:,} {what}", "bold"),
                visible(f" · {query.describe()} · / searches · enter opens a row · esc closes"),
            )
        )
        self.query_one("#rows-list", RowList).reset(len(found), 0)
        self._show_row()

    # --- the list and the detail ------------------------------------------------------
    def _cells(self, index: int) -> list[Cell]:
        assert self.matches is not None
        if self.matches.bad_lines is not None:
            bad = self.matches.bad_lines.row(index, named=True)
            raw = (bad["raw"] or b"").decode("utf-8", errors="replace")
            where = cell_tail(f"{bad['file']}:{bad['line']}", COLUMNS[0].width)
            return [where, "bad line", "-", Text(visible(f"{bad['reason']} · {raw}"))]
        m = self.session.dataset.columns_of(
            [int(self.matches.rows[index])], "file", "line", "label", "split", "text"
        )
        file, line, label, split, text = m.row(0)
        where = cell_tail(f"{file}:{line}", COLUMNS[0].width)
        return [where, label or "-", split or "-", " ".join(text.split())]

    def on_row_list_highlighted(self, event: RowList.Highlighted) -> None:
        if event.row_list.id == "rows-list":
            self._show_row()

    def _show_row(self) -> None:
        detail = self.query_one("#rows-detail", Rendered)
        at = self.query_one("#rows-list", RowList).cursor_row
        if self.matches is None or not len(self.matches):
            detail.show(lambda width: Text("No rows match.", style="dim"))
            return
        if self.matches.bad_lines is not None:
            bad = self.matches.bad_lines.row(at, named=True)
            raw = (bad["raw"] or b"").decode("utf-8", errors="replace")
            parts: list[Any] = [
                literal(f"{bad['file']}:{bad['line']} · not read as a row", "bold"),
                literal(bad["reason"]),
                Text(""),
                literal(raw),
            ]
            detail.show(lambda width: Group(*parts))
            return
        ds = self.session.dataset
        row = int(self.matches.rows[at])
        m = ds.columns_of([row], "key", "file", "line", "label", "split", "text").row(0, named=True)
        raw = ds.raw_lines([row])[0]
        head = literal(
            f"{m['file']}:{m['line']} · {m['key']} · label {m['label'] or '-'} · split {m['split'] or '-'}",
            "bold",
        )
        body = render_turns(turns(raw, m["text"], ds.format_of(row)), None)
        detail.show(lambda width: Group(head, Text(""), body))

    # --- actions ----------------------------------------------------------------------
    def action_search(self) -> None:
        def done(value: str | None) -> None:
            if value is not None:
                self.search(value.strip())

        self.app.push_screen(PromptScreen(f"Search rows: {HELP}", value=self.query_text), done)

    def action_open(self) -> None:
        self.query_one("#rows-detail", Rendered).focus()

    def action_close(self) -> None:
        self.dismiss(None)

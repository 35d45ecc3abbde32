"""A tab that shows one of several lists (its views, a key each) beside the detail of the
item under the cursor: the skeleton the Coverage and Quality tabs share.

A subclass names its views (`VIEWS`: name -> (key, label)), the ids of its summary,
list and detail widgets, and gives `_listing()` (the columns, items and cells of the
view shown), `_header()` and `_render_detail()`; this class keeps the view, the items,
the cursor's place across redraws and the keys that switch views.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import polars as pl
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical

from ...engine.session import Session
from ..widgets.literal import LiteralStatic
from ..widgets.rendered import Rendered
from ..widgets.row_list import Cell, Column, RowList

Listing = tuple[list[Column], pl.DataFrame, Callable[[int], list[Cell]]]


def view_bindings(views: dict[str, tuple[str, str]]) -> list[Binding]:
    """One key per view, each switching the list to it (shown in the view bar, not the footer)."""
    return [Binding(key, f"view('{name}')", label, show=False) for name, (key, label) in views.items()]


class ViewTab(Vertical):
    VIEWS: ClassVar[dict[str, tuple[str, str]]]
    PREFIX: ClassVar[str]  # the widgets' ids: PREFIX-summary, -body, -list, -detail

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.view = next(iter(self.VIEWS))
        self.items: pl.DataFrame | None = None  # what the list shows, one item per line
        self._cells: Callable[[int], list[Cell]] = lambda i: []
        self._built = ""  # the view the list holds now

    def compose(self) -> ComposeResult:
        yield LiteralStatic("Loading…", id=f"{self.PREFIX}-summary")
        with Horizontal(id=f"{self.PREFIX}-body"):
            # Every item, however many: the list draws only the lines on screen.
            yield RowList([], lambda i: self._cells(i), id=f"{self.PREFIX}-list")
            yield Rendered(id=f"{self.PREFIX}-detail", back_to=f"#{self.PREFIX}-list")

    @property
    def listing(self) -> RowList:
        return self.query_one(f"#{self.PREFIX}-list", RowList)

    @property
    def detail(self) -> Rendered:
        return self.query_one(f"#{self.PREFIX}-detail", Rendered)

    def action_view(self, name: str) -> None:
        self.view = name
        if self.session.ready:
            self._fill()
        self.listing.focus()

    def _fill(self) -> None:
        listing = self.listing
        # A redraw after a decision keeps the person's place in the same list.
        keep = listing.cursor_row if self.items is not None and self._built == self.view else 0
        columns, self.items, self._cells = self._listing()
        self._built = self.view
        self._header()
        listing.reset(self.items.height, keep, columns)  # the detail follows its Highlighted

    def _item(self) -> dict[str, Any] | None:
        """The item under the cursor, or None when the list is empty."""
        listing = self.listing
        if self.items is None or not listing.row_count:
            return None
        return self.items.row(listing.cursor_row, named=True)

    def on_row_list_highlighted(self, event: RowList.Highlighted) -> None:
        if event.row_list is self.listing:
            self._render_detail()

    def _listing(self) -> Listing:
        raise NotImplementedError

    def _header(self) -> None:
        raise NotImplementedError

    def _render_detail(self) -> None:
        raise NotImplementedError

"""The one table widget every tab uses: a DataTable that also moves with j/k."""

from __future__ import annotations

from textual.binding import Binding

from .literal import LiteralDataTable


class KeyTable(LiteralDataTable):
    """j/k move like down/up (VisiData and vi habits), declared once for every table."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

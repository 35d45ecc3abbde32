"""Rendered: a detail pane whose content is drawn into lines once, at its width.

A Static inside a scroll box makes the whole screen lay out again whenever its text
changes height, and renders the text twice (once to measure it); on the Duplicates
tab that was most of the time a key took. This is a RichLog holding one entry: new
content is rendered once into lines, and only a change of width renders it again.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import RenderableType
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import RichLog

from .literal import DrawsLiterally


class Rendered(DrawsLiterally, RichLog):
    """Shows what `make(width)` returns, made again when the width changes.

    With focus, j/k scroll it as they move a list, and escape hands the keys back to
    the list it details (`back_to`), so no focus position swallows a tab's keys.
    """

    BINDINGS = [
        Binding("j", "scroll_down", "Scroll down", show=False),
        Binding("k", "scroll_up", "Scroll up", show=False),
        Binding("escape", "back", "Back to the list"),
    ]

    def __init__(self, *, id: str | None = None, back_to: str | None = None) -> None:
        super().__init__(id=id, wrap=True, markup=False, highlight=False, auto_scroll=False)
        self.back_to = back_to
        self._make: Callable[[int], RenderableType] | None = None
        self._drawn_at = 0  # the width the lines were rendered for; 0 when not rendered

    @property
    def text(self) -> str:
        """The lines shown, as plain text."""
        return "\n".join(line.text for line in self.lines)

    def show(self, make: Callable[[int], RenderableType]) -> None:
        self._make = make
        self._drawn_at = 0
        self._draw()

    def _draw(self) -> None:
        width = self.scrollable_content_region.width
        if self._make is None or width <= 0 or width == self._drawn_at:
            return  # hidden (the tab is not shown), or already drawn at this width
        self._drawn_at = width
        self.clear()
        self.write(self._make(width), width=width)
        self.scroll_home(animate=False, immediate=True)

    def action_back(self) -> None:
        if self.back_to is not None:
            self.screen.query_one(self.back_to).focus()

    def on_resize(self, event: Resize) -> None:
        # Textual calls RichLog's own on_resize as well (handlers run along the MRO).
        self._draw()

"""The footer: the keys that work here, drawn as one line of text."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

# Keys that always show, in this order, at the right of the footer (by binding key).
PINNED = ("question_mark", "w", "q")
PALETTE_FROM = 100  # columns from which the command palette's key shows too


class KeysFooter(Widget):
    """The active keys and what they do, like Textual's Footer, as a single widget.

    Textual's Footer recomposes on every change of keys (every focus change, so every
    tab switch): a widget per key, each styled and laid out anew, ~10 ms of a tab
    switch at 100 columns and more while a worker competes for the CPU; and each
    removed key stayed bound to the footer, so a long session piled up dead widgets for
    the garbage collector. This one redraws one line. A click on a key presses it.
    """

    COMPONENT_CLASSES = {"keys-footer--key", "keys-footer--description"}
    DEFAULT_CSS = """
    KeysFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        .keys-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .keys-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # (first column, end column, key, enabled) of each key as last drawn, for clicks.
        self.spans: list[tuple[int, int, str, bool]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._keys_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _keys_changed(self, screen: Screen) -> None:
        if screen is self.screen:
            self.refresh()

    def shown_keys(self) -> list[tuple[str, str, str, bool]]:
        """(key, shown as, description, enabled) of each shown key, one per action, in
        the order the focused widget and its ancestors declare them."""
        seen: set[str] = set()
        shown = []
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in seen:
                seen.add(binding.action)
                shown.append((binding.key, self.app.get_key_display(binding), binding.description, enabled))
        return shown

    def _palette_key(self) -> tuple[str, str, str, bool] | None:
        """The command palette's key, which Textual's footer keeps at the right edge."""
        if not self.app.ENABLE_COMMAND_PALETTE:
            return None
        found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if found is None:
            return None
        _node, binding, enabled, _tooltip = found
        return binding.key, self.app.get_key_display(binding), binding.description, enabled

    def render(self) -> Text:
        styles = (
            self.get_component_rich_style("keys-footer--key"),
            self.get_component_rich_style("keys-footer--description"),
        )
        keys = self.shown_keys()
        # Help, write and quit always show, at the right; the palette's key joins them
        # where there is room for it. The tab's own keys fill the rest in the order the
        # tab declares them (its most important first), each whole or not at all.
        pinned = [k for k in keys if k[0] in PINNED]
        pinned.sort(key=lambda k: PINNED.index(k[0]))
        palette = self._palette_key()
        if palette and self.size.width >= PALETTE_FROM:
            pinned.append(palette)
        right, right_spans = _draw(pinned, *styles)
        width = max(0, self.size.width - right.cell_len)
        left, left_spans = _draw(_fitting([k for k in keys if k[0] not in PINNED], width, *styles), *styles)
        left.truncate(width, pad=True)
        self.spans = left_spans + [
            (start + width, end + width, key, on) for start, end, key, on in right_spans
        ]
        return Text.assemble(left, right, no_wrap=True, overflow="crop", end="")

    def on_mouse_down(self, event: events.MouseDown) -> None:
        for start, end, key, enabled in self.spans:
            if start <= event.x < end:
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return


def _fitting(
    keys: list[tuple[str, str, str, bool]], width: int, key_style: Style, description_style: Style
) -> list[tuple[str, str, str, bool]]:
    """The first keys that fit in `width` columns, each whole (a key's cells do not
    depend on its neighbours, so each is measured once)."""
    fitting, used = [], 0
    for key in keys:
        used += _draw([key], key_style, description_style)[0].cell_len
        if used > width:
            break
        fitting.append(key)
    return fitting


def _draw(
    keys: list[tuple[str, str, str, bool]], key_style: Style, description_style: Style
) -> tuple[Text, list[tuple[int, int, str, bool]]]:
    """Keys as a line of text, and where each one is on it."""
    line = Text()
    spans = []
    for key, display, description, enabled in keys:
        start = line.cell_len
        line.append(f" {display} ", key_style)
        if description:
            line.append(f"{description} ", description_style)
        if not enabled:
            line.stylize("dim", start)
        spans.append((start, line.cell_len, key, enabled))
    return line, spans

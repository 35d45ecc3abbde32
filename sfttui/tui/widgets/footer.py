"""The footer: the keys that work here, drawn as one line of text."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


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
        palette = self._palette_key()
        right, right_spans = _draw([palette] if palette else [], *styles)
        if palette:
            right = Text.assemble(("▏", "dim"), right)
            right_spans = [(start + 1, end + 1, key, enabled) for start, end, key, enabled in right_spans]
        left, left_spans = _draw(self.shown_keys(), *styles)
        width = max(0, self.size.width - right.cell_len)
        left.truncate(width, pad=True)  # keys that do not fit are cut, the palette stays
        # A key cut off by the palette is clickable only where it shows.
        self.spans = [(a, min(b, width), key, on) for a, b, key, on in left_spans if a < width] + [
            (start + width, end + width, key, enabled) for start, end, key, enabled in right_spans
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

"""Modal screens: help (built from the live bindings), confirm, prompt, write, error."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input

from ..display import LiteralTable, literal, literal_block
from ..engine.errors import InputError
from .widgets.literal import LiteralStatic


class HelpScreen(ModalScreen[None]):
    """Every key active where `?` was pressed, generated so it cannot drift from the code."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = LiteralTable(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("key", style="bold cyan", no_wrap=True)
        table.add_column("does")
        table.add_column("where", style="dim")
        for key, description, where in self.rows:
            table.add_row(Text(key), Text(description), Text(where))
        with VerticalScroll(id="help-box", classes="modal-box"):
            yield LiteralStatic(Text("Keys  (esc closes)", style="bold"))
            yield LiteralStatic(table)


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("enter,y", "confirm", "Confirm"),
        Binding("escape,n", "cancel", "Cancel"),
    ]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        # The title and the keys stay in view and the body scrolls between them: on a
        # small terminal (60x16) the write dialog's last lines and its keys were cut off.
        with VerticalScroll(classes="modal-box"):
            yield LiteralStatic(literal(self.title_text, "bold"), classes="modal-title")
            yield LiteralStatic(literal_block(self.body))
            yield LiteralStatic(Text("enter confirms · esc cancels", style="dim"), classes="modal-keys")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class PromptScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, placeholder: str = "", value: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield LiteralStatic(literal(self.title_text, "bold"))
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")
            yield LiteralStatic(Text("enter applies · esc cancels", style="dim"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ErrorScreen(ModalScreen[None]):
    """Shown when the data cannot be read: the message, and a way out."""

    BINDINGS = [Binding("q,escape,enter", "app.quit", "Quit")]

    def __init__(self, message: str, title: str = InputError.title) -> None:
        super().__init__()
        self.message, self.title = message, title

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box error-box"):
            yield LiteralStatic(Text(self.title, style="bold red"))
            yield LiteralStatic(literal_block(self.message), id="error-message")
            yield LiteralStatic(Text("q quits", style="dim"))

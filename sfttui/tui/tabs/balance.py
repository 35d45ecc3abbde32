"""Balance tab: per-label bars overall and per split, baseline, ratio; cap or accept a skew."""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ...display import literal, visible
from ...engine.analyses.balance import SKEW_KINDS
from ...engine.decisions import Resolution
from ...engine.findings import many
from ...engine.session import NotAnalysed, Session
from ..messages import DecisionsChanged
from ..render import bar
from ..screens import PromptScreen
from ..widgets.literal import LiteralStatic
from ..widgets.tables import KeyTable

BAR = 16
# A longer label is cut with "…": one of 120 characters pushed every count off the screen.
LABEL_WIDTH = 32


class BalanceTab(Vertical):
    BINDINGS = [
        Binding("c", "cap", "Cap class"),
        Binding("d", "deliberate", "Mark deliberate"),
    ]

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session

    def compose(self) -> ComposeResult:
        yield LiteralStatic("Loading…", id="balance-summary")
        yield KeyTable(id="labels", cursor_type="row")
        yield LiteralStatic("", id="balance-notes")

    def show(self, session: Session) -> None:
        bal = session.balance
        table = self.query_one("#labels", DataTable)
        # Drawn again after each decision: the cursor stays on its label, so the next key
        # acts on the label the person sees (it went back to the first row).
        was = self._label()
        table.clear(columns=True)
        if not bal.applies or bal.overall is None:
            self.query_one("#balance-summary", Static).update(
                literal(f"Balance does not apply: {bal.reason}", "dim")
            )
            self.query_one("#balance-notes", Static).update("")
            return
        o = bal.overall
        res = session.resolution()
        self.query_one("#balance-summary", Static).update(
            Text.assemble(
                (f"{many(len(o.counts), 'label')} · {many(o.total, 'row')}", "bold"),
                f" · always guessing '{visible(o.majority_label)}' scores ",
                (f"{o.majority_baseline:.1%}", "bold"),
                f" · imbalance ratio {o.imbalance_ratio:.1f} · normalised entropy {o.entropy:.2f}",
            )
        )
        splits = list(bal.per_split)
        widest = max((cell_len(visible(label)) for label in o.counts), default=5)
        table.add_column("label", key="label", width=min(max(widest, 5), LABEL_WIDTH))
        table.add_column("rows", key="rows")
        table.add_column("after", key="after")  # after the decisions so far: drops and caps
        table.add_column("share", key="share")
        table.add_column("", key="bar", width=BAR)
        for name in splits:
            table.add_column(name[:5], key=f"s:{name}")
        table.add_column("decision", key="decision")
        top = max(o.counts.values())
        after = _after_decisions(session, res)
        for label, n in o.counts.items():
            decision = ""
            if label in res.caps:
                decision = f"cap {res.caps[label]:,}"
            if label in res.deliberate:
                decision = (decision + " " if decision else "") + "deliberate"
            left = after.get(label, 0)
            cells: list[Any] = [
                Text(label, no_wrap=True, overflow="ellipsis"),
                f"{n:,}",
                Text(f"{left:,}", style="dim" if left == n else "bold yellow"),
                f"{n / o.total:.1%}",
                Text(bar(n / top, BAR), style="red" if label in bal.rare_labels else "green"),
            ]
            for name in splits:
                s = bal.per_split[name]
                share = s.counts.get(label, 0) / max(s.total, 1)
                top_share = max(s.counts.values()) / max(s.total, 1) if s.counts else 1
                cells.append(Text.assemble((bar(share / top_share, 4), "cyan"), f" {share:.0%}"))
            cells.append(decision)
            table.add_row(*cells, key=label)
        if was is not None and was in o.counts:
            table.move_cursor(row=table.get_row_index(was))
        # A skew marked deliberate is no longer warned about; other findings stay.
        warnings = [
            w for w in bal.warnings if not (set(w.labels) & set(res.deliberate) and w.kind in SKEW_KINDS)
        ]
        notes = Text()
        for w in warnings:
            notes.append(visible(f"⚠ {w}") + "\n", style="yellow")
        for label, note in res.deliberate.items():
            notes.append(
                visible(f"✓ imbalance of '{label}' marked deliberate ({note})") + "\n", style="green"
            )
        notes.append(
            "c caps the selected label (extra rows dropped at export, chosen with the seed) · "
            "d marks its imbalance deliberate",
            style="dim",
        )
        self.query_one("#balance-notes", Static).update(notes)

    def _label(self) -> str | None:
        table = self.query_one("#labels", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value) if key is not None else None

    def _labels_shown(self) -> None:
        """NotAnalysed before the table has labels (the app says "Still working"): a key
        that found no label said nothing at all."""
        if not self.session.ready:
            raise NotAnalysed

    def action_cap(self) -> None:
        self._labels_shown()
        if self.app.refused_read_only():  # type: ignore[attr-defined]
            return
        label = self._label()
        if label is None:
            return

        def done(value: str | None) -> None:
            if not value:
                return
            try:
                limit = int(value.replace(",", ""))
            except ValueError:
                self.app.notify(f"Not a number: {value}", severity="error")
                return
            # The session refuses what the journal could not read back: a negative cap (taken,
            # then dropped on reopening) or one past 64 bits (it ended the app).
            try:
                self.session.cap(label, limit)
            except ValueError:
                self.app.notify(
                    f"A cap on '{_named(label)}' is a number of rows, 0 or more: not {limit:,}.",
                    severity="error",
                )
                return
            self.app.notify(f"'{_named(label)}' capped at {many(limit, 'row')} (journal).")
            self.post_message(DecisionsChanged())

        self.app.push_screen(
            PromptScreen(f"Cap '{_named(label)}' at how many rows?", placeholder="e.g. 500"), done
        )

    def action_deliberate(self) -> None:
        self._labels_shown()
        if self.app.refused_read_only():  # type: ignore[attr-defined]
            return
        label = self._label()
        if label is not None:
            self.session.deliberate(label)
            self.app.notify(f"Imbalance of '{_named(label)}' marked deliberate (journal).")
            self.post_message(DecisionsChanged())


def _named(label: str, most: int = 60) -> str:
    """A label as a prompt or a notice names it: a long one cut (a 3,000-character label
    pushed the cap prompt's input off the screen, and its notice covered the screen)."""
    return label if len(label) <= most else label[: most - 1] + "…"


def _after_decisions(session: Session, res: Resolution) -> dict[str, int]:
    """Rows per label once the person's decisions apply: rows dropped by a decision left
    out, caps applied (the automatic drop of exact copies happens at export, on top)."""
    rows = session.dataset.rows.select("key", "label").drop_nulls("label")
    if res.dropped:
        rows = rows.filter(~pl.col("key").is_in(list(res.dropped)))
    counts = dict(rows.group_by("label").len().iter_rows())
    return {label: min(n, res.caps.get(label, n)) for label, n in counts.items()}

"""Overview tab: inputs, bad lines (browsable), findings at a glance, what to do next."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ..engine.session import Session
from .render import bar
from .tables import KeyTable

MAX_BAD_ROWS = 1000


class OverviewTab(Vertical):
    def compose(self) -> ComposeResult:
        yield Static("Loading…", id="overview-summary")
        yield Static("", id="overview-bad-title")
        yield KeyTable(id="bad-lines", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self._bad_table()

    def _bad_table(self, rows: Sequence[tuple[str, int, str]] = ()) -> DataTable:
        """The bad-lines table holding `rows`. Column widths are measured here, not left
        to the table's next idle moment, so the first frame after the analyses (and a
        screenshot taken then) already shows whole reasons."""
        table = self.query_one("#bad-lines", DataTable)
        table.clear(columns=True)
        for i, name in enumerate(("file", "line", "reason")):
            width = max([len(name), *(cell_len(str(r[i])) for r in rows)])
            table.add_column(name, key=name, width=width)
        table.add_rows(rows)
        return table

    def show_progress(self, done: dict[str, float], names: dict[str, str]) -> None:
        """While the analyses run: one bar per stage, so the person sees what is going on."""
        table = Table(box=None, pad_edge=False, show_header=False)
        table.add_column(style="bold")
        table.add_column()
        table.add_column(justify="right")
        for stage, name in names.items():
            fraction = done.get(stage)
            if fraction is None:
                table.add_row(name, Text(bar(0, 24), style="dim"), Text("waiting", style="dim"))
            else:
                style = "green" if fraction >= 1 else "cyan"
                table.add_row(name, Text(bar(fraction, 24), style=style), f"{fraction:.0%}")
        body = Table.grid()
        body.add_row(Text("Working… (keys work meanwhile; q quits at once)", style="bold"))
        body.add_row(table)
        self.query_one("#overview-summary", Static).update(body)

    def show(self, session: Session) -> None:
        ds, dup, bal, leak = session.dataset, session.duplicates, session.balance, session.leakage
        assert ds is not None and dup is not None and bal is not None and leak is not None
        inputs = Table(box=None, pad_edge=False, header_style="bold dim", expand=False)
        for col in ("file", "format", "rows", "set aside", "label", "split"):
            inputs.add_column(col, justify="right" if col in ("rows", "set aside") else "left")
        for info in ds.inputs:
            inputs.add_row(
                info.name,
                info.format,
                f"{info.rows:,}",
                f"{info.bad:,}",
                info.fields.get("label") or "-",
                info.fields.get("split") or "-",
            )
        undecided = dup.clusters.height - session.decided_clusters()
        findings = Table(box=None, pad_edge=False, show_header=False)
        findings.add_column(style="bold")
        findings.add_column()
        findings.add_row(
            "duplicates",
            f"{dup.rows_removable:,} rows removable in {dup.clusters.height:,} clusters; "
            f"{undecided:,} undecided",
        )
        findings.add_row("conflicts", f"{dup.conflicts.height:,} clusters with mixed labels")
        if bal.applies and bal.overall:
            o = bal.overall
            findings.add_row(
                "balance",
                f"always '{o.majority_label}' scores {o.majority_baseline:.1%}; "
                f"ratio {o.imbalance_ratio:.1f}; {len(bal.warnings)} warnings",
            )
        else:
            findings.add_row("balance", Text(bal.reason, style="dim"))
        findings.add_row(
            "leakage",
            f"{leak.total:,} hits" if ds.has_splits or leak.eval_inputs else "no splits, no eval set",
        )
        steps = []
        if undecided:
            steps.append("F2 Duplicates: triage clusters (a accept, 1-9 keeper, x keep all)")
        if bal.warnings:
            steps.append("F3 Balance: cap a class or mark the imbalance deliberate")
        steps.append("w: write train/validation/test")
        body = Table.grid(padding=(0, 0))
        body.add_row(Text(f"{ds.rows.height:,} rows · keys: {ds.key_source}", style="bold"))
        body.add_row(inputs)
        body.add_row(findings)
        body.add_row(Text("next: " + " · ".join(steps), style="cyan"))
        for note in ds.notes + (session.journal.problems if session.journal else []):
            body.add_row(Text(f"note: {note}", style="yellow"))
        self.query_one("#overview-summary", Static).update(body)
        bad = ds.bad_lines
        shown = min(bad.height, MAX_BAD_ROWS)
        more = f" (showing {shown:,})" if bad.height > shown else ""
        title = f"bad lines: {bad.height:,}{more}" if bad.height else "bad lines: none"
        self.query_one("#overview-bad-title", Static).update(Text(title, style="bold"))
        self._bad_table(bad.head(shown).select("file", "line", "reason").rows())

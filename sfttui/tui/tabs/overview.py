"""Overview tab: inputs, bad lines (browsable), findings at a glance, what to do next."""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ...display import LiteralTable, literal
from ...engine.runtime.progress import Stage
from ...engine.session import Session
from ..render import bar
from ..widgets.literal import LiteralStatic
from ..widgets.row_list import Cell, Column, RowList

MAX_REASON = 500  # characters of a reason shown (the list scrolls sideways to them)


class OverviewTab(Vertical):
    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bad: pl.DataFrame | None = None  # the dataset's bad lines, as listed

    def compose(self) -> ComposeResult:
        yield LiteralStatic("Loading…", id="overview-summary")
        yield LiteralStatic("", id="overview-bad-title")
        # Every bad line, however many: the list draws only the lines on screen.
        yield RowList(_bad_columns(), self._bad_cells, id="bad-lines")

    def _bad_cells(self, index: int) -> list[Cell]:
        assert self.bad is not None
        bad = self.bad.row(index, named=True)
        return [bad["file"], f"{bad['line']:,}", bad["reason"][:MAX_REASON]]

    def _list_bad_lines(self, bad: pl.DataFrame) -> None:
        """List `bad` (once per dataset: the bad lines never change), with columns as
        wide as their longest value, so whole reasons show."""
        if bad is self.bad:
            return
        self.bad = bad
        # UTF-8 bytes, not characters: no character takes more cells than bytes (CJK
        # takes 2 and 3), so a wide name is never cut; an accented one gets some room.
        widths = (
            bad.select(
                pl.col("file").str.len_bytes().max(),
                pl.col("line").max().cast(pl.String).str.len_chars() * 4 // 3,  # with commas
                pl.col("reason").str.len_bytes().max().clip(upper_bound=MAX_REASON),
            ).row(0)
            if bad.height
            else (0, 0, 0)
        )
        self.query_one("#bad-lines", RowList).reset(self.bad.height, 0, _bad_columns(*widths))

    def show_progress(self, done: dict[Stage, float], stages: list[Stage]) -> None:
        """While the analyses run: one bar per stage, so the person sees what is going on."""
        table = LiteralTable(box=None, pad_edge=False, show_header=False)
        table.add_column(style="bold")
        table.add_column()
        table.add_column(justify="right")
        for stage in stages:
            name, fraction = stage.title, done.get(stage)
            if fraction is None:
                table.add_row(name, Text(bar(0, 24), style="dim"), Text("waiting", style="dim"))
            else:
                style = "green" if fraction >= 1 else "cyan"
                table.add_row(name, Text(bar(fraction, 24), style=style), f"{fraction:.0%}")
        body = LiteralTable.grid()
        body.add_row(Text("Working… (keys work meanwhile; q quits at once)", style="bold"))
        body.add_row(table)
        self.query_one("#overview-summary", Static).update(body)

    def show(self, session: Session) -> None:
        ds, dup, bal, leak = session.dataset, session.duplicates, session.balance, session.leakage
        inputs = LiteralTable(box=None, pad_edge=False, header_style="bold dim", expand=False)
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
        same_input = int((dup.clusters["side"] == "input").sum())
        findings = LiteralTable(box=None, pad_edge=False, show_header=False)
        findings.add_column(style="bold")
        findings.add_column()
        findings.add_row(
            "duplicates",
            f"{dup.rows_removable:,} rows removable in {dup.clusters.height:,} clusters"
            + (f" ({same_input:,} of them: same input, different response)" if same_input else "")
            + "; "
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
            f"{leak.total:,} hits"
            if ds.has_splits or leak.eval_inputs
            else "not checked: no splits, no eval set",
        )
        steps = []
        if undecided:
            steps.append("F2 Duplicates: triage clusters (a accept, 1-9 keeper, x keep all)")
        if bal.warnings:
            steps.append("F3 Balance: cap a class or mark the imbalance deliberate")
        steps.append("w: write train/validation/test")
        body = LiteralTable.grid(padding=(0, 0))
        body.add_row(literal(f"{ds.rows.height:,} rows · keys: {ds.key_source}", "bold"))
        body.add_row(inputs)
        body.add_row(findings)
        body.add_row(Text("next: " + " · ".join(steps), style="cyan"))
        journal = session.journal.problems + session.resolution().stale
        for note in ds.notes + journal:
            body.add_row(literal(f"note: {note}", "yellow"))
        self.query_one("#overview-summary", Static).update(body)
        bad = ds.bad_lines
        title = f"bad lines: {bad.height:,}" if bad.height else "bad lines: none"
        self.query_one("#overview-bad-title", Static).update(Text(title, style="bold"))
        self._list_bad_lines(bad)


def _bad_columns(file: int = 0, line: int = 0, reason: int = 0) -> list[Column]:
    return [
        Column("file", max(file, 4)),
        Column("line", max(line, 4), justify="right"),
        Column("reason", max(reason, 6)),
    ]

"""Overview tab: inputs, bad lines (browsable), findings at a glance, what to do next."""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ...display import LiteralTable, literal
from ...engine.analyses.coverage import split_series
from ...engine.findings import many
from ...engine.runtime.progress import Stage
from ...engine.session import Session
from ...inputs_table import inputs_table
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
        ds, leak = session.dataset, session.leakage
        # Eval sets and reference samples are inputs too: what was read of them, and what was not.
        evals = leak.eval_set.inputs if leak.eval_set is not None else []
        references = session.representativeness.reference_files
        inputs = inputs_table(
            ds.inputs, evals, references, box=None, pad_edge=False, header_style="bold dim", expand=False
        )
        findings, steps = _findings(session)
        body = LiteralTable.grid(padding=(0, 0))
        body.add_row(literal(f"{many(ds.rows.height, 'row')} · keys: {ds.key_source}", "bold"))
        body.add_row(inputs)
        body.add_row(findings)
        # The first three steps, in tab order: at 80x24 more would leave no room for the
        # bad lines; every warning above still names its tab.
        shown = steps[:3] + ([f"+{len(steps) - 3} more (⚠ above)"] if len(steps) > 3 else [])
        body.add_row(Text("next: " + " · ".join([*shown, "w: write train/validation/test"]), style="cyan"))
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


OK, WARN, UNCHECKED = ("✓", "green"), ("⚠", "yellow"), ("–", "dim")


def _findings(session: Session) -> tuple[LiteralTable, list[str]]:
    """Every analysis with its status (ok, warn, not checked and why), and the next
    step for each warning. Symbols as well as colours, so it reads without colour."""
    ds, dup, bal, leak = session.dataset, session.duplicates, session.balance, session.leakage
    cov, rep = session.coverage, session.representativeness
    table = LiteralTable(box=None, pad_edge=False, show_header=False)
    table.add_column(no_wrap=True)
    table.add_column()
    steps: list[str] = []

    def row(name: str, status: tuple[str, str], detail: str, step: str | None = None) -> None:
        # The symbol reads without colour; "not checked" is said in words.
        said = f"not checked: {detail}" if status is UNCHECKED else detail
        table.add_row(Text.assemble((status[0] + " ", status[1]), (name, "bold")), said)
        if step and status is WARN:
            steps.append(step)

    undecided = dup.clusters.height - session.decided_clusters()
    same_input = int(
        ((dup.clusters["side"] == "input") & ~dup.clusters["same_response"].fill_null(False)).sum()
    )
    row(
        "duplicates",
        WARN if undecided else OK,
        f"{many(dup.rows_removable, 'row')} removable in {many(dup.clusters.height, 'cluster')}"
        + (f" ({same_input:,} of them: same input, different response)" if same_input else "")
        + f"; {undecided:,} undecided",
        "F2 Duplicates: triage clusters (a accept, 1-9 keeper, x keep all)",
    )
    if not bal.applies or bal.overall is None:
        row("conflicts", UNCHECKED, bal.reason)
        row("balance", UNCHECKED, bal.reason)
    else:
        conflicts = dup.conflicts.height
        row("conflicts", WARN if conflicts else OK, f"{many(conflicts, 'cluster')} with mixed labels")
        o = bal.overall
        row(
            "balance",
            WARN if bal.warnings else OK,
            f"always '{o.majority_label}' scores {o.majority_baseline:.1%}; "
            f"ratio {o.imbalance_ratio:.1f}; {many(len(bal.warnings), 'warning')}",
            "F3 Balance: cap a class or mark the imbalance deliberate",
        )
    unchecked = session.leakage_unchecked()
    if not unchecked:
        checked = " and ".join(
            x
            for x, on in (
                ("between splits", session.splits_to_compare()),
                ("against eval sets", bool(leak.eval_inputs)),
            )
            if on
        )
        row(
            "leakage",
            WARN if leak.total else OK,
            f"{many(leak.total, 'hit')} ({checked})",
            "F5 Leakage: drop or move the leaking rows",
        )
    else:
        row("leakage", UNCHECKED, f"{many(leak.total, 'hit')}; {unchecked}" if leak.total else unchecked)
    if cov.ran:
        shortfalls = cov.warnings(split_series(ds))
        row(
            "hard data",
            WARN if shortfalls else OK,
            f"{many(len(shortfalls), 'shortfall')} against the rule of thumb"
            if shortfalls
            else "every kind at its target" + ("" if ds.has_splits else " overall (per planned split: F6)"),
            "F6 Coverage: what the data and each split lack",
        )
    else:
        row("hard data", UNCHECKED, cov.reason)
    source = "against the production sample" if rep.reference is not None else "training prompts alone"
    row(
        "vs production",
        WARN if rep.warnings else OK,
        f"{many(len(rep.warnings), 'warning')} ({source})"
        if rep.warnings
        else f"nothing stands out ({source})",
        "F6 Coverage, p: how the training prompts differ",
    )
    drift = session.drift
    if drift.ran:  # data without splits has nothing to drift between: no line for it
        row(
            "split drift",
            WARN if drift.warnings else OK,
            drift.summary(),
            "F6 Coverage, v: how each split differs from train",
        )
    q, lengths = session.quality, session.lengths
    found = [
        (name, n)
        for name, n, ran in (
            (f"{q.structure.height:,} malformed", q.structure.height, q.structure_ran),
            (many(q.templates.height, "template"), q.templates.height, q.templates_ran),
            (many(q.artifact_rows, "artifact"), q.artifact_rows, True),
            (many(session.outliers.count, "outlier"), session.outliers.count, session.outliers.ran),
            (
                f"{lengths.over.height:,} over {lengths.max_tokens or 0:,} tokens",
                lengths.over.height,
                lengths.max_tokens is not None,
            ),
        )
        if ran
    ]
    # One line with the lengths: on a small screen every line here is one fewer bad line.
    row(
        "row quality",
        WARN if any(n for _, n in found) else OK,
        " · ".join(said for said, _ in found) + f" · {lengths.brief()}",
        "F7 Quality: malformed rows, canned replies, placeholders, lengths",
    )
    return table, steps

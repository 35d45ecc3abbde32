"""The short human summary `sfttui scan` prints (rich tables, one screen)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..display import LiteralTable, literal, stdout_console
from ..engine.findings import many
from ..engine.registry import STEPS, findings, not_checked
from ..engine.scan import ScanResult
from ..engine.steps import Line
from ..inputs_table import inputs_table

_MAX_REASONS = 4


def _were(n: int) -> str:
    return "was" if n == 1 else "were"


def _bad_line_detail(result: ScanResult) -> str:
    bad = result.dataset.bad_lines
    if bad.height == 0:
        return "every record parsed and had text"
    reasons = Counter(r.split(":")[0] for r in bad["reason"].to_list())
    parts = [f"{reason} ×{n}" for reason, n in reasons.most_common(_MAX_REASONS)]
    first = bad.row(0, named=True)
    more = f", +{len(reasons) - _MAX_REASONS} more kinds" if len(reasons) > _MAX_REASONS else ""
    return f"{'; '.join(parts)}{more} (first: {first['file']}:{first['line']})"


def render_summary(result: ScanResult, fail_on: tuple[str, ...] = ()) -> Group:
    ds = result.dataset
    found = findings(result)
    head = Text.assemble(
        ("sfttui scan", "bold"),
        f"  {many(ds.rows.height, 'row')} from {many(len(ds.inputs), 'file')}",
        literal(f"  (row keys: {ds.key_source})"),
    )

    eval_set = result.leakage.eval_set if result.leakage is not None else None
    evals = eval_set.inputs if eval_set is not None else []
    rep = result.representativeness
    references = rep.reference_files if rep is not None else []
    inputs = inputs_table(
        ds.inputs, evals, references, box=None, pad_edge=False, show_edge=False, header_style="bold dim"
    )

    unchecked = not_checked(result)

    def mark(kind: str) -> Text:
        n = found.get(kind, 0)
        if kind in unchecked:
            # Not "ok": nothing was looked at. Under a gate it fails.
            return Text("FAIL" if kind in fail_on else "n/c", style="bold red" if kind in fail_on else "dim")
        if n == 0:
            return Text("ok", style="green")
        return Text("FAIL" if kind in fail_on else "warn", style="bold red" if kind in fail_on else "yellow")

    table = LiteralTable(box=None, pad_edge=False, show_edge=False, header_style="bold dim")
    table.add_column("check")
    table.add_column("", width=4)
    table.add_column("result", overflow="fold")
    table.add_row(
        "bad lines",
        mark("bad-lines"),
        f"{found['bad-lines']:,} set aside: {_bad_line_detail(result)}",
    )
    for info in ds.inputs:
        if info.mostly_set_aside:
            table.add_row(
                "",
                "",
                literal(f"most of {info.name} was set aside: {info.set_aside}", "bold red"),
            )
    for info in evals:
        if info.bad:
            table.add_row(
                "",
                "",
                literal(
                    f"{info.bad:,} of {info.records:,} records of eval set {info.name} "
                    f"{_were(info.bad)} set aside"
                    f"{info.unread_note}: those items are not checked for contamination",
                    "bold red",
                ),
            )
    for info in references:
        if info.bad:
            first = next(b for b in rep.reference_set_aside if b["excluded"] and b["file"] == info.name)
            table.add_row(
                "",
                "",
                literal(
                    f"{info.bad:,} of {info.records:,} records of reference {info.name} "
                    f"{_were(info.bad)} set aside"
                    f"{info.unread_note} (first: line {first['line']}: {first['reason']})",
                    "yellow",
                ),
            )
    for step in STEPS:
        for line in step.summary(result):
            _add_line(table, line, mark)

    ran = LiteralTable(box=None, pad_edge=False, show_edge=False, header_style="bold dim")
    ran.add_column("analysis")
    ran.add_column("")
    ran.add_column("how", overflow="fold", style="dim")
    for a in result.analyses:
        ran.add_row(
            a.name,
            Text("ran", style="green") if a.ran else Text("skipped", style="yellow"),
            a.detail,
        )
    parts: list = [head, Text(""), inputs, Text(""), table, Text(""), ran]
    for note in result.notes:
        parts.append(literal(f"note: {note}", "dim"))
    return Group(*parts)


def _add_line(table: Table, line: Line, mark: Callable[[str], Text]) -> None:
    if line.kind is not None:
        flag = mark(line.kind)
    elif line.flag is not None:
        flag = Text("warn", style="yellow") if line.flag else Text("ok", style="green")
    else:
        flag = Text("")
    table.add_row(line.check, flag, line.text)
    _warning_rows(table, list(line.warnings), line.shown, line.more)


def _warning_rows(table: Table, warnings: list[str], shown: int = 3, more: str = "more") -> None:
    for warning in warnings[:shown]:
        table.add_row("", "", literal(warning, "yellow"))
    if len(warnings) > shown:
        table.add_row("", "", Text(f"+{len(warnings) - shown} {more} (see the JSON report)", style="dim"))


def print_summary(result: ScanResult, fail_on: tuple[str, ...] = (), console: Console | None = None) -> None:
    (console or stdout_console()).print(render_summary(result, fail_on))

"""The short human summary `sfttui scan` prints (rich tables, one screen)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..display import LiteralTable, literal
from ..engine.analyses.coverage import KIND_SHORT, grouped_shortfalls, split_series
from ..engine.scan import ScanResult

_MAX_REASONS = 4


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
    ds, dup, bal = result.dataset, result.duplicates, result.balance
    found = result.findings()
    head = Text.assemble(
        ("sfttui scan", "bold"),
        f"  {ds.rows.height:,} rows from {len(ds.inputs)} file{'s' * (len(ds.inputs) != 1)}",
        literal(f"  (row keys: {ds.key_source})"),
    )

    inputs = LiteralTable(box=None, pad_edge=False, show_edge=False, header_style="bold dim")
    for col in ("file", "format", "rows", "set aside", "label", "split"):
        inputs.add_column(col, justify="right" if col in ("rows", "set aside") else "left")
    for info in ds.inputs:
        inputs.add_row(
            info.name,
            info.format + (f" ({info.compression})" if info.compression else ""),
            f"{info.rows:,}",
            f"{info.bad:,}",
            info.fields.get("label") or "-",
            info.fields.get("split") or "-",
        )

    unchecked = result.not_checked()

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
    by_side = dup.clusters.group_by("side", "kind").len()
    count = {(side, kind): n for side, kind, n in by_side.iter_rows()}
    exact, near = count.get(("example", "exact"), 0), count.get(("example", "near"), 0)
    same_input = count.get(("input", "exact"), 0) + count.get(("input", "near"), 0)
    table.add_row(
        "bad lines",
        mark("bad-lines"),
        f"{found['bad-lines']:,} set aside: {_bad_line_detail(result)}",
    )
    for info in ds.inputs:
        if info.bad > info.rows:  # most of a file unusable: the format or the file is likely wrong
            table.add_row(
                "",
                "",
                literal(
                    f"most of {info.name} was set aside: {info.bad:,} of {info.records:,} records", "bold red"
                ),
            )
    table.add_row(
        "duplicates",
        mark("duplicates"),
        f"{dup.rows_removable:,} rows removable in {exact + near:,} clusters "
        f"({exact:,} exact, {near:,} near at Jaccard ≥ {result.settings.near.threshold:g})",
    )
    if dup.input is not None:
        table.add_row(
            "same input",
            Text("warn", style="yellow") if same_input else Text("ok", style="green"),
            f"{same_input:,} clusters of rows whose inputs match "
            f"({count.get(('input', 'exact'), 0):,} exact, {count.get(('input', 'near'), 0):,} near) "
            "but whose responses differ",
        )
    if bal.applies:
        conflicts = dup.conflicts
        example = ""
        if conflicts.height:
            first = conflicts.row(0, named=True)
            example = f"; largest {first['id']}: {' / '.join(first['labels'])} ×{first['size']}"
        on_input = int((conflicts["side"] == "input").sum())
        sides = f" ({on_input:,} on the input alone)" if on_input else ""
        table.add_row(
            "label conflicts",
            mark("conflicts"),
            f"{conflicts.height:,} clusters with mixed labels{sides}{example}",
        )
        o = bal.overall
        assert o is not None
        table.add_row(
            "balance",
            mark("imbalance"),
            f"{len(o.counts)} labels; always guessing '{o.majority_label}' scores "
            f"{o.majority_baseline:.1%}; imbalance ratio {o.imbalance_ratio:.1f}; "
            f"entropy {o.entropy:.2f}",
        )
        others = [w for w in bal.warnings if w not in bal.mix_warnings]
        for warning in others[:3]:
            table.add_row("", "", literal(warning, "yellow"))
        if len(others) > 3:
            table.add_row(
                "",
                "",
                Text(f"+{len(others) - 3} more warnings (see the JSON report)", style="dim"),
            )
        if bal.per_split:
            mix = bal.mix_warnings
            table.add_row(
                "label mix",
                Text("warn", style="yellow") if mix else Text("ok", style="green"),
                f"{len(mix):,} labels far from their share in train"
                if mix
                else f"each label's share alike across {', '.join(bal.per_split)}",
            )
            for warning in mix[:3]:
                table.add_row("", "", literal(warning, "yellow"))
            if len(mix) > 3:
                table.add_row("", "", Text(f"+{len(mix) - 3} more (see the JSON report)", style="dim"))
    else:
        table.add_row("labels", mark("imbalance"), f"not checked: {bal.reason}")
    leak = result.leakage
    if result.dataset.has_splits or result.settings.eval_paths:
        counts = leak.counts()
        detail = ", ".join(f"{n:,} {kind}" for kind, n in counts.items()) or "none found"
        table.add_row("leakage", mark("leakage"), f"{leak.total:,} hits: {detail}")
    else:
        table.add_row("leakage", mark("leakage"), "not checked: no splits in the input and no --eval set")

    _coverage_rows(table, result, mark)
    _quality_rows(table, result, mark)

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


def _coverage_rows(table: Table, result: ScanResult, mark: Callable[[str], Text]) -> None:
    """The hard-data scorecard and the representativeness verdict, with their first warnings."""
    cov, rep = result.coverage, result.representativeness
    if cov.ran:
        lines, _ = cov.card(split_series(result.dataset))
        warnings = grouped_shortfalls([line.to_dict() for line in lines])
        card = " · ".join(
            f"{KIND_SHORT[line.kind]} "
            + (f"{line.total:,} {line.status(line.total)}" if line.applies else "n/a")
            for line in lines
        )
        table.add_row("hard data", mark("coverage"), card)
        _warning_rows(table, warnings)
    else:
        table.add_row("hard data", mark("coverage"), f"not checked: {cov.reason}")
    if rep.reference is not None:
        parts = []
        if rep.auc is not None:
            parts.append(f"adversarial AUC {rep.auc:.2f} (0.5 = alike)")
        if rep.psi is not None:
            parts.append(f"length PSI {rep.psi:.2f}")
        if rep.unseen_token_share is not None:
            parts.append(f"{rep.unseen_token_share:.0%} of reference words unseen")
        detail = f"vs {rep.reference.rows:,} reference prompts: " + (", ".join(parts) or "too few to compare")
    else:
        detail = "profile of the training prompts only (no --reference)"
    table.add_row("representative", mark("representativeness"), detail)
    _warning_rows(table, rep.warnings)
    table.add_row("split drift", mark("drift"), result.drift.summary())
    _warning_rows(table, result.drift.warnings)


def _quality_rows(table: Table, result: ScanResult, mark: Callable[[str], Text]) -> None:
    """Conversation structure, template replies and text artifacts, one line each."""
    q = result.quality
    table.add_row(
        "structure",
        mark("structure"),
        q.structure_detail() if q.structure_ran else f"not checked: {q.structure_reason}",
    )
    table.add_row(
        "templates",
        mark("templates"),
        q.template_detail() if q.templates_ran else f"not checked: {q.templates_reason}",
    )
    table.add_row("artifacts", mark("artifacts"), q.artifact_detail())
    table.add_row("outliers", mark("outliers"), result.outliers.summary())
    lengths = result.lengths
    table.add_row("lengths", mark("too-long"), lengths.summary())
    for row in lengths.over.head(3).iter_rows(named=True):
        table.add_row("", "", literal(f"{row['key']}: {row['total']:,} {lengths.label}", "yellow"))


def _warning_rows(table: Table, warnings: list[str], shown: int = 3) -> None:
    for warning in warnings[:shown]:
        table.add_row("", "", literal(warning, "yellow"))
    if len(warnings) > shown:
        table.add_row("", "", Text(f"+{len(warnings) - shown} more (see the JSON report)", style="dim"))


def print_summary(result: ScanResult, fail_on: tuple[str, ...] = (), console: Console | None = None) -> None:
    (console or Console()).print(render_summary(result, fail_on))

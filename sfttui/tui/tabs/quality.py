"""Quality tab: rows whose conversation is malformed, replies given to many rows, text
artifacts (placeholders, HTML leftovers, mojibake) and lengths in tokens, each with the
row beside it.

Views, one key each: structure problems, template replies, artifacts, lengths (the rows
over --max-tokens, or the longest, beside the histogram of every row's total), outliers
(rows unlike the rest, with the reason and a score). `d`
journals a drop like every other decision: the row on the row lists; on the template
list, every row giving that reply but the first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
from rich.console import Group
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from ...display import LiteralTable, literal
from ...engine.analyses.lengths import Lengths
from ...engine.analyses.outliers import REASONS as OUTLIER_REASONS
from ...engine.analyses.quality import ARTIFACT_NAMES, STRUCTURE_NAMES
from ...engine.session import Session
from ..messages import DecisionsChanged
from ..render import bar, render_turns, turns, view_bar
from ..widgets.row_list import Cell, Column, cell_tail
from .views import Listing, ViewTab, view_bindings

VIEWS: dict[str, tuple[str, str]] = {
    "structure": ("s", "Structure"),
    "templates": ("t", "Templates"),
    "artifacts": ("a", "Artifacts"),
    "lengths": ("l", "Lengths"),
    "outliers": ("o", "Outliers"),
}
PROBLEM_SHORT = {
    "ends-on-user": "ends on user",
    "starts-with-assistant": "starts w/ assistant",
    "repeated-role": "repeated role",
    "unknown-role": "unknown role",
    "empty-reply": "blank reply",
}
assert set(PROBLEM_SHORT) == set(STRUCTURE_NAMES)
ROWS_SHOWN = 30  # member keys a template's detail lists
LONGEST = 500  # rows the lengths view lists when no --max-tokens is given


def _histogram(lengths: Lengths, mark: int | None = None) -> LiteralTable:
    """Rows per bin of total tokens as bars; the bin holding `mark` (a row's total) flagged."""
    table = LiteralTable(box=None, pad_edge=False, show_header=True, header_style="dim")
    table.add_column(lengths.label, justify="right")
    table.add_column("rows")
    table.add_column("", justify="right")
    bins = lengths.histogram()
    top = max((n for _, _, n in bins), default=1) or 1
    limit = lengths.max_tokens
    for lo, hi, n in bins:
        here = mark is not None and lo <= mark and (hi is None or mark < hi)
        over = (limit is not None and hi is not None and hi > limit) or (limit is not None and hi is None)
        style = "bold red" if over else "green"
        span = f"{lo:,}+" if hi is None else f"{lo:,}-{hi - 1:,}"
        table.add_row(span, Text(bar(n / top, 20), style=style), f"{n:,}" + (" ◀" if here else ""))
    return table


class QualityTab(ViewTab):
    VIEWS = VIEWS
    PREFIX = "quality"
    BINDINGS = [*view_bindings(VIEWS), Binding("d", "drop", "Drop")]

    # --- data -------------------------------------------------------------------------
    def show(self, session: Session) -> None:
        if session.ready:
            self._fill()

    def _listing(self) -> Listing:
        q = self.session.quality
        views = {
            "structure": q.structure,
            "templates": q.templates,
            "artifacts": q.artifacts,
            "outliers": self.session.outliers.rows,
        }
        items = views[self.view] if self.view in views else self._length_items()
        return self._columns(), items, self._row_cells

    def _header(self) -> None:
        q = self.session.quality
        head = view_bar(VIEWS, self.view)
        verdict = {
            "structure": q.structure_detail() if q.structure_ran else f"not checked: {q.structure_reason}",
            "templates": q.template_detail() if q.templates_ran else f"not checked: {q.templates_reason}",
            "artifacts": q.artifact_detail(),
            "lengths": self.session.lengths.summary(),
            "outliers": self.session.outliers.summary(),
        }[self.view]
        assert self.items is not None
        self.query_one("#quality-summary", Static).update(
            Group(
                head,
                literal(
                    f"{verdict} · {self.items.height:,} listed", "yellow" if self.items.height else "green"
                ),
            )
        )

    def _columns(self) -> list[Column]:
        return {
            "structure": [Column("problems", 26), Column("row", 16)],
            "templates": [
                Column("rows", 6, justify="right"),
                Column("share", 6, justify="right"),
                Column("reply", 34),
            ],
            "artifacts": [Column("kind", 11), Column("evidence", 20), Column("row", 14)],
            "outliers": [Column("score", 5, justify="right"), Column("why", 11), Column("row", 16)],
            "lengths": [
                Column("total", 7, justify="right"),
                Column("prompt", 7, justify="right"),
                Column("reply", 7, justify="right"),
                Column("row", 16),
            ],
        }[self.view]

    def _length_items(self) -> pl.DataFrame:
        """The rows over --max-tokens; without a limit, the longest rows."""
        lengths = self.session.lengths
        if lengths.max_tokens is not None:
            return lengths.over
        longest = lengths.tokens.sort(["total", "row"], descending=[True, False]).head(LONGEST)
        return longest.with_columns(key=self.session.dataset.rows["key"].gather(longest["row"]))

    def _row_cells(self, index: int) -> list[Cell]:
        assert self.items is not None
        item = self.items.row(index, named=True)
        dropped = self._dropped()
        if self.view == "templates":
            reply = " ".join(item["reply"].split())
            return [f"{item['count']:,}", f"{item['share']:.1%}", reply[:200]]
        mark = "✗" if item["key"] in dropped else ""
        key = mark + cell_tail(item["key"], 16 - len(mark))
        if self.view == "structure":
            return [", ".join(PROBLEM_SHORT[p] for p in item["problems"]), key]
        if self.view == "lengths":
            return [f"{item['total']:,}", f"{item['prompt']:,}", f"{item['response']:,}", key]
        if self.view == "outliers":
            return [f"{item['score']:.2f}", item["reason"], key]
        return [item["kind"], " ".join(item["evidence"].split()), key]

    def _dropped(self) -> set[str]:
        return set(self.session.resolution().dropped) if self.session.ready else set()

    # --- detail pane ------------------------------------------------------------------
    def _render_detail(self) -> None:
        item = self._item()
        detail = self.detail
        if item is None:
            q = self.session.quality
            empty = {
                "structure": "Every conversation is well formed."
                if q.structure_ran
                else f"Not checked: {q.structure_reason}.",
                "templates": "No reply is given to many rows."
                if q.templates_ran
                else f"Not checked: {q.templates_reason}.",
                "artifacts": "No placeholders, HTML leftovers or mojibake.",
                "lengths": f"No row over --max-tokens {self.session.lengths.max_tokens}.",
                "outliers": self.session.outliers.summary().capitalize() + ".",
            }[self.view]
            if self.view == "lengths":
                chart = _histogram(self.session.lengths)
                detail.show(lambda width: Group(Text(empty, style="green"), chart))
                return
            detail.show(lambda width: Text(empty, style="dim"))
            return
        render: Callable[[dict[str, Any]], Group] = (
            self._template_detail if self.view == "templates" else self._row_detail
        )
        content = render(item)
        detail.show(lambda width: content)

    def _row_detail(self, item: dict[str, Any]) -> Group:
        ds = self.session.dataset
        row = item["row"]
        if self.view == "structure":
            head = [literal(STRUCTURE_NAMES[p].capitalize(), "bold") for p in item["problems"]]
        elif self.view == "outliers":
            head = [
                literal(OUTLIER_REASONS[item["reason"]].capitalize(), "bold"),
                literal(f"{item['detail']} · score {item['score']:.2f} (1 = the threshold)", "dim"),
            ]
        elif self.view == "lengths":
            lengths = self.session.lengths
            split = f"prompt {item['prompt']:,}, response {item['response']:,}"
            head = [
                literal(f"{item['total']:,} {lengths.label}: {split}", "bold"),
                _histogram(lengths, item["total"]),
            ]
        else:
            head = [
                literal(ARTIFACT_NAMES[item["kind"]].capitalize(), "bold"),
                literal(f"found: {item['evidence']}", "dim"),
            ]
        mark = (
            Text("✗ marked to drop (u undoes)", style="red") if item["key"] in self._dropped() else Text("")
        )
        parts = turns(ds.raw_lines([row])[0], ds.rows["text"][row], ds.format_of(row))
        return Group(*head, mark, literal(item["key"], "bold cyan"), render_turns(parts, None))

    def _template_detail(self, item: dict[str, Any]) -> Group:
        keys = self.session.dataset.rows["key"].gather(item["rows"][:ROWS_SHOWN]).to_list()
        more = item["count"] - len(keys)
        dropped = self._dropped()
        return Group(
            literal(f"Given to {item['count']:,} rows ({item['share']:.1%} of replies)", "bold"),
            literal(item["reply"]),
            Text(""),
            Text("rows giving it (first kept by d):", style="dim"),
            literal(
                ", ".join(("✗" if k in dropped else "") + k for k in keys)
                + (f" +{more:,} more" if more > 0 else "")
            ),
            Text("\nd drops every row giving this reply but the first", style="dim"),
        )

    # --- actions ----------------------------------------------------------------------
    def action_drop(self) -> None:
        if self.app.refused_read_only():  # type: ignore[attr-defined]
            return
        item = self._item()
        if item is None:
            self.app.notify("Nothing listed here to drop.")
            return
        if self.view == "templates":
            keys = self.session.dataset.rows["key"].gather(item["rows"][1:]).to_list()
            reason = f"template reply given to {item['count']:,} rows: the first kept"
        elif self.view == "structure":
            keys = [item["key"]]
            reason = "conversation structure: " + ", ".join(item["problems"])
        elif self.view == "outliers":
            keys = [item["key"]]
            reason = f"outlier ({item['reason']}): {item['detail']}"
        elif self.view == "lengths":
            keys = [item["key"]]
            limit = self.session.lengths.max_tokens
            over = f"over --max-tokens {limit:,}: " if limit is not None else "long row: "
            reason = f"{over}{item['total']:,} {self.session.lengths.label}"
        else:
            keys = [item["key"]]
            reason = f"{ARTIFACT_NAMES[item['kind']]}: {item['evidence']}"
        self.session.drop_rows(keys, reason=reason)
        self.listing.action_move(1)
        said = keys[0] if len(keys) == 1 else f"{len(keys):,} rows"
        self.app.notify(f"{said} will be dropped (journal).")
        self.post_message(DecisionsChanged())

"""Leakage tab: hits between splits and against eval sets; both rows with the overlap shown."""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from ...display import literal, visible
from ...engine.findings import many
from ...engine.session import Session
from ..messages import DecisionsChanged
from ..render import render_turns, turns, words
from ..screens import ConfirmScreen
from ..widgets.literal import LiteralStatic
from ..widgets.rendered import Rendered
from ..widgets.row_list import Cell, Column, RowList, cell_tail

COLUMNS = [Column("kind", 13), Column("splits", 11), Column("J", 5), Column("row", 12)]
# What matched, shown after the kind: the input alone, or an eval item's reference answer.
_SIDE_MARK = {"input": " (input)", "answer": " (answer)"}


class LeakageTab(Vertical):
    BINDINGS = [
        Binding("d", "drop_train", "Drop train-side row"),
        Binding("o", "drop_other", "Drop other-side row"),
        Binding("m", "move_group", "Move group to train side"),
        Binding("D", "drop_train_all", "Drop all of kind"),
    ]

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.hits: pl.DataFrame | None = None
        self._dropped: dict[str, Any] = {}  # what the journal decides, as of the last redraw
        self._moved: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield LiteralStatic("Loading…", id="leak-summary")
        with Horizontal(id="leak-body"):
            # Every hit, however many: the list draws only the lines on screen.
            yield RowList(COLUMNS, self._cells, id="hits")
            yield Rendered(id="leak-detail", back_to="#hits")

    def show(self, session: Session) -> None:
        leak = session.leakage
        between = leak.between_splits.select(
            kind=pl.col("kind") + pl.col("side").fill_null("").replace_strict(_SIDE_MARK, default=""),
            a="key_a",
            a_split="split_a",
            b="key_b",
            b_split="split_b",
            sim="similarity",
            detail="detail",
        )
        evals = leak.eval_hits.select(
            kind=pl.lit("eval-")
            + pl.col("kind")
            + pl.col("side").fill_null("").replace_strict(_SIDE_MARK, default=""),
            a="key",
            a_split=pl.col("split").fill_null("data"),
            b="eval_key",
            b_split=pl.lit("eval"),
            sim=pl.coalesce("similarity", pl.col("shared_ngrams").cast(pl.Float64)),
            detail=pl.col("eval_file"),
        )
        self.hits = pl.concat([between, evals])
        res = session.resolution()
        self._dropped, self._moved = res.dropped, res.moves
        hits = self.query_one("#hits", RowList)
        hits.reset(self.hits.height, hits.cursor_row)  # a redraw after a decision stays in place
        checked = []
        if session.splits_to_compare():
            checked.append("between splits")
        if leak.eval_inputs:
            checked.append("eval: " + ", ".join(i["name"] for i in leak.eval_inputs))
        unchecked = session.leakage_unchecked()
        summary = Text.assemble(
            (f"{self.hits.height:,} leakage hits", "bold"),
            visible(f" · checked: {', '.join(checked)}") if checked else "",
            (visible(f" · not checked: {unchecked}"), "bold red") if unchecked else "",
        )
        self.query_one("#leak-summary", Static).update(summary)

    def _cells(self, index: int) -> list[Cell]:
        """The list's cells for hit `index` (drawn when on screen)."""
        assert self.hits is not None
        h = self.hits.row(index, named=True)
        key = h["b"] if h["b_split"] != "eval" else h["a"]
        mark = "✗ " if h["a"] in self._dropped or h["b"] in self._dropped else ""
        mark = f"→ {mark}" if h["b"] in self._moved else mark
        sim = "" if h["sim"] is None else (f"{h['sim']:.2f}" if h["sim"] <= 1 else f"{int(h['sim'])} ng")
        # The mark stays; a long key loses its start.
        row = mark + cell_tail(key, COLUMNS[3].width - len(mark))
        return [h["kind"], f"{h['a_split'][:5]}/{h['b_split'][:5]}", sim, row]

    def _hit(self) -> dict[str, Any] | None:
        hits = self.query_one("#hits", RowList)
        if self.hits is None or not hits.row_count:
            return None
        return self.hits.row(hits.cursor_row, named=True)

    def _turns_of(self, key: str, eval_side: bool = False) -> tuple[str, list[tuple[str, str]]]:
        """Text of a row of the data, or of an eval item, and its parts as its format reads
        its original line."""
        leak, ds = self.session.leakage, self.session.dataset
        rows = leak.eval_set if eval_side else ds
        row = rows.row_of(key) if rows is not None else None
        if rows is None or row is None:
            return key, [("text", key)]
        text = rows.rows.get_column("text")[row]
        return text, turns(rows.raw_lines([row])[0], text, rows.format_of(row))

    def _nothing(self) -> str:
        """What an empty list means: no leak found, or nothing was looked at."""
        if self.hits is None:
            return ""
        unchecked = self.session.leakage_unchecked()
        if unchecked:
            return f"Leakage not checked: {unchecked}."
        return "No leakage found."

    def _render_detail(self) -> None:
        hit = self._hit()
        detail = self.query_one("#leak-detail", Rendered)
        if hit is None:
            empty = Text(self._nothing(), style="dim")
            detail.show(lambda width: empty)
            return
        a_text, a_turns = self._turns_of(hit["a"])
        b_text, b_turns = self._turns_of(hit["b"], eval_side=hit["b_split"] == "eval")
        parts = [
            literal(f"{hit['kind']} · {hit['a_split']} ↔ {hit['b_split']}", "bold"),
            Text("shared words are highlighted", style="dim"),
            Text.assemble("\n", literal(f"{hit['a_split']}: {hit['a']}", "bold cyan")),
            render_turns(a_turns, words(b_text), common=True),
            Text.assemble("\n", literal(f"{hit['b_split']}: {hit['b']}", "bold cyan")),
            render_turns(b_turns, words(a_text), common=True),
        ]
        detail.show(lambda width: Group(*parts))

    def on_row_list_highlighted(self, event: RowList.Highlighted) -> None:
        if event.row_list.id == "hits":
            self._render_detail()

    def _drop(self, side: str) -> None:
        hit = self._hit()
        if hit is None:
            return
        if side == "other" and hit["b_split"] == "eval":
            self.app.notify("The eval item is not part of this data; drop the training row with d.")
            return
        key = hit["a"] if side == "train" else hit["b"]
        self.session.drop_rows(
            [key], reason=f"leaked across {hit['a_split']}/{hit['b_split']} ({hit['kind']})"
        )
        self.app.notify(f"{key} will be dropped (journal).")
        self.post_message(DecisionsChanged())

    def action_move_group(self) -> None:
        """Move the leaking row's whole group or cluster to the anchor's split."""
        if self.app.refused_read_only():  # type: ignore[attr-defined]
            return
        hit = self._hit()
        if hit is None:
            return
        if hit["b_split"] == "eval":
            self.app.notify("An eval hit has no split to move; drop the training row with d.")
            return
        keys = self.session.group_keys(hit["kind"], hit["detail"])
        self.session.move_rows(keys, hit["a_split"], reason=f"{hit['kind']} leak {hit['detail']}")
        go = "goes" if len(keys) == 1 else "go"
        self.app.notify(f"{many(len(keys), 'row')} of {hit['detail']} {go} to {hit['a_split']} (journal).")
        self.post_message(DecisionsChanged())

    def action_drop_train(self) -> None:
        if self.app.refused_read_only():  # type: ignore[attr-defined]
            return
        self._drop("train")

    def action_drop_train_all(self) -> None:
        """Drop the train-side row of every hit of the selected hit's kind: one journal
        entry, asked first, that one u undoes (310 hits took 310 presses of d)."""
        if self.app.refused_read_only():  # type: ignore[attr-defined]
            return
        hit = self._hit()
        if hit is None or self.hits is None:
            return
        kind = hit["kind"]
        keys = [
            k
            for k in self.hits.filter(pl.col("kind") == kind)["a"].unique(maintain_order=True).to_list()
            if k not in self._dropped
        ]
        if not keys:
            self.app.notify(f"Every train-side row of the {kind} hits is already dropped.")
            return

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self.session.drop_rows(keys, reason=f"leaked ({kind}), dropped with every hit of its kind")
                self.app.notify(f"{many(len(keys), 'row')} will be dropped (one journal entry; u undoes it).")
                self.post_message(DecisionsChanged())

        body = (
            f"Drop the train-side row of every {kind} hit: {many(len(keys), 'row')}? "
            "One journal entry: u undoes it."
        )
        self.app.push_screen(ConfirmScreen(f"Drop every {kind} leak", body), done)

    def action_drop_other(self) -> None:
        if self.app.refused_read_only():  # type: ignore[attr-defined]
            return
        self._drop("other")

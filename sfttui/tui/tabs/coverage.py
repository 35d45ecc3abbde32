"""Coverage tab: the hard-data scorecard, its lists, and how the data compares with production.

Views (one key each): the scorecard; hard-negative pairs side by side; ambiguous rows
and label suspects with the model's probabilities; refusal / out-of-scope / clarifying
examples; the production comparison as small charts. The tab only reads what the
engine computed; `d` journals a drop like every other decision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from ...display import LiteralTable, literal, visible
from ...engine.analyses.coverage import KIND_NAMES, KIND_SHORT, ScoreLine, split_order, split_series
from ...engine.analyses.representativeness import FEATURES
from ...engine.decisions import Resolution
from ...engine.findings import many
from ...engine.io.formats import PROMPT_PARTS, SYSTEM_ROLES
from ...engine.session import Session
from ..messages import DecisionsChanged
from ..render import bar, render_turns, side_by_side, turns, view_bar, words
from ..screens import PromptScreen
from ..widgets.row_list import Cell, Column, cell_tail
from .views import Listing, ViewTab, view_bindings

CellSpec = tuple[str, int, Callable[[dict[str, Any]], Cell]]  # label, width, cell from a row
# What a view lists: its columns, one item per line, and the cells of line i.
VIEWS: dict[str, tuple[str, str]] = {
    "scorecard": ("s", "Scorecard"),
    "hard": ("h", "Hard"),
    "ambiguous": ("a", "Ambiguous"),
    "suspects": ("l", "Suspects"),
    "examples": ("e", "Examples"),
    "production": ("p", "Prod"),
    "drift": ("v", "Drift"),
}
FEATURE_SHORT = {
    "capitalised": "starts capitalised",
    "final_punctuation": "ends with . ! ?",
    "all_lowercase": "all lower case",
    "question_mark": "has a ?",
    "digits": "has digits",
    "url": "has a URL",
    "emoji": "has emoji",
    "non_ascii": "has non-ASCII",
}
STATUS_STYLE = {"ok": "green", "low": "yellow", "missing": "bold red", "n/a": "dim"}
STATUS_MARK = {"ok": "✓", "low": "!", "missing": "✗", "n/a": ""}
KIND_HELP = {
    "hard_negatives": "Rows whose prompt looks like another row's but carries a different label "
    "(and the two are not duplicates): they teach the model where the boundary is.",
    "ambiguous": "Rows the cross-validated model cannot decide between two labels (small gap "
    "between its top two classes): settle them with a written labelling rule.",
    "refusal": "Responses that decline (out of scope, harmful, needs more): the model learns when to say no.",
    "ood": "Out-of-scope inputs (label or response says so): the model learns what it does not handle.",
    "clarifying": "Responses that ask a question back: the model learns to ask instead of guess.",
}


class CoverageTab(ViewTab):
    VIEWS = VIEWS
    PREFIX = "cov"
    BINDINGS = [
        *view_bindings(VIEWS),
        Binding("d", "drop", "Drop row"),
        Binding("r", "rule", "State rule"),
    ]

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self.splits: pl.Series | None = None  # each row's split: the input's own, or the plan's
        self.planned = False
        self.lines: list[ScoreLine] = []

    # --- data -------------------------------------------------------------------------
    def show(self, session: Session, splits: pl.Series | None = None, planned: bool = False) -> None:
        """Redraw from the session; `splits` replaces the per-row splits when given."""
        if splits is not None:
            self.splits, self.planned = splits, planned
        elif self.splits is None and session.ready:
            self.splits = split_series(session.dataset)
        if not session.ready:
            return
        marked = session.marked_hard_negatives()
        self.lines = session.coverage.scorecard(self.splits, marked)
        self._fill()

    def _listing(self) -> Listing:
        return {
            "scorecard": self._scorecard_items,
            "hard": self._hard_items,
            "ambiguous": self._ambiguous_items,
            "suspects": self._suspect_items,
            "examples": self._example_items,
            "production": self._production_items,
            "drift": self._drift_items,
        }[self.view]()

    def _header(self) -> None:
        assert self.items is not None
        head = view_bar(VIEWS, self.view)
        shown = f"{self.items.height:,} listed"
        where = "planned" if self.planned else ("from the input" if self.splits is not None else "none")
        short = sum(len(line.shortfalls()) for line in self.lines)
        verdict = (
            Text("every kind of hard data reaches its target", style="green")
            if not short
            else literal(f"{many(short, 'shortfall')} in the dataset or a split", "yellow")
        )
        self.query_one("#cov-summary", Static).update(
            Group(head, Text.assemble(verdict, f" · {shown} · splits: {where}", style=""))
        )

    def _resolution(self) -> Resolution | None:
        """What the journal decides now (replayed once per redraw, not per row)."""
        return self.session.resolution() if self.session.ready else None

    def _marker(self) -> Callable[[str, int], str]:
        """Formats row keys: ✗ when the row will be dropped, § when a stated rule decides it."""
        res = self._resolution()
        dropped, ruled = (set(res.dropped), set(res.rules)) if res else (set(), set())

        def mark(key: str, width: int) -> str:
            sign = "✗" if key in dropped else ("§" if key in ruled else "")
            return sign + cell_tail(key, width - len(sign))

        return mark

    # --- views: list contents ---------------------------------------------------------
    def _scorecard_items(self) -> Listing:
        splits = split_order(self.splits.unique().to_list()) if self.splits is not None else []
        columns = [Column("kind", 14), Column("goal", 4), Column("all", 6)]
        columns += [Column(name[:5], 6) for name in splits]
        cells = []
        for line in self.lines:
            row: list[Cell] = [
                KIND_SHORT[line.kind],
                f"~{line.target}",
                _count(line, line.total),
            ]
            row += [_count(line, line.per_split.get(name, 0)) for name in splits]
            cells.append(row)
        return columns, pl.DataFrame({"kind": [line.kind for line in self.lines]}), cells.__getitem__

    def _columns(self, rows: pl.DataFrame, specs: list[CellSpec]) -> Listing:
        """A list of `rows`, one cell per column spec (label, width, format), made when
        its line is drawn."""

        def cells(i: int) -> list[Cell]:
            row = rows.row(i, named=True)
            return [cell(row) for _, _, cell in specs]

        return [Column(label, width) for label, width, _ in specs], rows, cells

    def _hard_items(self) -> Listing:
        return self._columns(
            self.session.coverage.hard_pairs,
            [
                ("J", 4, lambda p: f"{p['similarity']:.2f}"),
                ("labels", 21, lambda p: f"{p['label_a']}≠{p['label_b']}"[:21]),
                ("rows", 19, lambda p: f"{p['key_a']}~{p['key_b']}"[-19:]),
            ],
        )

    def _ambiguous_items(self) -> Listing:
        marks = self._marker()
        return self._columns(
            self.session.coverage.ambiguous,
            [
                ("gap", 5, lambda r: f"{r['margin']:.2f}"),
                ("label", 12, lambda r: r["label"][:12]),
                ("top two", 17, lambda r: f"{r['predicted'][:8]}/{r['runner_up'][:8]}"),
                ("row", 10, lambda r: marks(r["key"], 10)),
            ],
        )

    def _suspect_items(self) -> Listing:
        marks = self._marker()
        return self._columns(
            self.session.coverage.suspects,
            [
                ("p", 5, lambda r: f"{r['p_label']:.2f}"),
                ("label → model", 24, lambda r: f"{r['label']} → {r['suggested']}"[:24]),
                ("row", 14, lambda r: marks(r["key"], 14)),
            ],
        )

    def _example_items(self) -> Listing:
        marks = self._marker()
        return self._columns(
            self.session.coverage.categories,
            [
                ("kind", 10, lambda r: r["category"]),
                ("via", 8, lambda r: r["via"]),
                ("label", 12, lambda r: (r["label"] or "")[:12]),
                ("row", 12, lambda r: marks(r["key"], 12)),
            ],
        )

    def _production_items(self) -> Listing:
        rep = self.session.representativeness
        ref = rep.reference
        columns = [Column("prompt profile", 22), Column("train", 11)]
        if ref is not None:
            columns.append(Column("reference", 11))
        names: list[str] = []
        cells = []
        for name in FEATURES:
            t = rep.train.shares[name]
            row: list[Cell] = [FEATURE_SHORT[name], _share(t, "green")]
            if ref is not None:
                r = ref.shares[name]
                row.append(_share(r, "yellow" if abs(r - t) >= 0.2 else "cyan"))
            cells.append(row)
            names.append(name)
        words_row: list[Cell] = ["median words", f"{rep.train.words['median']:.0f}"]
        turns_row: list[Cell] = ["multi-turn", _share(rep.train.multi_turn, "green")]
        if ref is not None:
            words_row.append(f"{ref.words['median']:.0f}")
            turns_row.append(_share(ref.multi_turn, "cyan"))
        cells += [words_row, turns_row]
        names += ["words", "multi_turn"]
        return columns, pl.DataFrame({"feature": names}), cells.__getitem__

    def _drift_items(self) -> Listing:
        drift = self.session.drift
        columns = [
            Column("split", 11),
            Column("AUC", 5),
            Column("PSI", 5),
            Column("new words", 9),
            Column("warn", 4),
        ]
        splits = drift.splits

        def cells(i: int) -> list[Cell]:
            d = splits[i]
            fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
            unseen = "-" if d.unseen_token_share is None else f"{d.unseen_token_share:.0%}"
            flag = literal(f"{len(d.warnings)}", "yellow") if d.warnings else Text("0", style="green")
            return [d.split, fmt(d.auc), fmt(d.psi), unseen, flag]

        return columns, pl.DataFrame({"split": [d.split for d in splits]}, schema={"split": pl.String}), cells

    # --- detail pane ------------------------------------------------------------------
    def _render_detail(self) -> None:
        item = self._item()
        detail = self.detail
        if item is None and self.view == "drift":
            reason = self.session.drift.reason
            detail.show(lambda width: Text(f"No split drift to show: {reason}.", style="dim"))
            return
        if item is None and self.view != "production":
            cov = self.session.coverage
            empty = {
                "hard": f"No hard negatives found. {cov.hard_detail}",
                # Without the label model nothing was looked for: "No ... rows" would read
                # as a result.
                "ambiguous": f"No ambiguous rows. {cov.model.detail}"
                if cov.model.ran
                else f"Not checked: {cov.model.detail}.",
                "suspects": f"No label suspects. {cov.model.detail}"
                if cov.model.ran
                else f"Not checked: {cov.model.detail}.",
                "examples": "No refusal, out-of-scope or clarifying examples found.",
            }.get(self.view, "")
            detail.show(lambda width: Text(empty, style="dim"))
            return
        if self.view == "hard":  # two cards side by side, as wide as the pane
            detail.show(lambda width: self._hard_detail(item, width))
            return
        render = {
            "scorecard": self._scorecard_detail,
            "ambiguous": self._row_detail,
            "suspects": self._row_detail,
            "examples": self._row_detail,
            "production": self._production_detail,
            "drift": self._drift_detail,
        }[self.view]
        content = render(item)
        detail.show(lambda width: content)

    def _scorecard_detail(self, item: dict[str, Any] | None) -> Group:
        cov = self.session.coverage
        assert item is not None
        line = next(x for x in self.lines if x.kind == item["kind"])
        parts: list[Any] = [
            Text(KIND_NAMES[line.kind].capitalize(), style="bold"),
            Text(KIND_HELP[line.kind]),
            Text.assemble("\n", literal(f"How: {line.detail}", "dim")),
        ]
        shortfalls = line.shortfalls()
        if shortfalls:
            parts.append(Text(""))
            parts += [literal(f"⚠ {w}", "yellow") for w in shortfalls]
        elif line.applies:
            parts.append(Text("\n✓ target reached everywhere", style="green"))
        if line.kind == "hard_negatives" and cov.hard_pairs.height:
            by = cov.hard_by_labels.head(6)
            parts.append(
                Text(
                    "\npairs per label pair: "
                    + " · ".join(f"{visible(a)}≠{visible(b)} {n}" for a, b, n in by.rows())
                )
            )
        view = {"hard_negatives": "h", "ambiguous": "a"}.get(line.kind, "e")
        parts.append(Text(f"\n{view} lists them · p compares with production", style="dim"))
        if line.kind == "ambiguous" and line.applies:
            res = self._resolution()
            ruled = len(set(cov.ambiguous["key"].to_list()) & set(res.rules if res else {}))
            parts.append(
                literal(f"{ruled} of them decided by a stated rule (r on the list states one)", "dim")
            )
        if cov.model.ran and cov.suspects.height:
            parts.append(literal(f"{cov.suspects.height:,} label suspects: l lists them", "dim"))
        return Group(*parts)

    def _split(self, row: int) -> str:
        split = self.splits[row] if self.splits is not None else None
        return f"{'planned ' if self.planned else ''}{split}" if split else "no split"

    def _prompt(self, row: int) -> str:
        ds = self.session.dataset
        return ds.prompt_of(row)

    def _format(self, row: int) -> str:
        ds = self.session.dataset
        return ds.format_of(row)

    def _text(self, row: int) -> tuple[str, bytes | None]:
        ds = self.session.dataset
        return ds.rows["text"][row], ds.raw_lines([row])[0]

    def _hard_detail(self, item: dict[str, Any] | None, width: int) -> Group:
        assert item is not None
        a_text, a_raw = self._text(item["row_a"])
        b_text, b_raw = self._text(item["row_b"])
        a_prompt, b_prompt = self._prompt(item["row_a"]), self._prompt(item["row_b"])
        a, b = sorted([item["label_a"], item["label_b"]])
        by_labels = self.session.coverage.hard_by_labels.rows()  # a few rows, no Polars query
        between = next((n for x, y, n in by_labels if (x, y) == (a, b)), 1)
        cards = [
            Group(
                Text(
                    f"{item[f'label_{s}']}: {item[f'key_{s}']} ({self._split(item[f'row_{s}'])})",
                    style="bold cyan",
                ),
                # Prompts are what was compared: their differing words are marked.
                render_turns(_no_system(turns(raw, text, fmt)), words(other), roles=PROMPT_PARTS),
            )
            for s, text, raw, fmt, other in (
                ("a", a_text, a_raw, self._format(item["row_a"]), b_prompt),
                ("b", b_text, b_raw, self._format(item["row_b"]), a_prompt),
            )
        ]
        return Group(
            Text(
                f"hard negative · J {item['similarity']:.2f} · {visible(item['label_a'])} ≠ "
                f"{visible(item['label_b'])} ({many(between, 'pair')} between these labels)",
                style="bold",
            ),
            Text("alike, but labelled differently; the words that differ are highlighted", style="dim"),
            *side_by_side(cards, width, most=2),
        )

    def _row_detail(self, item: dict[str, Any] | None) -> Group:
        assert item is not None
        text, raw = self._text(item["row"])
        head: list[Any] = []
        reference: set[str] | None = None
        if self.view == "examples":
            head = [
                literal(f"{item['category']} example · found by {item['via']}", "bold"),
                literal(f"matched: {item['evidence']}", "dim"),
            ]
            reference = words(item["evidence"] or "")
        else:
            probs = Text.assemble(
                ("given ", "dim"),
                (visible(item["label"]), "bold"),
                f" {item['p_label']:.2f} · ",
                ("model ", "dim"),
                (visible(item["predicted"]), "bold"),
                f" {item['p_predicted']:.2f} · ",
                ("runner-up ", "dim"),
                visible(item["runner_up"]),
                f" · gap {item['margin']:.2f}",
            )
            if self.view == "suspects":
                head = [
                    literal(f"label suspect · the model suggests '{item['suggested']}'", "bold"),
                    probs,
                    Text("nothing is relabelled: d drops the row, or leave it", style="dim"),
                ]
            else:
                head = [
                    Text("ambiguous · the text hardly decides the label", style="bold"),
                    probs,
                    Text("settle such cases with a written rule and label them by it", style="dim"),
                ]
        res = self._resolution()
        dropped, rules = (res.dropped, res.rules) if res else ({}, {})
        mark = Text("")
        if item["key"] in dropped:
            mark = Text("✗ marked to drop (u undoes)\n", style="red")
        elif item["key"] in rules:
            mark = Text.assemble(literal(f"§ rule: {rules[item['key']]}", "green"), "\n")
        return Group(
            *head,
            mark,
            literal(f"{item['key']}", "bold cyan"),
            render_turns(_no_system(turns(raw, text, self._format(item["row"]))), reference, common=True),
        )

    def _drift_detail(self, item: dict[str, Any] | None) -> Group:
        assert item is not None
        drift = self.session.drift
        d = next(x for x in drift.splits if x.split == item["split"])
        parts: list[Any] = [
            literal(f"{d.split} against train ({many(d.profile.rows, 'row')})", "bold"),
            literal(d.detail, "dim"),
        ]
        if d.auc is not None:
            parts.append(Text(f"AUC {d.auc:.2f} (0.5 = alike, 1 = told apart)"))
        if d.length_shares:
            other = {"train": d.length_shares["train"], "reference": d.length_shares[d.split]}
            parts.append(_length_chart(d.length_edges, other, other_name=d.split))
        if d.top_unseen:
            parts.append(literal("new words: " + ", ".join(w for w, _ in d.top_unseen[:12]), "dim"))
        if d.least_like is not None and d.least_like.height:
            parts.append(Text(f"\n{d.split} prompts least like train:", style="bold"))
            for r in d.least_like.head(6).iter_rows(named=True):
                parts.append(literal(f"{r['p_reference']:.2f} " + r["text"][:160].replace("\n", " ⏎ ")))
        parts.append(Text(""))
        parts += [literal(f"⚠ {w}", "yellow") for w in d.warnings] or [Text("✓ alike train", style="green")]
        return Group(*parts)

    def _production_detail(self, item: dict[str, Any] | None) -> Group:
        rep = self.session.representativeness
        parts: list[Any] = []
        if rep.reference is None:
            parts += [
                Text("Training prompts alone", style="bold"),
                Text("pass --reference FILE (a sample of real production inputs) to compare", style="dim"),
            ]
        else:
            auc = rep.auc
            verdict = (
                ("alike", "green")
                if auc is not None and auc < 0.65
                else ("somewhat different", "yellow")
                if auc is not None and auc < 0.8
                else ("clearly different", "bold red")
            )
            parts.append(
                Text.assemble(
                    ("Adversarial AUC ", "bold"),
                    (f"{auc:.2f}" if auc is not None else "n/a", "bold"),
                    " (0.5 = alike, 1 = told apart): ",
                    verdict,
                )
            )
            parts.append(
                Text(
                    f"length PSI {rep.psi:.2f} · KS {rep.ks:.2f} · "
                    f"{rep.unseen_token_share:.0%} of reference words unseen in training"
                    if rep.psi is not None and rep.ks is not None and rep.unseen_token_share is not None
                    else "",
                    style="dim",
                )
            )
            parts.append(_length_chart(rep.length_edges, rep.length_shares))
            if rep.top_unseen:
                parts.append(
                    Text("unseen words: " + ", ".join(w for w, _ in rep.top_unseen[:12]), style="dim")
                )
            if rep.least_like is not None and rep.least_like.height:
                parts.append(Text("\nreference prompts least like training:", style="bold"))
                for r in rep.least_like.head(8).iter_rows(named=True):
                    parts.append(literal(f"{r['p_reference']:.2f} " + r["text"][:160].replace("\n", " ⏎ ")))
        if rep.warnings:
            parts.append(Text(""))
            parts += [literal(f"⚠ {w}", "yellow") for w in rep.warnings]
        elif rep.reference is not None or rep.train.rows:
            parts.append(Text("\n✓ nothing stands out", style="green"))
        return Group(*parts)

    # --- actions ----------------------------------------------------------------------
    def action_rule(self) -> None:
        """Write down the labelling rule that decides the selected ambiguous or suspect row."""
        if self.app.refused_read_only():  # type: ignore[attr-defined]
            return
        item = self._item()
        if item is None or self.view not in ("ambiguous", "suspects"):
            self.app.notify("r states the labelling rule for a row on the ambiguous or label-suspect list.")
            return

        def done(rule: str | None) -> None:
            if rule and rule.strip():
                self.session.state_rule([item["key"]], rule.strip())
                self.app.notify(f"Rule for {item['key']} saved (journal).")
                self.post_message(DecisionsChanged())

        prompt = f"The rule that decides {item['key']} (labelled {item['label']})"
        self.app.push_screen(
            PromptScreen(prompt, placeholder="e.g. asks for money back first -> billing"), done
        )

    def action_drop(self) -> None:
        if self.app.refused_read_only():  # type: ignore[attr-defined]
            return
        item = self._item()
        if item is None or self.view not in ("ambiguous", "suspects", "examples"):
            self.app.notify("d drops a row from the ambiguous, label-suspect or example lists.")
            return
        reason = {
            "ambiguous": f"ambiguous: model torn between {item.get('predicted')} and {item.get('runner_up')}",
            "suspects": f"label suspect: labelled {item.get('label')}, "
            f"model suggests {item.get('suggested')}",
            "examples": f"{item.get('category')} example dropped in review",
        }[self.view]
        self.session.drop_rows([item["key"]], reason=reason)
        self.listing.action_move(1)  # on to the next one
        self.app.notify(f"{item['key']} will be dropped (journal).")
        self.post_message(DecisionsChanged())


def _no_system(parts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The turns without system prompts, which are the same in every row and take the room."""
    return [(role, text) for role, text in parts if role.lower() not in SYSTEM_ROLES] or parts


def _count(line: ScoreLine, n: int) -> Text:
    status = line.status(n)
    if status == "n/a":
        return Text("n/a", style="dim")
    return literal(f"{n:,}{STATUS_MARK[status]}", STATUS_STYLE[status])


def _share(value: float, style: str) -> Text:
    return Text.assemble((bar(value, 5), style), f" {value:.0%}")


def _length_chart(edges: list[float], shares: dict[str, list[float]], other_name: str = "reference") -> Table:
    """Share of prompts per word-count bin, training and reference bars side by side."""
    table = LiteralTable(box=None, pad_edge=False, show_header=True, header_style="dim", title_justify="left")
    table.add_column("words", justify="right")
    table.add_column("train")
    table.add_column(visible(other_name))
    bounds = [0.0, *edges]
    top = max([max(v) for v in shares.values() if v] or [1.0]) or 1.0
    for i, lo in enumerate(bounds):
        label = f"≥{lo:.0f}" if i == len(bounds) - 1 else f"{lo:.0f}-{bounds[i + 1]:.0f}"
        t = shares.get("train", [0.0] * len(bounds))[i]
        r = shares.get("reference", [0.0] * len(bounds))[i]
        table.add_row(label, Text(bar(t / top, 8), style="green"), Text(bar(r / top, 8), style="cyan"))
    return table

"""Splits tab: settings, split x label table with rows and groups, achieved ratios; re-split, write."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ...display import visible
from ...engine.analyses.split import SPLITS, keeps_given_splits
from ...engine.export import ExportPlan, ExportResult
from ...engine.session import Session
from ..render import what_remains
from ..screens import ConfirmScreen
from ..widgets.literal import LiteralStatic
from ..widgets.tables import KeyTable


class SplitsTab(Vertical):
    BINDINGS = [
        Binding("r", "resplit", "Re-split (new seed)"),
        Binding("w", "app.write", "Write splits"),
    ]

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.plan: ExportPlan | None = None

    def compose(self) -> ComposeResult:
        yield LiteralStatic("Loading…", id="splits-settings")
        yield KeyTable(id="split-table", cursor_type="row")
        yield LiteralStatic("", id="splits-notes")

    def show_plan(self, plan: ExportPlan) -> None:
        self.plan = plan
        s = self.session
        groups = ", ".join(s.settings.load.group_fields) or "none (duplicate clusters only)"
        summary = plan.split_plan.summary["splits"]
        if plan.split_plan.source == "existing":
            # The input's own splits: what they are, not the ratios a new split would aim for.
            shares = " · ".join(f"{name} {summary[name]['ratio']:.0%}" for name in SPLITS)
            how = f"kept from the input ({shares})"
        else:
            chosen = s.split_settings
            how = f"new · ratios {'/'.join(f'{r:.0%}' for r in chosen.ratios)} · seed {chosen.seed}"
        self.query_one("#splits-settings", Static).update(
            Text.assemble(("splits: ", "bold"), visible(f"{how} · group by: {groups} · drop: {s.drop}"))
        )
        table = self.query_one("#split-table", DataTable)
        table.clear(columns=True)
        labels = sorted({lab for name in SPLITS for lab in summary[name]["labels"]})
        table.add_column("split", key="split")
        table.add_column("rows", key="rows")
        table.add_column("groups", key="groups")
        table.add_column("ratio", key="ratio")
        # Every label, however many: the table scrolls sideways (left/right, or the mouse).
        for lab in labels:
            table.add_column(lab[:12], key=f"l:{lab}")
        for name in SPLITS:
            row = summary[name]
            cells: list[Any] = [name, f"{row['rows']:,}", f"{row['groups']:,}", f"{row['ratio']:.1%}"]
            cells += [f"{row['labels'].get(lab, 0):,}" for lab in labels]
            table.add_row(*cells, key=name)
        counts = plan.counts()
        notes = Text()
        notes.append(f"dropped at export: {counts['dropped']:,}", style="bold")
        by = ", ".join(f"{n:,} {k.strip()}" for k, n in counts["dropped_by"].items())
        notes.append(visible(f" ({by})") if by else "")
        notes.append(
            f"\nleakage remaining between splits: {plan.leakage_remaining.height:,}\n",
            style="yellow" if plan.leakage_remaining.height else "green",
        )
        for warning in plan.notes:
            notes.append(visible(f"⚠ {warning}") + "\n", style="yellow")
        again = (
            "r makes new splits instead"
            if plan.split_plan.source == "existing"
            else "r re-splits with a new seed"
        )
        notes.append(f"w writes to {s.default_out()} · {again}", style="dim")
        self.query_one("#splits-notes", Static).update(notes)

    def show_result(self, result: ExportResult) -> None:
        notes = self.query_one("#splits-notes", Static)
        text = Text()
        if result.installed:
            text.append(visible(f"written to {result.out}") + "\n", style="bold green")
            for name, digest in result.manifest["outputs"].items():
                text.append(visible(f"  {name}  sha256 {digest[:12]}…") + "\n")
        else:
            text.append(visible(result.not_written) + "\n", style="bold red")
        for mended in result.recovered:  # beside the output: restored, removed or kept
            text.append(visible(f"• {mended}") + "\n", style="yellow")
        for check in result.verified:
            text.append(visible(f"✓ {check}") + "\n", style="green")
        for problem in result.problems:
            text.append(visible(f"✗ {problem}") + "\n", style="bold red")
        if not result.installed:
            notes.update(text)
            return
        # What the written files still hold: the write is done, the data may not be.
        m = result.manifest
        leaks = [hit["kind"] for hit in m["leakage_remaining"]]
        shortfalls = m.get("coverage", {}).get("warnings", [])
        for line, warn in what_remains(leaks, len(m["unresolved_conflicts"]), shortfalls):
            text.append(visible(f"{'⚠' if warn else '✓'} {line}") + "\n", style="yellow" if warn else "green")
        notes.update(text)

    def action_resplit(self) -> None:
        # A journal decision, so the next start and `sfttui split` make the same splits.
        if self.app.refused_read_only():  # type: ignore[attr-defined]
            return
        current = self.session.split_settings
        app: Any = self.app
        if app.plan is not None and app.plan_is_current():
            from_input = app.plan.split_plan.source == "existing"
        else:
            # The plan on screen is from before the last decision (a re-split just made or
            # undone): the rule the planner applies decides instead.
            from_input = keeps_given_splits(self.session.dataset.rows["split"], current)
        if not from_input:
            self.session.choose_split(seed=current.seed + 1, resplit=current.resplit)
            self.app.notify(f"New splits with seed {current.seed + 1} (journal).")
            self.app.refresh_plan()  # type: ignore[attr-defined]
            return
        # The input's own splits do not move with a seed: offer new ones instead.
        ratios = "/".join(f"{r:.0%}" for r in current.ratios)

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self.session.choose_split(seed=current.seed, resplit=True)
                self.app.notify(f"New {ratios} splits with seed {current.seed} (journal).")
                self.app.refresh_plan()  # type: ignore[attr-defined]

        body = (
            f"These splits come from the input, so a new seed moves nothing. Build new {ratios} "
            f"splits (seed {current.seed}), grouped and stratified, instead of the input's?"
        )
        self.app.push_screen(ConfirmScreen("Re-split the data", body), done)

"""Duplicates tab: clusters (conflicts and largest first), members side by side, triage keys.

The table holds one page of clusters at a time, so 100k+ clusters never sit in one
widget; moving past the last row of a page loads the next.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from ..engine.session import Session
from .messages import DecisionsChanged, ThresholdChanged
from .render import histogram, render_turns, side_by_side, sparkline, turns, words
from .screens import ConfirmScreen, PromptScreen
from .tables import KeyTable

PAGE = 500
THRESHOLD_STEP = 0.02


class ClusterTable(KeyTable):
    """A DataTable that asks for the next or previous page at its edges."""

    class PageRequest(Message):
        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    def action_cursor_down(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1:
            self.post_message(self.PageRequest(+1))
        else:
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.row_count and self.cursor_row == 0:
            self.post_message(self.PageRequest(-1))
        else:
            super().action_cursor_up()


class DuplicatesTab(Vertical):
    BINDINGS = [
        Binding("a", "accept", "Accept drop"),
        Binding("x", "keep_all", "Keep all"),
        Binding("u", "undo", "Undo"),
        Binding("n", "next_undecided", "Next undecided"),
        Binding("A", "accept_all_exact", "Accept all exact"),
        Binding("slash", "filter", "Filter"),
        Binding("plus,equals_sign", "threshold(1)", "Threshold +", show=False),
        Binding("minus", "threshold(-1)", "Threshold -", show=False),
        Binding("e", "examples", "Pairs near the threshold", show=False),
        Binding("enter", "detail", "Detail", show=False),
        *[Binding(str(i), f"keeper({i})", f"Keep member {i}", show=False) for i in range(1, 10)],
    ]

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.view: pl.DataFrame | None = None
        self.page = 0
        self.query_text = ""
        self.examples_on = False  # pairs nearest the threshold shown above the cluster

    def compose(self) -> ComposeResult:
        yield Static("Loading…", id="dup-summary")
        with Horizontal(id="dup-body"):
            yield ClusterTable(id="clusters", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="dup-detail-box"):
                yield Static("", id="dup-detail")

    def on_mount(self) -> None:
        table = self.query_one(ClusterTable)
        for label, key, width in (
            ("#", "n", 3),
            ("n", "size", 3),
            ("kind", "kind", 5),
            ("J", "sim", 4),
            ("labels", "labels", 11),
            ("decision", "decision", 10),
        ):
            table.add_column(label, key=key, width=width)

    # --- data -------------------------------------------------------------------------
    def show(self, session: Session, keep_cluster: str | None = None) -> None:
        """(Re)build the view from the session, keeping the cursor on `keep_cluster`."""
        dup = session.duplicates
        assert dup is not None
        clusters = dup.clusters
        if self.query_text:
            clusters = self._filtered(clusters, self.query_text)
        self.view = clusters.sort(["conflict", "size", "keeper_row"], descending=[True, True, False])
        self.page = 0
        target = keep_cluster or self.current_cluster()
        if target is not None:
            index = self.view["id"].index_of(target)
            if index is not None:
                self.page = index // PAGE
        self._render_page(target)
        self._render_summary()

    def _filtered(self, clusters: pl.DataFrame, query: str) -> pl.DataFrame:
        """Clusters with a label equal to the query or a member whose text contains it."""
        assert self.session.dataset is not None and self.session.duplicates is not None
        rows = self.session.dataset.rows
        members = self.session.duplicates.membership.join(rows.select("row", "text"), on="row")
        hit = members.filter(pl.col("text").str.to_lowercase().str.contains(query.lower(), literal=True))
        by_label = clusters.filter(pl.col("labels").list.contains(query))
        ids = set(hit["cluster"].to_list()) | set(by_label["id"].to_list())
        return clusters.filter(pl.col("id").is_in(list(ids)))

    def _decision_text(self, cluster: dict[str, Any], states: dict[str, str]) -> Text:
        state = states.get(cluster["id"])
        if state is None:
            return Text(
                "⚠ conflict" if cluster["conflict"] else "·",
                style="bold red" if cluster["conflict"] else "dim",
            )
        if state == "keep all":
            return Text("keep all", style="cyan")
        keeper = state.removeprefix("keep ")
        members = cluster["members"]
        index = members.index(keeper) + 1 if keeper in members else "?"
        return Text(f"✓ keep {index}", style="green")

    def _render_page(self, target: str | None = None) -> None:
        assert self.view is not None
        table = self.query_one(ClusterTable)
        table.clear()
        states = self.session.cluster_states()
        page = self.view.slice(self.page * PAGE, PAGE)
        rows = []
        for offset, c in enumerate(page.iter_rows(named=True)):
            rows.append(
                (
                    str(self.page * PAGE + offset + 1),
                    str(c["size"]),
                    c["kind"],
                    f"{c['similarity']:.2f}",
                    "/".join(c["labels"])[:11] or "-",
                    self._decision_text(c, states),
                )
            )
        keys = page["id"].to_list()
        for key, row in zip(keys, rows):
            table.add_row(*row, key=key)
        if target in keys:
            table.move_cursor(row=keys.index(target))
        self._render_detail()

    def _render_summary(self) -> None:
        dup = self.session.duplicates
        assert dup is not None and self.view is not None
        states = self.session.cluster_states()
        decided = int(dup.clusters["id"].is_in(list(states)).sum())
        explored = dup.explored_similarities()
        hist = histogram(explored, self.session.floor, 1.0, bins=7)
        first = self.page * PAGE + 1 if self.view.height else 0
        last = min((self.page + 1) * PAGE, self.view.height)
        filt = f" · filter '{self.query_text}'" if self.query_text else ""
        text = Text.assemble(
            (f"{dup.clusters.height:,} clusters", "bold"),
            f" · {dup.rows_removable:,} rows removable · {decided:,} decided · ",
            (f"{dup.conflicts.height:,} conflicts", "bold red" if dup.conflicts.height else ""),
            f" · showing {first:,}-{last:,} of {self.view.height:,}{filt}\n",
            (f"near threshold J ≥ {self.session.threshold:.2f}", "bold"),
            f" (+/-) · pairs by J {hist[0][0]:.2f}→1.0: ",
            (sparkline([c for _, c in hist]), "cyan"),
            f" {int((explored >= self.session.threshold - 1e-12).sum()):,} at or above",
        )
        self.query_one("#dup-summary", Static).update(text)

    def current_cluster(self) -> str | None:
        table = self.query_one(ClusterTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value) if key is not None else None

    def _render_detail(self) -> None:
        cluster_id = self.current_cluster()
        detail = self.query_one("#dup-detail", Static)
        parts: list[Any] = [self.render_examples(), Text("")] if self.examples_on else []
        if cluster_id is None:
            parts.append(Text("No clusters." if self.view is not None else "", style="dim"))
        else:
            parts.append(self.render_cluster(cluster_id))
        detail.update(Group(*parts))

    def render_cluster(self, cluster_id: str) -> Group:
        session = self.session
        assert session.dataset is not None
        c = session.cluster(cluster_id)
        ds = session.dataset
        members = ds.rows.gather(c["rows"][:9]).select("row", "key", "text", "label", "file", "line")
        # Only the lines shown, and the proposed keeper's, are read back from the file.
        wanted = [*members["row"].to_list(), c["keeper_row"]]
        lines = dict(zip(wanted, ds.raw_lines(wanted)))
        keeper = session.cluster_states().get(cluster_id, f"keep {c['keeper']}").removeprefix("keep ")
        # Compare against every turn the keeper shows (system prompts included), so only
        # real differences light up.
        keeper_turns = turns(lines[c["keeper_row"]], ds.rows["text"][c["keeper_row"]])
        keeper_words = words(" ".join(t for _, t in keeper_turns))
        sim = f"J {c['similarity']:.2f}" + (f"-{c['max_similarity']:.2f}" if c["kind"] == "near" else "")
        head = Text.assemble(
            (f"{c['kind']} cluster {c['id']}", "bold"),
            f" · {c['size']} rows · {sim} · labels: {' / '.join(c['labels']) or '-'}",
            ("  ⚠ label conflict" if c["conflict"] else "", "bold red"),
        )
        parts: list[Any] = [head, Text("words not in the proposed keeper are highlighted", style="dim")]
        cards = []
        for i, m in enumerate(members.iter_rows(named=True), start=1):
            mark = "★ keeper" if m["key"] == c["keeper"] else ""
            chosen = keeper == "all" or m["key"] == keeper
            title = Text.assemble(
                (f"[{i}] ", "bold"),
                (m["key"], "bold cyan"),
                f"  {m['label'] or ''}  {m['file']}:{m['line']}  ",
                (mark, "bold yellow"),
                ("" if chosen or keeper == c["keeper"] else "  (dropped)", "dim"),
            )
            body = render_turns(
                turns(lines[m["row"]], m["text"]), None if m["key"] == c["keeper"] else keeper_words
            )
            cards.append(Group(title, body))
        parts += side_by_side(cards, self.query_one("#dup-detail-box").size.width)
        if c["size"] > 9:
            parts.append(Text(f"+{c['size'] - 9} more members (keys in the report)", style="dim"))
        return Group(*parts)

    # --- events -----------------------------------------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "clusters":
            self._render_detail()

    def on_cluster_table_page_request(self, event: ClusterTable.PageRequest) -> None:
        assert self.view is not None
        pages = max(1, -(-self.view.height // PAGE))
        new = self.page + event.step
        if 0 <= new < pages:
            self.page = new
            self._render_page()
            table = self.query_one(ClusterTable)
            table.move_cursor(row=0 if event.step > 0 else table.row_count - 1)
            self._render_summary()

    # --- actions ----------------------------------------------------------------------
    def action_detail(self) -> None:
        self.query_one("#dup-detail-box").focus()

    def _decided(self, cluster_id: str, advance: bool = True) -> None:
        table = self.query_one(ClusterTable)
        states = self.session.cluster_states()
        c = self.session.cluster(cluster_id)
        table.update_cell(cluster_id, "decision", self._decision_text(c, states))
        if advance and table.cursor_row < table.row_count - 1:
            table.action_cursor_down()
        # Where the person will carry on, saved with every decision (a dropped SSH
        # session never runs a clean quit).
        self.session.save_position({"tab": "duplicates", "cluster": self.current_cluster()})
        self._render_detail()
        self._render_summary()
        self.post_message(DecisionsChanged())

    def action_accept(self) -> None:
        cluster_id = self.current_cluster()
        if cluster_id:
            self.session.keep(cluster_id)
            self._decided(cluster_id)

    def action_keeper(self, number: int) -> None:
        cluster_id = self.current_cluster()
        if not cluster_id:
            return
        members = self.session.cluster(cluster_id)["members"]
        if number > len(members):
            self.app.bell()
            return
        self.session.keep(cluster_id, members[number - 1])
        self._decided(cluster_id)

    def action_keep_all(self) -> None:
        cluster_id = self.current_cluster()
        if cluster_id:
            self.session.keep_all(cluster_id)
            self._decided(cluster_id)

    def action_undo(self) -> None:
        undone = self.session.undo()
        if undone is None:
            self.app.notify("Nothing to undo.")
            return
        target = next(d for d in self.session.journal.decisions if d.seq == undone.payload["target"])
        cluster = target.payload.get("cluster")
        self.app.notify(f"Undid decision {target.seq} ({target.action}).")
        self.show(self.session, keep_cluster=cluster)
        self.post_message(DecisionsChanged())

    def action_next_undecided(self) -> None:
        assert self.view is not None
        states = self.session.cluster_states()
        ids = self.view["id"].to_list()
        start = self.page * PAGE + self.query_one(ClusterTable).cursor_row + 1
        for index in list(range(start, len(ids))) + list(range(0, start)):
            if ids[index] not in states:
                self.page = index // PAGE
                self._render_page(ids[index])
                self._render_summary()
                return
        self.app.notify("Every cluster is decided.")

    def action_accept_all_exact(self) -> None:
        n = self.session.undecided_exact()
        if not n:
            self.app.notify("No undecided exact clusters without a label conflict.")
            return

        def done(confirmed: bool | None) -> None:
            if confirmed:
                count = self.session.accept_all_exact()
                self.app.notify(f"Accepted {count:,} exact clusters.")
                self.show(self.session)
                self.post_message(DecisionsChanged())

        body = (
            f"Keep the first occurrence and drop the copies in {n:,} exact-duplicate clusters "
            "without a label conflict? Each becomes a journal entry; u undoes one at a time."
        )
        self.app.push_screen(ConfirmScreen("Accept all exact duplicates", body), done)

    def action_filter(self) -> None:
        def done(value: str | None) -> None:
            if value is not None:
                self.query_text = value.strip()
                self.show(self.session)

        self.app.push_screen(
            PromptScreen("Filter clusters by text or label (empty clears)", value=self.query_text), done
        )

    def action_threshold(self, step: int) -> None:
        new = round(self.session.threshold + step * THRESHOLD_STEP, 4)
        if new > 1.0 or new < self.session.floor - 1e-9:
            self.app.notify(f"The threshold can move between {self.session.floor:.2f} and 1.00 here.")
            return
        self._rethreshold(new)

    @work(thread=True, exclusive=True, exit_on_error=False, group="threshold")
    def _rethreshold(self, threshold: float) -> None:
        self.session.set_threshold(threshold)
        self.post_message(ThresholdChanged())

    def action_examples(self, on: bool | None = None) -> None:
        """Show or hide the pairs nearest the threshold above the cluster detail."""
        self.examples_on = (not self.examples_on) if on is None else on
        self._render_detail()

    def render_examples(self) -> Group:
        """Pairs closest to the threshold, both texts, differences highlighted."""
        dup = self.session.duplicates
        assert dup is not None and self.session.dataset is not None
        pairs = dup.explored_pairs().with_columns(gap=(pl.col("jaccard") - self.session.threshold).abs())
        pairs = pairs.sort("gap").head(5)
        rows = self.session.dataset.rows
        text_of = dict(zip(rows["key"].to_list(), rows["text"].to_list())) if pairs.height else {}
        parts: list[Any] = [Text(f"pairs nearest J = {self.session.threshold:.2f}", style="bold")]
        for a, b, j in pairs.select("a", "b", "jaccard").iter_rows():
            side = "above" if j >= self.session.threshold else "below"
            parts.append(Text(f"\nJ {j:.3f} ({side}) {a} / {b}", style="bold cyan"))
            parts.append(render_turns([("a", text_of[a])], words(text_of[b])))
            parts.append(render_turns([("b", text_of[b])], words(text_of[a])))
        if not pairs.height:
            parts.append(Text("no near pairs were found", style="dim"))
        parts.append(Text("e hides these", style="dim"))
        return Group(*parts)

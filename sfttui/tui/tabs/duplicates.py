"""Duplicates tab: clusters (conflicts and largest first), members side by side, triage keys.

The cluster list draws only the rows on screen (RowList), so moving and deciding cost
the same with 100 clusters or 200k; the detail pane follows the cursor, and when keys
come faster than it can be drawn it waits for them to pause.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import polars as pl
from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from ...display import literal, visible
from ...engine.decisions import HARD_NEGATIVE, kept_member
from ...engine.findings import many
from ...engine.io.formats import SYSTEM_ROLES
from ...engine.session import NotAnalysed, Session
from ..messages import DecisionsChanged, ThresholdChanged
from ..render import histogram, render_turns, side_by_side, sparkline, turns, words
from ..screens import ConfirmScreen, PromptScreen
from ..widgets.literal import LiteralStatic
from ..widgets.rendered import Rendered
from ..widgets.row_list import Cell, Column, RowList

THRESHOLD_STEP = 0.02
# A detail drawn less than this long after the previous one waits until the keys pause
# for as long: holding j moves the cursor at the key repeat rate, not the detail's.
DETAIL_PAUSE = 0.08
COLUMNS = (
    Column("#", 8, "right"),  # "123,456"
    Column("n", 3, "right"),
    Column("kind", 5),
    Column("J", 4),
    Column("labels", 11),
    Column("decision", 10),
)


class DuplicatesTab(Vertical):
    BINDINGS = [
        Binding("a", "accept", "Accept drop"),
        Binding("x", "keep_all", "Keep all"),
        Binding("h", "hard_negative", "Hard negative", show=False),
        Binding("u", "undo", "Undo"),
        Binding("n", "next_undecided", "Next undecided"),
        Binding("A", "accept_all_exact", "Accept all exact"),
        Binding("M", "majority", "Resolve conflicts by majority label", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("plus,equals_sign", "threshold(1)", "Threshold +", show=False),
        Binding("minus", "threshold(-1)", "Threshold -", show=False),
        Binding("e", "examples", "Pairs near the threshold", show=False),
        Binding("enter", "detail", "Detail", show=False),
        *[Binding(str(i), f"keeper({i})", f"Keep member {i}", show=False) for i in range(1, 10)],
        Binding("greater_than_sign", "select_member(1)", "Select the next member", show=False),
        Binding("less_than_sign", "select_member(-1)", "Select the previous member", show=False),
        Binding("K", "keep_selected", "Keep the selected member", show=False),
    ]

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.view: pl.DataFrame | None = None
        self.query_text = ""
        self.examples_on = False  # pairs nearest the threshold shown above the cluster (e)
        # After a threshold change they show once, for the cluster under the cursor then:
        # moving or deciding shows the cluster alone again.
        self.examples_for: str | None = None
        self._spread: tuple[Any, list[tuple[float, int]], int] | None = None
        self._detail_at = 0.0  # when the detail pane was last drawn
        self._detail_timer: Timer | None = None
        self._detail_queued = False  # a draw is due right after the next frame
        # The threshold last asked for while a rebuild is under way: the next key steps from
        # it, not from the session's (a held key or quick presses would repeat one step).
        self._asked: float | None = None
        self._asking = threading.Lock()  # held only to read or change _asked
        self._rebuilding = threading.Lock()
        # The member chosen with >/< (0-based), for clusters of more members than keys
        # 1-9 reach; None: none chosen (the first nine are shown).
        self.selected: int | None = None
        self._ids: list[str] = []  # the view's cluster ids, in its order
        self._view_of: Any = None  # the clustering (Duplicates) those ids belong to
        self._advanced_to: str | None = None  # the cluster a decision just moved the cursor to
        self._filter_for: tuple[str, Any] | None = None  # (query, clustering) of _filter_ids
        self._filter_ids: list[str] = []
        self._at: dict[str, int] = {}  # cluster id -> position in the view

    def compose(self) -> ComposeResult:
        yield LiteralStatic("Loading…", id="dup-summary")
        with Horizontal(id="dup-body"):
            yield RowList(COLUMNS, self._cells, id="clusters")
            yield Rendered(id="dup-detail", back_to="#clusters")

    @property
    def clusters(self) -> RowList:
        return self.query_one("#clusters", RowList)

    # --- data -------------------------------------------------------------------------
    def show(self, session: Session, keep_cluster: str | None = None) -> None:
        """(Re)build the view from the session, keeping the cursor on `keep_cluster`."""
        dup = session.duplicates
        clusters = dup.clusters
        if self.query_text:
            # The clustering by identity: `!=` on the dataclass compares its frames, which
            # raised once the threshold had made another one.
            query, of = self._filter_for or (None, None)
            if query != self.query_text or of is not dup:
                # A search of every clustered row's text: off the UI thread (the list
                # stays as it is until the matches are in).
                self._search(self.query_text, dup, keep_cluster)
                return
            clusters = clusters.filter(pl.col("id").is_in(self._filter_ids))
        target = keep_cluster or self.current_cluster()
        self.view = clusters.sort(["conflict", "size", "keeper_row"], descending=[True, True, False])
        # Keys look clusters up by position and by id with these, not with Polars queries:
        # a query on the UI thread waits whenever a worker keeps Polars' threads busy.
        self._ids = self.view.get_column("id").to_list()
        self._view_of = dup
        self._at = {cid: i for i, cid in enumerate(self._ids)}
        self._detail_at = 0.0  # new rows: draw the detail at once
        self._advanced_to = None
        self.clusters.reset(self.view.height, self._at.get(target, 0) if target else 0)
        self._render_summary()

    @work(thread=True, exclusive=True, exit_on_error=False, group="filter")
    def _search(self, query: str, dup: Any, keep_cluster: str | None) -> None:
        """Clusters with a label equal to the query or a member whose text contains it."""
        rows = self.session.dataset.rows
        members = dup.membership.join(rows.select("row", "text"), on="row")
        hit = members.filter(pl.col("text").str.to_lowercase().str.contains(query.lower(), literal=True))
        by_label = dup.clusters.filter(pl.col("labels").list.contains(query))
        ids = sorted(set(hit["cluster"].to_list()) | set(by_label["id"].to_list()))
        self.app.call_from_thread(self._searched, query, dup, ids, keep_cluster)

    def _searched(self, query: str, dup: Any, ids: list[str], keep_cluster: str | None) -> None:
        if query != self.query_text:
            return  # another filter was asked for meanwhile
        self._filter_for, self._filter_ids = (query, dup), ids
        self.show(self.session, keep_cluster)

    def _decision_text(self, cluster: dict[str, Any], state: str | None) -> Text:
        if state is None:
            return Text(
                "⚠ conflict" if cluster["conflict"] else "·",
                style="bold red" if cluster["conflict"] else "dim",
            )
        keeper = kept_member(state)
        if state == HARD_NEGATIVE:
            return Text("✓ hard neg.", style="green")
        if keeper is None:
            return Text("keep all", style="cyan")
        members = cluster["members"]
        index = members.index(keeper) + 1 if keeper in members else "?"
        return literal(f"✓ keep {index}", "green")

    def _cells(self, index: int) -> list[Cell]:
        """The list's cells for the cluster at `index` of the view (drawn when on screen)."""
        assert self.view is not None
        c = self.view.row(index, named=True)
        return [
            f"{index + 1:,}",
            str(c["size"]),
            c["kind"] if c["side"] == "example" else "input",
            f"{c['similarity']:.2f}",
            "/".join(c["labels"]) or "-",
            self._decision_text(c, self.session.cluster_state(c["id"])),
        ]

    def _similarity_spread(self) -> tuple[list[tuple[float, int]], int]:
        """Histogram of the verified pairs' J and how many are at or above the threshold;
        kept until the clustering changes, since decisions do not change it."""
        dup = self.session.duplicates
        if self._spread is None or self._spread[0] is not dup:
            explored = dup.explored_similarities()
            hist = histogram(explored, self.session.floor, 1.0, bins=7)
            above = int((explored >= self.session.threshold - 1e-12).sum())
            self._spread = (dup, hist, above)
        return self._spread[1], self._spread[2]

    def _render_summary(self) -> None:
        dup = self.session.duplicates
        assert self.view is not None
        decided = self.session.decided_clusters()
        hist, above = self._similarity_spread()
        filt = f" · filter '{self.query_text}': {self.view.height:,} shown" if self.query_text else ""
        text = Text.assemble(
            (many(dup.clusters.height, "cluster"), "bold"),
            f" · {many(dup.rows_removable, 'row')} removable · {decided:,} decided · ",
            (many(dup.conflicts.height, "conflict"), "bold red" if dup.conflicts.height else ""),
            f"{filt}\n",
            (f"near threshold J ≥ {self.session.threshold:.2f}", "bold"),
            f" (+/-) · pairs by J {hist[0][0]:.2f}→1.0: ",
            (sparkline([c for _, c in hist]), "cyan"),
            f" {above:,} at or above",
        )
        self.query_one("#dup-summary", Static).update(text)

    def current_cluster(self) -> str | None:
        return self._ids[self.clusters.cursor_row] if self._ids else None

    @property
    def rebuilding(self) -> bool:
        """A threshold change is asked for or being applied."""
        return self._asked is not None or self._rebuilding.locked()

    def _refused_while_updating(self) -> bool:
        """Refuse a decision, saying why, while the list shows clusters of another
        clustering than the session's: their ids may be gone or hold other rows by now, so
        the decision would miss or land on rows the person never saw."""
        if not self.rebuilding and self._view_of is self.session.duplicates:
            return False
        self.app.notify("The clusters are being updated for the new threshold; decide again in a moment.")
        return True

    def _render_detail(self) -> None:
        self._detail_at = time.monotonic()
        self._detail_queued = False
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        cluster_id = self.current_cluster()

        def make(width: int) -> Group:
            shown = self.examples_on or (cluster_id is not None and cluster_id == self.examples_for)
            parts: list[Any] = [self.render_examples(), Text("")] if shown else []
            dup = self.session.duplicates if self.session.ready else None
            if cluster_id is None:
                parts.append(Text("No clusters." if self.view is not None else "", style="dim"))
            elif dup is None or not dup.has_cluster(cluster_id):
                # A threshold change is being applied: the list is redrawn when it is done.
                parts.append(Text("Updating the clusters…", style="dim"))
            else:
                parts.append(self.render_cluster(cluster_id, width))
            return Group(*parts)

        self.detail.show(make)

    @property
    def detail(self) -> Rendered:
        return self.query_one("#dup-detail", Rendered)

    def _detail_soon(self) -> None:
        """Draw the detail right after the frame that shows the cursor's move, or once
        the keys pause if they come faster than the detail can follow."""
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        if time.monotonic() - self._detail_at < DETAIL_PAUSE:
            self._detail_timer = self.set_timer(DETAIL_PAUSE, self._render_detail)
        elif not self._detail_queued:
            self._detail_queued = True
            self.call_after_refresh(self._render_detail)

    def render_cluster(self, cluster_id: str, width: int) -> Group:
        session = self.session
        c = session.cluster(cluster_id)
        ds = session.dataset
        # Nine members at a time: the first nine, or the nine around the selected one.
        first = 0 if self.selected is None else min(max(self.selected - 4, 0), max(c["size"] - 9, 0))
        members = ds.columns_of(
            c["rows"][first : first + 9], "row", "key", "text", "label", "file", "line", "split"
        )
        # Only the lines shown, and the proposed keeper's, are read back from the file.
        wanted = [*members["row"].to_list(), c["keeper_row"]]
        lines = dict(zip(wanted, ds.raw_lines(wanted)))
        # Compare against every turn the keeper shows (system prompts included), so only
        # real differences light up.
        keeper_turns = turns(
            lines[c["keeper_row"]], ds.rows["text"][c["keeper_row"]], ds.format_of(c["keeper_row"])
        )
        keeper_words = words(" ".join(t for _, t in keeper_turns))
        sim = f"J {c['similarity']:.2f}" + (f"-{c['max_similarity']:.2f}" if c["kind"] == "near" else "")
        if c["side"] == "input":
            responses = "same response" if c["same_response"] else "responses differ"
            what = f"same input ({c['kind']}), {responses}: cluster {c['id']}"
            sim = "input " + sim
        else:
            what = f"{c['kind']} cluster {c['id']}"
        head = Text.assemble(
            (what, "bold"),
            visible(f" · {c['size']} rows · {sim} to the keeper · labels: {' / '.join(c['labels']) or '-'}"),
            ("  ⚠ label conflict" if c["conflict"] else "", "bold red"),
        )
        parts: list[Any] = [head, Text("words not in the proposed keeper are highlighted", style="dim")]
        if c["conflict"] and c["kind"] == "near":
            parts.append(self._differing(c))
        kept = kept_member(session.cluster_state(cluster_id))
        dropped = set(session.duplicates.drops_for(cluster_id, kept)) if kept else set()
        shown = [
            (m, turns(lines[m["row"]], m["text"], ds.format_of(m["row"])))
            for m in members.iter_rows(named=True)
        ]
        # A system prompt every member shares is shown once, on one line, not in each card.
        systems = {tuple(t for t in parts_ if t[0].lower() in SYSTEM_ROLES) for _, parts_ in shown}
        shared = next(iter(systems)) if len(systems) == 1 and next(iter(systems)) else ()
        if shared:
            line = " · ".join(text for _, text in shared)
            head_line = Text(visible(f"system prompt (every member): {line}"), style="dim")
            head_line.no_wrap, head_line.overflow = True, "ellipsis"
            parts.append(head_line)
        cards = []
        for i, (m, member_turns) in enumerate(shown, start=first + 1):
            mark = "★ keeper" if m["key"] == c["keeper"] else f"J {c['similarities'][i - 1]:.2f}"
            chosen = self.selected == i - 1
            where = f"{m['file']}:{m['line']}"
            # Cut from the left, so the end of a key (a line number) stays; never wrapped.
            key = "" if m["key"] == where else f"  {_tail(m['key'], 24)}"
            # Where the row is comes first, so the line number shows in the narrowest pane.
            title = Text.assemble(
                ("▶ " if chosen else "", "bold reverse"),
                (f"[{i}] ", "bold reverse" if chosen else "bold"),
                (visible(_tail(where, 28)) + "  ", "bold cyan"),
                (mark, "bold yellow" if m["key"] == c["keeper"] else "dim"),
                ("  (dropped)" if m["key"] in dropped else "", "dim"),
                visible(f"{key}  {m['label'] or '-'}  {m['split'] or 'no split'}"),
                no_wrap=True,
                overflow="ellipsis",
            )
            if shared:
                member_turns = [t for t in member_turns if t[0].lower() not in SYSTEM_ROLES]
            body = render_turns(member_turns, None if m["key"] == c["keeper"] else keeper_words)
            cards.append(Group(title, body))
        parts += side_by_side(cards, width)
        if c["size"] > 9:
            shown_to = first + len(shown)
            parts.append(
                literal(
                    f"members {first + 1}-{shown_to} of {c['size']} · > and < select a member, "
                    "K keeps the selected one",
                    "dim",
                )
            )
        return Group(*parts)

    def _differing(self, c: dict[str, Any]) -> Text:
        """The input words that set a near conflict's rows apart: when one word decides the
        label ("where / when were you born"), it is a hard negative, not a labelling error."""
        ds = self.session.dataset
        keeper = words(ds.prompt_of(c["keeper_row"]))
        # A member whose words differ, not an exact copy of the keeper ("- ↔ -").
        others = (words(ds.prompt_of(r)) for r in c["rows"][:64] if r != c["keeper_row"])
        theirs = next((w for w in others if w != keeper), keeper)
        only_keeper, only_other = sorted(keeper - theirs)[:6], sorted(theirs - keeper)[:6]
        refused = self.session.not_a_hard_negative(c["id"])
        return Text.assemble(
            ("inputs differ in: ", "bold"),
            visible(f"{' '.join(only_keeper) or '-'} ↔ {' '.join(only_other) or '-'}"),
            (" · h marks it a hard negative (both kept)" if refused is None else f" · {refused}", "dim"),
        )

    # --- events -----------------------------------------------------------------------
    def on_row_list_highlighted(self, event: RowList.Highlighted) -> None:
        if event.row_list.id == "clusters":
            self.selected = None  # a member of another cluster
            if self.examples_for is not None and self.current_cluster() != self.examples_for:
                self.examples_for = None
            self._detail_soon()

    def show_threshold_examples(self) -> None:
        """The pairs the new threshold just let in or left out, above this cluster only."""
        self.examples_for = self.current_cluster()
        self._render_detail()

    # --- actions ----------------------------------------------------------------------
    def action_detail(self) -> None:
        self.detail.focus()

    def _decided(self, cluster_id: str, advance: bool = True) -> None:
        self.selected = None  # a member of a decided cluster
        clusters = self.clusters
        clusters.refresh_row(clusters.cursor_row)
        if advance and clusters.cursor_row < clusters.row_count - 1:
            clusters.cursor_row += 1  # its Highlighted message redraws the detail
            self._advanced_to = self._ids[clusters.cursor_row]
        else:
            self._detail_soon()
        self.call_after_refresh(self._render_summary)  # after the frame that shows the decision
        self.examples_for = None
        self._save_position()
        self.post_message(DecisionsChanged())

    def _save_position(self) -> None:
        # Where the person will carry on, saved with every decision, `A` and `u` included
        # (a dropped SSH session never runs a clean quit).
        self.app.save_position({"tab": "duplicates", "cluster": self.current_cluster()})  # type: ignore[attr-defined]

    def action_accept(self) -> None:
        if self.app.refused_read_only() or self._refused_while_updating():  # type: ignore[attr-defined]
            return
        cluster_id = self.current_cluster()
        if cluster_id:
            self.session.keep(cluster_id)
            self._decided(cluster_id)

    def action_keeper(self, number: int) -> None:
        if self.app.refused_read_only() or self._refused_while_updating():  # type: ignore[attr-defined]
            return
        cluster_id = self.current_cluster()
        if not cluster_id:
            return
        members = self.session.cluster(cluster_id)["members"]
        if number > len(members):
            self.app.bell()
            return
        self.session.keep(cluster_id, members[number - 1])
        self._decided(cluster_id)

    def action_select_member(self, step: int) -> None:
        """Move the member selection (the pane shows the nine around it)."""
        cluster_id = self.current_cluster()
        if not cluster_id or self._refused_while_updating():
            return
        size = self.session.cluster(cluster_id)["size"]
        at = (-1 if step > 0 else size) if self.selected is None else self.selected
        self.selected = min(max(at + step, 0), size - 1)
        self._render_detail()

    def action_keep_selected(self) -> None:
        if self.selected is None:
            self.app.notify("Select a member with > or < first; K keeps it.")
            return
        self.action_keeper(self.selected + 1)

    def action_keep_all(self) -> None:
        if self.app.refused_read_only() or self._refused_while_updating():  # type: ignore[attr-defined]
            return
        cluster_id = self.current_cluster()
        if cluster_id:
            self.session.keep_all(cluster_id)
            self._decided(cluster_id)

    def action_hard_negative(self) -> None:
        """Mark a near label conflict as a hard negative: the differing words decide it."""
        if self.app.refused_read_only() or self._refused_while_updating():  # type: ignore[attr-defined]
            return
        cluster_id = self.current_cluster()
        if not cluster_id:
            return
        try:
            self.session.mark_hard_negative(cluster_id)
        except ValueError as exc:
            self.app.notify(str(exc), severity="warning")
            return
        self.app.notify("Marked a hard negative: both rows are kept and count on the scorecard (journal).")
        self._decided(cluster_id)

    def action_undo(self) -> None:
        if self.app.refused_read_only():  # type: ignore[attr-defined]
            return
        self._advanced_to = None
        undone = self.session.undo()
        if undone is None:
            self.app.notify("Nothing to undo.")
            return
        target = next(d for d in self.session.journal.decisions if d.seq == undone.payload["target"])
        together = len(undone.payload.get("targets", ()))
        if together > 1:
            self.app.notify(f"Undid {together:,} decisions made at once ({target.action}).")
        else:
            self.app.notify(f"Undid decision {target.seq} ({target.action}).")
        # Back to the cluster whose decision was undone; the order of the list is the same.
        at = self._at.get(target.payload.get("cluster"))
        if at is not None:
            self.clusters.cursor_row = at
        self.clusters.refresh()
        self._detail_soon()
        self._render_summary()
        self._save_position()
        self.post_message(DecisionsChanged())

    def action_next_undecided(self) -> None:
        """The first undecided cluster after the cursor, wrapping round to the top; but when
        a decision has just moved the cursor onto an undecided cluster, that one (n would
        skip a cluster the person has not looked at)."""
        n = len(self._ids)
        if not n:
            self.app.notify("No clusters.")
            return
        here, arrived = self.current_cluster(), self._advanced_to
        self._advanced_to = None
        if here is not None and here == arrived and self.session.cluster_state(here) is None:
            self.app.notify("This cluster is still undecided; n again goes on to the next.")
            return
        start = self.clusters.cursor_row + 1
        for step in range(n):
            at = (start + step) % n
            if self.session.cluster_state(self._ids[at]) is None:
                self.clusters.cursor_row = at
                return
        self.app.notify("Every cluster is decided.")

    def action_accept_all_exact(self) -> None:
        if self.app.refused_read_only():  # type: ignore[attr-defined]
            return
        n = self.session.undecided_exact()
        if not n:
            self.app.notify("No undecided exact clusters without a label conflict.")
            return

        def done(confirmed: bool | None) -> None:
            if confirmed:
                count = self.session.accept_all_exact()
                self.app.notify(f"Accepted {count:,} exact clusters.")
                self.show(self.session)
                self._save_position()
                self.post_message(DecisionsChanged())

        body = (
            f"Keep the first occurrence and drop the copies in {n:,} exact-duplicate clusters "
            "without a label conflict? Each is a journal entry; one u undoes them all."
        )
        self.app.push_screen(ConfirmScreen("Accept all exact duplicates", body), done)

    def action_majority(self) -> None:
        """Resolve every undecided label conflict of this list (filtered or not) by its
        most common label: asked first, one batch that one u undoes."""
        if self.app.refused_read_only() or self._refused_while_updating():  # type: ignore[attr-defined]
            return
        ids = list(self._ids)
        items, ties = self.session.majority_keeps(ids)
        if not items:
            tied = f" ({ties:,} tie, left for you)" if ties else ""
            self.app.notify(f"No undecided label conflict with a majority label in this list{tied}.")
            return

        def done(confirmed: bool | None) -> None:
            if not confirmed or self._refused_while_updating():
                return
            if self._ids != ids:  # rebuilt or filtered while the question was open
                self.app.notify("The list changed while the question was open; press M again.")
                return
            count = self.session.keep_majority(ids)
            them = "it" if count == 1 else "them"
            self.app.notify(f"Resolved {many(count, 'conflict')} by majority label (one u undoes {them}).")
            self.show(self.session)
            self._save_position()
            self.post_message(DecisionsChanged())

        where = f"matching '{self.query_text}'" if self.query_text else "in the list"
        body = (
            f"In {len(items):,} undecided label-conflict clusters {where}, keep a row of the most "
            f"common label and drop the others? {ties:,} with tied labels are left for you. "
            "One u undoes it all."
        )
        self.app.push_screen(ConfirmScreen("Resolve conflicts by majority label", body), done)

    def action_filter(self) -> None:
        def done(value: str | None) -> None:
            if value is not None:
                self.query_text = value.strip()
                self.show(self.session)

        self.app.push_screen(
            PromptScreen("Filter clusters by text or label (empty clears)", value=self.query_text), done
        )

    def action_threshold(self, step: int) -> None:
        if not self.session.ready:  # said by the app; its worker would fail out of reach
            raise NotAnalysed("the threshold moves the clusters of an analysis")
        with self._asking:
            asked = self._asked
        now = self.session.threshold if asked is None else asked
        new = round(now + step * THRESHOLD_STEP, 4)
        if new > 1.0 or new < self.session.floor - 1e-9:
            # The values the steps reach from here, not the bounds they stop short of.
            low = now - math.floor((now - self.session.floor + 1e-9) / THRESHOLD_STEP) * THRESHOLD_STEP
            high = now + math.floor((1.0 - now + 1e-9) / THRESHOLD_STEP) * THRESHOLD_STEP
            self.app.notify(f"The threshold moves between {low:.2f} and {high:.2f} here, in steps of 0.02.")
            return
        with self._asking:
            self._asked = new
        self._rethreshold()

    @work(thread=True, exit_on_error=False, group="threshold")
    def _rethreshold(self) -> None:
        # One rebuild at a time, each to the latest value asked for: a thread cannot be
        # stopped, and an older rebuild finishing last must not undo a newer one.
        with self._rebuilding:
            asked = self._asked
            if asked is None:
                return  # an earlier worker already applied it
            try:
                self.session.set_threshold(asked)
            finally:
                with self._asking:
                    if self._asked == asked:  # nothing newer asked for meanwhile
                        self._asked = None
        self.post_message(ThresholdChanged())

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        self.app.worker_failed(event.worker)  # type: ignore[attr-defined]
        if event.worker.group == "filter":
            self.query_text = ""  # the whole list, rather than a search that fails again
        self.show(self.session)  # the list in step with the session's clusters again

    def action_examples(self, on: bool | None = None) -> None:
        """Show or hide the pairs nearest the threshold above the cluster detail."""
        self.examples_on = (not self.examples_on) if on is None else on
        self.examples_for = None
        self._render_detail()

    def render_examples(self) -> Group:
        """Pairs closest to the threshold, both texts, differences highlighted."""
        # Only the rows of these pairs are read (by position): a map of every row's text
        # took 1.1-1.4 s and 370 MB on the UI thread at a million rows.
        pairs = self.session.duplicates.nearest_pairs(self.session.threshold)
        keys, texts = (
            self.session.dataset.rows.get_column("key"),
            self.session.dataset.rows.get_column("text"),
        )
        parts: list[Any] = [literal(f"pairs nearest J = {self.session.threshold:.2f}", "bold")]
        for a, b, j in pairs:
            side = "above" if j >= self.session.threshold else "below"
            parts.append(
                Text.assemble("\n", literal(f"J {j:.3f} ({side}) {keys[a]} / {keys[b]}", "bold cyan"))
            )
            parts.append(render_turns([("a", texts[a])], words(texts[b])))
            parts.append(render_turns([("b", texts[b])], words(texts[a])))
        if not pairs:
            parts.append(Text("no near pairs were found", style="dim"))
        parts.append(Text("e hides these", style="dim"))
        return Group(*parts)


def _tail(text: str, width: int) -> str:
    """`text` cut from the left to `width` characters (its end is what tells rows apart)."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]

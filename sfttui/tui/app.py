"""The sfttui app: tabs over one Session; analyses and export run in thread workers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import threading
import time
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.notifications import Notify, SeverityLevel
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import ProgressBar, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from ..display import failure, literal, visible
from ..engine.errors import SfttuiError
from ..engine.export import ExportPlan
from ..engine.findings import many
from ..engine.runtime.progress import SCAN_STAGES, Stage
from ..engine.session import NotAnalysed, Session
from ..engine.settings import SPLITS
from .browse import RowsScreen
from .messages import (
    AnalysisDone,
    AnalysisFailed,
    DecisionsChanged,
    ExportDone,
    ExportFailed,
    PlanReady,
    StageProgress,
    ThresholdChanged,
)
from .monochrome import readable
from .render import what_remains
from .screens import ConfirmScreen, ErrorScreen, HelpScreen
from .tabs import BY_NAME
from .tabs import FULL_WIDTH as FULL_TAB_WIDTH
from .tabs import TABS as TAB_SPECS
from .tabs.coverage import CoverageTab
from .tabs.duplicates import DuplicatesTab
from .tabs.overview import OverviewTab
from .tabs.splits import SplitsTab
from .widgets.footer import KeysFooter
from .widgets.literal import LiteralStatic


class _Cancelled(Exception):
    """Raised inside a worker's progress callback once the worker was cancelled."""


GC_THRESHOLDS = (10_000, 10, 100)  # Python's are (700, 10, 10)
PROGRESS_EVERY = 0.25  # seconds between progress redraws while the analyses run
REPLAN_AFTER = 0.5  # seconds of no decisions before the split plan is redone (where it is shown)
TERM_GRACE = 5.0  # seconds SIGTERM leaves the app to quit as q does before the process ends anyway

TABS = tuple(tab.name for tab in TAB_SPECS)


def _bar_ranges() -> dict[Stage, tuple[int, int]]:
    """Each scan stage's span of the progress bar (percent), in the order they run."""
    ranges, at = {}, 0
    for stage, share in SCAN_STAGES:
        ranges[stage] = (at, at + share)
        at += share
    return ranges


STAGES = _bar_ranges()


def _settle_heap() -> None:
    """Keep the garbage collector's full passes short and rare. Each walks every tracked
    object; with Python's thresholds they ran every second or so while the screen
    redrew (Textual makes and caches many objects per frame), 80-150 ms each, and a key
    pressed then waited. What exists now (modules, widgets, the analyses' results) is
    frozen out of those passes (still freed when unreferenced), and the young
    generations are collected less often (cycles are rare here; memory comes back by
    reference counting)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class SfttuiApp(App[None]):
    CSS_PATH = Path(__file__).with_name("sfttui.tcss")  # absolute, so subclasses elsewhere work
    TITLE = "sfttui"
    # The screen's class says whether every tab's full title fits (see sfttui.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (FULL_TAB_WIDTH, "-wide")]
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        # Over SSH Ctrl-C is the key people press to leave; Textual's own answer ("press
        # ctrl+q") came out with its markup showing, through the literal toasts.
        Binding("ctrl+c", "quit", "Quit (as q)", show=False),
        Binding("question_mark", "help", "Keys"),
        Binding("w", "write", "Write"),
        Binding("u", "undo", "Undo"),
        Binding("b", "browse", "Browse rows", show=False),
        *[
            Binding(f"f{i}", f"tab('{name}')", name.title(), show=False)
            for i, name in enumerate(TABS, start=1)
        ],
        Binding("ctrl+right,right_square_bracket", "next_tab(1)", "Next tab", show=False),
        Binding("ctrl+left,left_square_bracket", "next_tab(-1)", "Previous tab", show=False),
        # To the shell and back with `fg`, as in any terminal program over SSH (Textual
        # gives the terminal back first; on Windows it does nothing).
        Binding("ctrl+z", "suspend_process", "Suspend to the shell (fg resumes)", show=False),
    ]

    def __init__(
        self, session: Session, *, resume_position: bool = True, quit_on_sigterm: bool = False
    ) -> None:
        super().__init__()
        self.quit_on_sigterm = quit_on_sigterm  # set by the command line, not by tests in-process
        self._sigterm: threading.Thread | None = None  # quitting on SIGTERM (see _on_sigterm)
        self._sigterm_before: Any = None  # SIGTERM's handler before the app's
        self._filters = readable(self._filters)  # NO_COLOR: greys that read (see monochrome.py)
        self.session = session
        self.resume_position = resume_position
        self.ready = False
        self.plan: ExportPlan | None = None
        self.plan_generation = 0  # bumped by every decision; older plans are stale
        self.plan_of = -1  # the generation `plan` belongs to
        self.planning_for = -1  # the generation a plan is under way (or scheduled) for
        self.write_pending = False  # w was pressed while the plan was being redone
        self.plan_basis: tuple[Any, int] = (None, -1)  # what `plan` was made from (_basis)
        self.exporting = False  # a write is under way: a second one would share its folder
        self._replan_timer: Timer | None = None
        self.stage_done: dict[Stage, float] = {}
        self.stale: set[str] = set()  # tabs to redraw when next shown
        self._position_failed = False  # a failed save of the position is said once

    def compose(self) -> ComposeResult:
        names = ", ".join(Path(p).name for p in self.session.paths)
        yield LiteralStatic(Text.assemble(("sfttui ", "bold"), visible(names)), id="title")
        yield LiteralStatic("", id="banner")
        with TabbedContent(id="tabs", initial=TABS[0]):
            for i, tab in enumerate(TAB_SPECS, start=1):
                with TabPane(tab.label(i), id=tab.name):
                    yield tab.widget(self.session, id=tab.widget_id)
        with Vertical(id="statusbar"), Horizontal(id="progress-row"):
            yield LiteralStatic("starting", id="status")
            yield ProgressBar(total=100, show_eta=False, id="progress")
        yield KeysFooter()

    def on_unmount(self) -> None:
        # Let another window (or the next start in this process) take the journal.
        if self.session.ready:
            self.session.journal.close()
        if self._sigterm_before is not None:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGTERM, self._sigterm_before)

    def on_mount(self) -> None:
        if self.quit_on_sigterm:
            # SIGTERM (`kill`, a session manager) ended the process outright, leaving the
            # terminal in the app's modes (the alternate screen, no echo): it quits as q
            # does instead. Every decision is in the journal already.
            loop = asyncio.get_running_loop()
            with contextlib.suppress(ValueError):  # not the main thread
                before = signal.signal(signal.SIGTERM, lambda _sig, _frame: self._on_sigterm(loop))
                self._sigterm_before = before
        # Back from Ctrl-Z (`fg`) the terminal's screen is blank: drawn again whole, as
        # Textual does after App.suspend (its SIGCONT path only publishes the signal).
        self.app_resume_signal.subscribe(self, lambda _app: self.refresh(layout=True))
        # Start the (GIL-heavy) loading only once the first screen is on the terminal.
        self.call_after_refresh(self.analyse)
        _settle_heap()
        self._fit_tab_titles(self.size.width)

    def _on_sigterm(self, loop: asyncio.AbstractEventLoop) -> None:
        # A Python handler, not the loop's: it runs even while the loop is held. A terminal
        # that takes no output (a stalled SSH connection, until TCP gives up: hours) blocks
        # the app's writes, and with them the quit, which gives the terminal its modes
        # back; `kill` left such an app running. The quit is asked for from a thread, and
        # if the app has not ended TERM_GRACE seconds later the process ends anyway.
        if self._sigterm is None:
            self._sigterm = threading.Thread(
                target=self._quit_or_end, args=(loop,), name="sfttui-sigterm", daemon=True
            )
            self._sigterm.start()

    def _quit_or_end(self, loop: asyncio.AbstractEventLoop) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: the app is ending
            loop.call_soon_threadsafe(self._terminated)
        time.sleep(TERM_GRACE)
        os._exit(128 + signal.SIGTERM)

    def _terminated(self) -> None:
        self.exit(
            return_code=128 + signal.SIGTERM, message="sfttui: stopped (SIGTERM); every decision was saved"
        )

    def on_resize(self, event: events.Resize) -> None:
        self._fit_tab_titles(event.size.width)  # self.size is still the old one here

    def _fit_tab_titles(self, width: int) -> None:
        """Short titles where the full ones would push the last tabs off an 80-column screen."""
        narrow = width < FULL_TAB_WIDTH
        found = self.query(TabbedContent)
        if not found:
            return  # a resize before the tabs are composed; on_mount fits them
        tabs = found.first()
        for i, tab in enumerate(TAB_SPECS, start=1):
            if tab.short:
                tabs.get_tab(tab.name).label = tab.label(i, narrow)

    # --- workers ----------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="analysis")
    def analyse(self) -> None:
        worker = get_current_worker()
        last = {"stage": "", "at": 0.0}

        def progress(stage: Stage, fraction: float) -> None:
            # The engine reports per chunk; stopping here is how quitting mid-load is quick.
            if worker.is_cancelled:
                raise _Cancelled
            # A few redraws a second are enough for a progress bar; each is a layout of
            # the screen, and a key that arrives meanwhile waits for it.
            now = time.monotonic()
            if stage != last["stage"] or fraction >= 1.0 or now - last["at"] >= PROGRESS_EVERY:
                last.update(stage=stage, at=now)
                self.post_message(StageProgress(stage, fraction))

        try:
            self.session.analyse(progress)
        except _Cancelled:
            return
        except SfttuiError as exc:
            self.post_message(AnalysisFailed(str(exc), exc.title))
            return
        self.post_message(AnalysisDone())

    def refresh_plan(self, delay: float = 0.0) -> None:
        """The plan no longer holds (a decision, a new seed): plan again now if what is on
        screen shows it, else when it is next wanted (`want_plan`).

        A full re-plan at a million rows keeps Polars' threads busy for over a second,
        and every query the screen makes meanwhile waits for them; while the person
        triages on Duplicates, Overview or Balance, nothing needs the plan, so none runs.
        With a delay, the plan is made once the keys have paused that long. `w` always
        waits for a plan that includes every decision.
        """
        self.plan_generation += 1
        if self._replan_timer is not None:
            self._replan_timer.stop()
            self._replan_timer = None
        self.planning_for = -1
        if self._shows_plan(self.query_one(TabbedContent).active) or self.write_pending:
            self.want_plan(delay)

    def want_plan(self, delay: float = 0.0) -> None:
        """Start planning unless the plan is current or already under way."""
        generation = self.plan_generation
        if self.plan_of == generation or self.planning_for == generation:
            return
        self.planning_for = generation
        if delay:
            self._replan_timer = self.set_timer(delay, lambda: self._plan_worker(generation))
        else:
            self._plan_worker(generation)

    @property
    def plan_pending(self) -> bool:
        """A plan is on its way that the current one will be replaced by."""
        return self.planning_for == self.plan_generation and self.plan_of != self.plan_generation

    def _shows_plan(self, tab: str | None) -> bool:
        ready = self.session.ready
        return tab == "splits" or (tab == "coverage" and ready and not self.session.dataset.has_splits)

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan")
    def _plan_worker(self, generation: int) -> None:
        self.post_message(StageProgress(Stage.PLAN, 0.0))
        basis = self._basis()
        self.post_message(PlanReady(self.session.plan(), generation, basis))

    def _basis(self) -> tuple[Any, int]:
        """What a split plan is made from: the clustering, and the decisions so far (the
        journal only grows: an undo is an entry too)."""
        return self.session.duplicates, len(self.session.journal.decisions)

    def plan_is_current(self) -> bool:
        """Whether `plan` holds every decision and the threshold in force. The generation
        alone lags: it is bumped when DecisionsChanged or ThresholdChanged arrives, and a
        `w` typed right after a decision, or during a threshold rebuild, comes first."""
        if self.plan is None or self.plan_of != self.plan_generation:
            return False
        if self.query_one(DuplicatesTab).rebuilding:
            return False
        clustering, decisions = self._basis()
        return self.plan_basis[0] is clustering and self.plan_basis[1] == decisions

    @work(thread=True, exclusive=True, exit_on_error=False, group="export")
    def export(self, plan: ExportPlan, out: Path) -> None:
        self.post_message(StageProgress(Stage.WRITE, 0.2))
        try:
            result = self.session.write(plan, out, force=True)
        except (SfttuiError, OSError) as exc:
            message, done, _ = failure(exc, out)
            self.post_message(ExportFailed(message, done))
            return
        self.post_message(ExportDone(result))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker) -> None:
        """One place for unexpected worker errors: say what happened, keep the app usable.
        Tabs and screens pass on their own workers' (StateChanged does not bubble)."""
        error = worker.error
        self.set_status(f"error: {error}", None)
        self.notify(f"{worker.group} failed: {error}", severity="error", timeout=10)
        if worker.group == "plan":
            # No plan is on its way any more: showing Splits or `w` may try again.
            self.planning_for = -1
            self.write_pending = False
        if worker.group == "export":
            self.exporting = False

    # --- messages ---------------------------------------------------------------------
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every toast of this app: its message often names a label, key or file, so it is
        shown literally (Textual parses toasts as markup by default: a label
        `[@click=app.undo]U[/]` would become a button)."""
        super().notify(
            visible(message), title=visible(title), severity=severity, timeout=timeout, markup=False
        )

    def _on_notify(self, event: Notify) -> None:
        # One toast at a time: a new message replaces the one before (five `+` presses
        # stacked five toasts over the list); errors stay until they time out.
        for shown in list(self._notifications):
            if shown.severity != "error":
                self._unnotify(shown, refresh=False)
        super()._on_notify(event)

    async def run_action(self, action: Any, default_namespace: Any = None, namespaces: Any = None) -> bool:
        # The keys work while the analysis runs (tabs, moving about); one that needs its
        # results (a decision, the threshold, a re-split) says so instead of ending the app.
        try:
            return await super().run_action(action, default_namespace, namespaces)
        except NotAnalysed:
            self.notify("Still working: the data is not analysed yet.")
            return True

    def refused_read_only(self) -> bool:
        """Refuse a decision, saying why, when this window's journal is read-only (another
        window holds its lock): True when refused."""
        if not self.session.ready or not self.session.journal.read_only:
            return False
        self.notify(f"Not saved: {self.session.journal.read_only}.", severity="warning", timeout=6)
        return True

    def set_status(self, text: str, percent: float | None) -> None:
        self.query_one("#status", Static).update(literal(text))
        bar = self.query_one("#progress", ProgressBar)
        bar.display = percent is not None
        if percent is not None:
            bar.update(progress=percent)

    def on_stage_progress(self, message: StageProgress) -> None:
        stage = message.stage
        if stage in STAGES:
            lo, hi = STAGES[stage]
            self.set_status(f"{stage.title}…", lo + (hi - lo) * message.fraction)
            if not self.ready:
                self.stage_done[stage] = message.fraction
                self.query_one(OverviewTab).show_progress(self.stage_done, list(STAGES))
        elif stage is Stage.PLAN:
            self.set_status(f"{stage.title}…", 50)
        elif stage is Stage.WRITE:
            self.set_status(f"{stage.title}…", 100 * message.fraction)

    def on_analysis_done(self, _: AnalysisDone) -> None:
        self.ready = True
        s = self.session
        ds = s.dataset
        position = s.load_position() if self.resume_position else {}
        for tab in TAB_SPECS:
            if tab.name == "duplicates":  # back on the cluster the person was at
                self.query_one(DuplicatesTab).show(s, keep_cluster=position.get("cluster"))
            elif tab.follows_decisions:
                self._tab(tab.name).show(s)
        self.refresh_plan()
        self.want_plan()  # once, whatever is shown: Splits and `w` are ready at once
        status = f"{many(ds.rows.height, 'row')} · {many(len(ds.inputs), 'file')} · journal {s.journal.path}"
        self.set_status(status, None)
        if s.journal.read_only:
            banner = self.query_one("#banner", Static)
            banner.update(literal(f"READ-ONLY: {s.journal.read_only}. Decisions made here are not saved."))
            banner.add_class("shown")
        res = s.resolution()
        chosen = s.threshold_set_in_app()
        if s.journal.resumed and (res.applied or res.stale or chosen is not None):
            where = f", back at cluster {position['cluster']}" if position.get("cluster") else ""
            stale = f" ({len(res.stale):,} no longer match: see the Overview)" if res.stale else ""
            moved = " from the journal of the files before they changed" if s.journal.carried_from else ""
            at = f" at near threshold {s.threshold:.2f}" if chosen is not None else ""
            self.notify(f"Resumed {many(len(res.applied), 'decision')}{at}{stale}{moved}{where}.", timeout=8)
        if position.get("tab") in TABS:
            self.action_tab(position["tab"])
        _settle_heap()

    def on_analysis_failed(self, message: AnalysisFailed) -> None:
        self.set_status("cannot open the data", None)
        self.push_screen(ErrorScreen(message.error, message.title))

    def on_decisions_changed(self, _: DecisionsChanged) -> None:
        # Only the visible tab redraws now; the others when they are next shown, so a
        # key press costs one tab's work (the Duplicates tab updates its own rows).
        active = self.query_one(TabbedContent).active
        self.stale = {tab.name for tab in TAB_SPECS if tab.follows_decisions} - (
            {"duplicates"} if active == "duplicates" else set()
        )
        self._refresh_if_stale(active)
        self.refresh_plan(delay=REPLAN_AFTER)

    def _refresh_if_stale(self, name: str) -> None:
        if name not in self.stale:
            return
        self.stale.discard(name)
        self._tab(name).show(self.session)

    def _tab(self, name: str) -> Any:
        """The widget of the tab of this name (see tabs.py)."""
        return self.query_one(f"#{BY_NAME[name].widget_id}")

    def on_threshold_changed(self, _: ThresholdChanged) -> None:
        s = self.session
        dup_tab = self.query_one(DuplicatesTab)
        dup_tab.show(s)
        dup_tab.show_threshold_examples()  # until the cursor moves or a decision is made
        self.query_one(OverviewTab).show(s)
        self.stale.add("leakage")  # its hits between splits were found again
        self._refresh_if_stale(self.query_one(TabbedContent).active)
        self.notify(f"Near threshold J ≥ {s.threshold:.2f}: {many(s.duplicates.clusters.height, 'cluster')}.")
        self.refresh_plan()

    def on_plan_ready(self, message: PlanReady) -> None:
        if message.generation != self.plan_generation:
            return  # a cancelled worker's plan, from before a later decision
        self.plan, self.plan_of, self.plan_basis = message.plan, message.generation, message.basis
        self.query_one(SplitsTab).show_plan(message.plan)
        ds = self.session.dataset
        if not ds.has_splits:
            # Without splits in the input, the scorecard counts per planned split.
            self.query_one(CoverageTab).show(
                self.session, message.plan.split_of_rows(ds.rows.height), planned=True
            )
        if self.session.ready:
            self.set_status(
                f"{many(self.session.dataset.rows.height, 'row')} · journal {self.session.journal.path.name}",
                None,
            )
        if self.write_pending:
            self.write_pending = False
            self.action_write()

    def on_export_done(self, message: ExportDone) -> None:
        self.exporting = False
        result = message.result
        self.query_one(SplitsTab).show_result(result)
        self.action_tab("splits")
        if not result.installed:
            said = f"not written: the output failed its check, see Splits ({result.out} is as it was)"
            self.set_status(said, None)
            self.notify(said, severity="error", timeout=10)
            return
        self.set_status(f"wrote {result.out}", None)
        self.notify(f"Wrote {result.out}", severity="information", timeout=8)

    def on_export_failed(self, message: ExportFailed) -> None:
        self.exporting = False
        self.set_status(message.error, None)
        self.notify("; ".join([message.error, *message.done]), severity="error", timeout=10)

    # --- the command palette ------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action of the app in the palette (ctrl+p), named as a person would look
        for it, with its key; Textual's own (quit, theme, screenshot) after them."""
        yield SystemCommand(
            "Write splits", "Write train, validation and test files, verified (w)", self.action_write
        )
        yield SystemCommand("Undo", "Undo the last decision (u)", self.action_undo)
        yield SystemCommand("Keys", "Every key that works here (?)", self.action_help)
        yield SystemCommand(
            "Browse rows",
            "Every row: search, filter by label, split, file or finding (b)",
            self.action_browse,
        )
        for i, tab in enumerate(TAB_SPECS, start=1):
            yield SystemCommand(
                f"Go to {tab.title}", f"The {tab.title} tab (F{i})", partial(self.action_tab, tab.name)
            )
        on = self._on_tab
        yield SystemCommand(
            "Filter clusters", "By text or label (/ on Duplicates)", partial(on, "duplicates", "filter")
        )
        yield SystemCommand(
            "Raise the near-duplicate threshold",
            "By 0.02 (+ on Duplicates)",
            partial(on, "duplicates", "threshold", 1),
        )
        yield SystemCommand(
            "Lower the near-duplicate threshold",
            "By 0.02 (- on Duplicates)",
            partial(on, "duplicates", "threshold", -1),
        )
        yield SystemCommand(
            "Accept all exact duplicates",
            "Keep the first of every exact cluster without a conflict (A on Duplicates)",
            partial(on, "duplicates", "accept_all_exact"),
        )
        yield SystemCommand(
            "Re-split", "New splits with a new seed (r on Splits)", partial(on, "splits", "resplit")
        )
        yield from super().get_system_commands(screen)

    def _on_tab(self, name: str, action: str, *args: Any) -> None:
        """Show a tab and run one of its actions, as its key there would."""
        if not self.ready:
            self.notify("Still working: the data is not analysed yet.")
            return
        self.action_tab(name)
        getattr(self._tab(name), f"action_{action}")(*args)

    # --- actions ----------------------------------------------------------------------
    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name
        self._focus_tab(name)

    def _focus_tab(self, name: str) -> None:
        self.query_one(BY_NAME[name].focus).focus()

    def action_next_tab(self, step: int) -> None:
        current = TABS.index(self.query_one(TabbedContent).active or TABS[0])
        self.action_tab(TABS[(current + step) % len(TABS)])

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        name = event.pane.id or TABS[0]
        # The tab is on screen first; what changed since it was last shown follows in
        # the next frame (its redraw takes 10-50 ms at a million rows).
        self.call_after_refresh(self._refresh_if_stale, name)
        self._focus_tab(name)
        if self.ready and self._shows_plan(name):
            self.want_plan()

    def action_browse(self) -> None:
        """The row browser over the tabs (escape comes back)."""
        if not self.ready:
            self.notify("Still working: the data is not analysed yet.")
            return
        if not isinstance(self.screen, RowsScreen):
            self.push_screen(RowsScreen(self.session))

    def action_help(self) -> None:
        """Built from the bindings active right now, so it cannot drift from the code."""
        rows: list[tuple[int, str, str, str]] = []
        seen: set[tuple[str, str]] = set()
        members = False  # the Duplicates tab's 1-9 are active here
        for active in self.screen.active_bindings.values():
            binding = active.binding
            # The tabs' F-keys and 1-9 are one row each (below), not one per key.
            if binding.action.startswith("keeper("):
                members = True
                continue
            if binding.action.startswith("tab("):
                continue
            node = type(active.node).__name__
            if node in ("SfttuiApp", "Screen"):
                where, rank = "everywhere", 0
            elif node.endswith("Tab"):
                where, rank = node.removesuffix("Tab"), 1
            else:
                where, rank = "table", 2
            label = binding.description or binding.action
            if binding.action == "quit":
                if binding.key != "q":
                    continue  # ctrl+c and Textual's ctrl+q: one row for quitting, q's
                label = "Quit (also ctrl+c)"
            if (label, where) in seen or binding.system:
                continue
            seen.add((label, where))
            rows.append((rank, binding.key_display or self.get_key_display(binding), label, where))
        rows.append((0, f"F1-F{len(TABS)}", "switch tab (also [ ] and ctrl+left/right)", "everywhere"))
        if members:
            rows.append((1, "1-9", "keep that member, drop the others", "Duplicates"))
        rows.sort(key=lambda r: r[0])
        self.push_screen(HelpScreen([(key, label, where) for _, key, label, where in rows]))

    def action_undo(self) -> None:
        """Undo the last decision wherever it was made (the Duplicates tab has its own,
        which also puts the cursor back on the cluster)."""
        if self.refused_read_only():
            return
        if not self.ready:
            return
        if self.session.undo() is None:
            self.notify("Nothing to undo.")
        self.post_message(DecisionsChanged())

    def action_write(self) -> None:
        if not self.ready:
            self.notify("Still working: the data is not analysed yet.")
            return
        if self.exporting:
            self.notify("The splits are being written; wait until that is done.")
            return
        if not self.plan_is_current():
            # Writing a plan from before the last decision would ignore that decision.
            self.write_pending = True
            if self.query_one(DuplicatesTab).rebuilding:
                pass  # on_threshold_changed plans again, for the new clusters
            elif self.plan is not None and self.plan_of == self.plan_generation:
                self.refresh_plan()  # a decision whose DecisionsChanged is still on its way
            else:
                self.want_plan()
            self.notify("Updating the split plan; the write dialog opens when it is ready.")
            return
        if self.session.journal.held_elsewhere:
            # Its decisions may be newer than what this window read: they would be left out.
            self.notify(
                "Not written: another sfttui window has this data open, and may hold decisions this "
                "one has not read; write the splits from there.",
                severity="error",
                timeout=8,
            )
            return
        plan, out = self.plan, self.session.default_out()
        problem = self.session.reason_cannot_write(out)
        if problem:
            self.notify(problem, severity="error")
            return
        counts = plan.counts()
        replace = " (replaces its contents)" if out.exists() and any(out.iterdir()) else ""
        body = (
            f"Output: {out}{replace}\n"
            + "".join(f"  {name}: {many(counts[name], 'row')}\n" for name in SPLITS)
            + f"  dropped: {counts['dropped']:,} ("
            + (", ".join(f"{n:,} {k}" for k, n in counts["dropped_by"].items()) or "none")
            + ")\n"
            + "\n".join(text for text, _ in self._remains(plan))
        )

        def done(confirmed: bool | None) -> None:
            if not confirmed or self.exporting:
                return
            if plan is not self.plan or not self.plan_is_current():
                # A decision or a new threshold while the question was open.
                self.notify("The split plan changed while you were asked; asking again.")
                self.action_write()
                return
            try:
                self.session.record_clustering()
            except OSError as exc:  # the splits are still right; `split` may band otherwise
                self.notify(f"Could not journal the threshold: {exc.strerror or exc}", severity="warning")
            self.exporting = True
            self.export(plan, out)

        self.push_screen(ConfirmScreen("Write splits?", body), done)

    def _remains(self, plan: ExportPlan) -> list[tuple[str, bool]]:
        """What these splits would still hold (see render.what_remains)."""
        s = self.session
        shortfalls: list[str] = []
        if s.coverage.ran:
            planned = plan.split_of_rows(s.dataset.rows.height)
            shortfalls = s.coverage.card_dict(planned, s.marked_hard_negatives())["warnings"]
        leaks = plan.leakage_remaining.get_column("kind").to_list()
        return what_remains(leaks, len(plan.unresolved_conflicts), shortfalls)

    async def action_quit(self) -> None:
        # Every decision is already in the journal; only the position is left to save.
        if self.ready:
            tab = self.query_one(TabbedContent).active
            cluster = self.query_one(DuplicatesTab).current_cluster()
            self.save_position({"tab": tab, "cluster": cluster})
        self.exit()

    def save_position(self, position: dict[str, str | None]) -> None:
        """Where the person is, for the next start; a failed write (a full disk) is said
        once and the app carries on: the decisions themselves are already saved."""
        try:
            self.session.save_position(position)
        except OSError as exc:
            if not self._position_failed:
                self._position_failed = True
                self.notify(
                    f"Could not save where you are ({exc.strerror or exc}); your decisions are saved.",
                    severity="warning",
                    timeout=8,
                )

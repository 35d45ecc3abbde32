"""Pilot tests: real key presses on each tab, assertions on state and on files written."""

from __future__ import annotations

import io
import json
import random
import re
import time
from dataclasses import replace
from itertools import pairwise

import polars as pl
import pytest
from rich.console import Console
from textual.widgets import Static

from sfttui.engine.settings import LengthSettings
from sfttui.tui.app import SfttuiApp
from sfttui.tui.screens import ConfirmScreen, ErrorScreen, HelpScreen
from sfttui.tui.tabs.coverage import CoverageTab
from sfttui.tui.tabs.duplicates import DuplicatesTab
from sfttui.tui.tabs.leakage import LeakageTab
from sfttui.tui.widgets.footer import KeysFooter
from sfttui.tui.widgets.rendered import Rendered
from sfttui.tui.widgets.row_list import RowList

from .app_factory import (
    demo_copy,
    families_across_splits,
    make_app,
    redrawn,
    screen_text,
    settle,
    stopped_csv,
)


def _journal(app) -> list[dict]:
    lines = app.session.journal.path.read_text().splitlines()
    return [json.loads(x) for x in lines[1:]]


def _slowed(monkeypatch, owner: type, name: str, seconds: float) -> list[tuple]:
    """`owner.name` made to sleep `seconds` before each call; the calls' arguments (after
    self) are listed in the list returned."""
    original = getattr(owner, name)
    calls: list[tuple] = []

    def slow(self, *args, **kwargs):
        calls.append(args)
        time.sleep(seconds)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, slow)
    return calls


async def test_triage_keys_write_the_journal_at_once(tmp_path):
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        tab = app.query_one(DuplicatesTab)
        first = tab.current_cluster()
        proposed = app.session.cluster(first)["keeper"]
        await pilot.press("a")
        entries = _journal(app)
        assert entries[-1]["action"] == "keep" and entries[-1]["cluster"] == first
        assert entries[-1]["keeper"] == proposed
        assert app.query_one("#clusters", RowList).cursor_row == 1  # moved on to the next cluster
        second = tab.current_cluster()
        members = app.session.cluster(second)["members"]
        await pilot.press("2")
        assert _journal(app)[-1] == {
            **_journal(app)[-1],
            "cluster": second,
            "keeper": members[1],
            "drop": [members[0]],
        }
        third = tab.current_cluster()
        await pilot.press("x")
        assert _journal(app)[-1]["action"] == "keep_all" and _journal(app)[-1]["cluster"] == third
        await pilot.press("u")
        assert _journal(app)[-1]["action"] == "undo"
        assert app.session.cluster_states() == {first: f"keep {proposed}", second: f"keep {members[1]}"}
        # Other tabs redraw when shown: the Overview counts the two decisions.
        await pilot.press("f1")
        await settle(pilot)  # the re-plan after the undo
        console = Console(width=200, record=True, file=io.StringIO())
        console.print(app.query_one("#overview-summary", Static).content)
        assert "327 undecided" in console.export_text()  # 329 clusters (196 example, 133 input)


async def test_moving_the_threshold_under_a_filter_filters_the_new_clusters(tmp_path):
    # `/ billing`, then `-`: comparing the clustering the filter was made for with the new
    # one compared their frames ("DataFrame dimensions do not match"): the app ended.
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f2", "slash", *"billing", "enter")
        await settle(pilot)
        tab = app.query_one(DuplicatesTab)
        before = tab.view.height
        await pilot.press("minus")
        await settle(pilot)
        assert app.is_running and app.session.threshold == 0.78
        texts = app.session.dataset.rows["text"].to_list()
        expected = {
            c["id"]
            for c in app.session.duplicates.clusters.to_dicts()
            if "billing" in c["labels"] or any("billing" in texts[r].lower() for r in c["rows"])
        }
        assert set(tab.view["id"].to_list()) == expected and len(expected) >= before > 0


async def test_next_undecided_filter_and_accept_all_exact(tmp_path):
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f2", "a", "a", "k", "k")
        tab = app.query_one(DuplicatesTab)
        assert app.query_one("#clusters", RowList).cursor_row == 0
        await pilot.press("n")
        assert tab.current_cluster() not in app.session.cluster_states()
        assert app.query_one("#clusters", RowList).cursor_row == 2
        await pilot.press("slash")
        await pilot.press(*"legal", "enter")
        await settle(pilot)  # the search runs off the UI thread
        # The filter keeps exactly the clusters with the label, or a member whose text holds it.
        texts = app.session.dataset.rows["text"].to_list()
        expected = {
            c["id"]
            for c in app.session.duplicates.clusters.to_dicts()
            if "legal" in c["labels"] or any("legal" in texts[r].lower() for r in c["rows"])
        }
        assert tab.view is not None and set(tab.view["id"].to_list()) == expected and len(expected) >= 2
        await pilot.press("slash")
        for _ in range(5):
            await pilot.press("backspace")
        await pilot.press("enter")
        assert tab.view.height == app.session.duplicates.clusters.height
        expected = app.session.undecided_exact()
        await pilot.press("A")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")
        await pilot.pause()
        keeps = [e for e in _journal(app) if e["action"] == "keep"]
        assert len(keeps) == 2 + expected
        assert app.session.undecided_exact() == 0


async def test_an_output_that_fails_its_check_is_not_written_from_the_app(tmp_path, monkeypatch):
    out = tmp_path / "splits"
    app = make_app([demo_copy(tmp_path)], tmp_path / "state", out=out)
    # A writer bug: dropped.jsonl loses its rows; the read-back catches it before the rename.
    monkeypatch.setattr("sfttui.engine.export._dropped_lines", lambda dropped, dataset: iter(()))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("w", "enter")
        await settle(pilot)
        notes = str(app.query_one("#splits-notes").render())
        assert f"not written: the output failed its check; {out} is as it was" in notes
        assert "✗ outputs hold 2,571 lines, inputs 2,679, or their contents differ" in notes
        assert "written to" not in notes and "sha256" not in notes
    assert not out.exists()


async def test_a_write_that_fails_says_what_it_did_beside_the_output(tmp_path, monkeypatch):
    import errno

    from sfttui.engine.io.outdir import UNFINISHED

    out = tmp_path / "splits"
    dead = tmp_path / ".splits.tmp-999999999-ab12cd34"  # an earlier write's leftover
    dead.mkdir()
    (dead / UNFINISHED).touch()

    def full(path, pieces):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("sfttui.engine.export._write_pieces", full)
    app = make_app([demo_copy(tmp_path)], tmp_path / "state", out=out)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("w", "enter")
        await settle(pilot)
        said = [n.message for n in app._notifications if n.severity == "error"]
        assert said == [
            f"cannot write {out}: No space left on device; "
            "recovered: removed 1 unfinished or replaced output directory left beside splits by an "
            "interrupted write"
        ]
        assert not app.exporting
    assert not out.exists() and not dead.exists()


async def test_write_splits_from_the_app(tmp_path):
    data = demo_copy(tmp_path)
    out = tmp_path / "splits"
    app = make_app([data], tmp_path / "state", out=out)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("w")
        assert isinstance(app.screen, ConfirmScreen)
        # The dialog says what the splits would still hold, not only what is written.
        body = app.screen.body
        assert "leakage between the splits: none" in body
        assert "label conflicts left unresolved: 23 (the same input goes out with different labels)" in body
        assert (
            "hard-data shortfalls in the splits: 11, first: the train split has 15 hard-negative rows" in body
        )
        await pilot.press("enter")
        await settle(pilot)
        # And so does the result, beside the checks that passed.
        notes = str(app.query_one("#splits-notes").render())
        assert (
            "✓ leakage between the splits: none" in notes and "⚠ label conflicts left unresolved: 23" in notes
        )
        assert "⚠ hard-data shortfalls in the splits: 11" in notes
        # What the splits were clustered at, so `sfttui split` bands and clusters the same.
        [record] = _journal(app)
        assert (record["action"], record["threshold"]) == ("threshold", 0.8)
        assert record["floor"] == pytest.approx(0.65)
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["unresolved_conflicts"]) == 23 and len(manifest["coverage"]["warnings"]) == 11
    counts = manifest["counts"]
    assert counts["train"] + counts["validation"] + counts["test"] + counts["dropped"] == 2679
    assert counts["dropped_by"] == {"bad line": 8, "exact duplicate": 100}
    assert manifest["leakage_remaining"] == []
    lines = sum(len((out / f"{s}.jsonl").read_bytes().splitlines()) for s in ("train", "validation", "test"))
    assert lines == counts["train"] + counts["validation"] + counts["test"]


async def test_reopening_resumes_decisions_and_position(tmp_path):
    data = demo_copy(tmp_path)
    app = make_app([data], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f2", "a", "a", "j")
        decided = app.session.cluster_states()
        await pilot.press("a")  # the position is saved with each decision
        where = app.query_one(DuplicatesTab).current_cluster()
        # No clean quit: the process is killed here, as when an SSH session drops.
    # A new process on the same data: same decisions, same place.
    again = make_app([data], tmp_path / "state")
    async with again.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert again.session.journal.resumed
        assert len(again.session.cluster_states()) == len(decided) + 1
        assert again.query_one(DuplicatesTab).current_cluster() == where


async def test_threshold_keys_rebuild_clusters(tmp_path):
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        before = app.session.duplicates.clusters.height
        await pilot.press("f2", "minus", "minus", "minus")
        await settle(pilot)
        assert abs(app.session.threshold - 0.74) < 1e-9
        # The detail pane now shows the pairs nearest the new threshold.
        assert "pairs nearest J = 0.74" in app.query_one("#dup-detail", Rendered).text
        after = app.session.duplicates
        assert after.clusters.filter(pl.col("kind") == "near").height >= 76
        # Rebuilt at 0.74: each member within it of its own keeper, more rows clustered. (A
        # row can also leave: its keeper joined an earlier one it is not near; leaders.)
        at_08 = app.session.duplicates.at_threshold(0.8)
        near = after.clusters.filter(pl.col("kind") == "near")
        assert min(near["similarities"].explode().to_list()) >= 0.74 - 1e-9
        assert min(at_08.clusters.filter(pl.col("kind") == "near")["similarity"].to_list()) >= 0.8 - 1e-9
        assert after.membership.height > at_08.membership.height and before == at_08.clusters.height


async def test_the_threshold_moved_is_saved_and_where_the_app_opens_again(tmp_path):
    data = demo_copy(tmp_path)
    app = make_app([data], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f2", "minus", "minus", "minus")
        await settle(pilot)
        await pilot.press("a")  # keep the first cluster's keeper, at 0.74
        await settle(pilot)
        records = _journal(app)
        assert [r["threshold"] for r in records if r["action"] == "threshold"][-1] == 0.74
        decided = app.session.cluster_states()
        assert len(decided) == 1
        await pilot.press("u")  # undoes the keep, not a threshold move
        await settle(pilot)
        assert _journal(app)[-1]["action"] == "undo" and abs(app.session.threshold - 0.74) < 1e-9
        await pilot.press("a")
        await settle(pilot)
    again = make_app([data], tmp_path / "state")
    async with again.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        assert abs(again.session.threshold - 0.74) < 1e-9
        assert any(
            n.message.startswith("Resumed 1 decision at near threshold 0.74") for n in again._notifications
        )
        assert again.session.cluster_states() == decided and not again.session.resolution().stale
        assert "near threshold J ≥ 0.74" in str(again.query_one("#dup-summary", Static).render())


async def test_quick_threshold_keys_step_from_the_value_asked_for(tmp_path, monkeypatch):
    """Keys pressed while a rebuild runs each step on from the last one asked for, and the
    session ends at the last value even when the rebuilds overlap."""
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        # Every key below lands while a rebuild is under way.
        calls = _slowed(monkeypatch, type(app.session), "set_threshold", 1.0)
        await pilot.press("f2", "minus", "minus", "minus", "minus", "plus")
        await settle(pilot)
        assert abs(app.session.threshold - 0.74) < 1e-9
        applied = [threshold for (threshold,) in calls]
        assert applied[-1] == 0.74 and applied == sorted(applied, reverse=True)
        assert abs(app.session.duplicates.threshold - 0.74) < 1e-9
        await pilot.press("minus")
        await settle(pilot)
        assert abs(app.session.threshold - 0.72) < 1e-9 and calls[-1] == (0.72,)


async def test_no_decision_lands_on_clusters_being_rebuilt(tmp_path, monkeypatch):
    # During a rebuild the list still shows the old clusters: an id may be gone (a
    # KeyError ended the app) or hold other rows at the new threshold.
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        # Long enough that the keys land inside it on a loaded machine.
        _slowed(monkeypatch, type(app.session), "set_threshold", 3.0)
        tab = app.query_one(DuplicatesTab)
        await pilot.press("f2", "plus", "a", "1", "x", "M")
        assert app.session.journal.decisions == [] and isinstance(app.screen, type(app.get_default_screen()))
        assert any("being updated for the new threshold" in n.message for n in app._notifications)
        await settle(pilot)
        assert abs(app.session.threshold - 0.82) < 1e-9 and tab._view_of is app.session.duplicates
        await pilot.press("a")
        threshold, decision = app.session.journal.decisions
        assert threshold.action == "threshold" and threshold.payload["threshold"] == 0.82
        assert threshold.payload["floor"] == pytest.approx(0.65)  # the floor its pairs were verified to
        assert app.session.duplicates.has_cluster(decision.payload["cluster"])


async def test_the_write_dialog_keeps_its_keys_in_view_on_a_small_terminal(tmp_path):
    # At 60x16 the dialog's last body lines and "enter confirms · esc cancels" were cut
    # off: the person saw no way to confirm, and no way to read the rest.
    app = make_app([demo_copy(tmp_path)], tmp_path / "state", out=tmp_path / "splits")
    async with app.run_test(size=(60, 16)) as pilot:
        await settle(pilot)
        await pilot.press("w")
        assert isinstance(app.screen, ConfirmScreen)
        shown = screen_text(app)
        assert "Write splits?" in shown and "enter confirms · esc cancels" in shown
        assert "(target about 20)" not in shown  # the body's end is below, to scroll to
        await pilot.press("end")
        await pilot.pause()
        shown = screen_text(app)
        assert "20)" in shown and "enter confirms · esc cancels" in shown and "Write splits?" in shown
        await pilot.press("escape")
        assert not isinstance(app.screen, ConfirmScreen) and not (tmp_path / "splits").exists()


async def test_ctrl_c_quits_as_q_does(tmp_path, monkeypatch):
    # Ctrl-C is the key people press to leave a program over SSH; it showed Textual's
    # "Press [b]ctrl+q[/b] to quit the app", its markup shown as text by the literal toasts.
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    exits: list[tuple] = []
    real_exit = app.exit
    monkeypatch.setattr(app, "exit", lambda *args, **kwargs: (exits.append(args), real_exit(*args, **kwargs)))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f3", "ctrl+c")
        await pilot.pause()
        assert exits == [()]
        assert not [n.message for n in app._notifications if "ctrl+q" in n.message]
    position = next((tmp_path / "state").glob("position-*.json"))
    assert json.loads(position.read_text())["tab"] == "balance"  # saved as q saves it


async def test_back_from_ctrl_z_the_whole_screen_is_drawn_again(tmp_path, monkeypatch):
    # After `fg` the terminal's screen was blank until something changed: Textual's
    # SIGCONT path publishes the resume signal but, unlike App.suspend, draws nothing.
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        calls: list[dict] = []
        real = app.refresh

        def refresh(*args, **kwargs):
            calls.append(kwargs)
            return real(*args, **kwargs)

        monkeypatch.setattr(app, "refresh", refresh)
        app.app_resume_signal.publish(app)
        await pilot.pause()
        assert {"layout": True} in calls


async def test_w_during_a_rebuild_writes_the_new_clusters(tmp_path, monkeypatch):
    out = tmp_path / "splits"
    app = make_app([demo_copy(tmp_path)], tmp_path / "state", out=out)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        _slowed(monkeypatch, type(app.session), "set_threshold", 2.0)
        await pilot.press("f2", "plus", "w")
        assert not isinstance(app.screen, ConfirmScreen)  # not with the plan of 0.80
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.plan_basis[0] is app.session.duplicates and abs(app.session.threshold - 0.82) < 1e-9
        await pilot.press("enter")
        await settle(pilot)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["settings"]["near"]["threshold"] == 0.82  # was the scan's 0.8 whatever the app showed


async def test_w_right_after_a_decision_waits_for_a_plan_with_it(tmp_path):
    # A decision saved whose DecisionsChanged has not reached the app yet (keys typed
    # ahead): the plan of the same generation does not hold it.
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        dropped = app.plan.counts()["dropped"]
        near = app.session.duplicates.clusters.filter(pl.col("kind") == "near").row(0, named=True)
        app.session.keep(near["id"])  # journaled; no message posted
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        # The plan asked about drops the cluster's other members (it did not before).
        after = app.plan.counts()["dropped"]
        assert after == dropped + near["size"] - 1 and f"dropped: {after:,} (" in app.screen.body


async def test_a_second_w_while_writing_does_not_start_another_write(tmp_path, monkeypatch):
    out = tmp_path / "splits"
    app = make_app([demo_copy(tmp_path)], tmp_path / "state", out=out)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        writes = _slowed(monkeypatch, type(app.session), "write", 2.0)
        await pilot.press("w", "enter")
        # Until the write is under way (a fixed pause missed it on two busy cores).
        for _ in range(200):
            if app.exporting:
                break
            await pilot.pause(0.01)
        assert app.exporting
        await pilot.press("w")
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("being written" in n.message for n in app._notifications)
        await settle(pilot)
        assert len(writes) == 1 and not app.exporting and (out / "manifest.json").exists()
        await pilot.press("w")  # once it is done, a write can be asked for again
        await settle(pilot)  # on a busy machine the plan may be refreshed first: then it opens
        assert isinstance(app.screen, ConfirmScreen), [n.message for n in app._notifications]


async def test_leakage_tab_shows_the_leaks_of_the_new_threshold(tmp_path, write_jsonl):
    data = write_jsonl("s.jsonl", families_across_splits())
    app = make_app([data], tmp_path / "state", group="")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        tab = app.query_one(LeakageTab)
        await pilot.press("f5")
        assert tab.hits["b_split"].to_list() == ["test"] * 4
        await pilot.press("f2", "minus", "minus", "minus", "f5")
        await settle(pilot)
        assert sorted(tab.hits["b_split"].to_list()) == ["test"] * 4 + ["validation"] * 4
        await pilot.press("m")  # the validation row's whole family goes to train
        [move] = [d for d in app.session.journal.decisions if d.action == "move_rows"]
        assert len(move.payload["keys"]) == 3 and move.payload["split"] == "train"
        assert any(
            re.fullmatch(r"3 rows of .+ go to train \(journal\)\.", n.message) for n in app._notifications
        )


async def test_r_right_after_a_resplit_does_not_ask_again(tmp_path, write_jsonl, monkeypatch):
    # The input's own splits: r asks to build new ones. Pressed again before the new
    # plan came, it asked again (the plan on screen still said "from the input").
    data = write_jsonl("s.jsonl", families_across_splits())
    app = make_app([data], tmp_path / "state", group="")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        _slowed(monkeypatch, type(app.session), "plan", 2.0)
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter", "r")
        assert not isinstance(app.screen, ConfirmScreen)
        splits = [d.payload for d in app.session.journal.decisions if d.action == "split"]
        assert [(p["seed"], p["resplit"]) for p in splits] == [(1234, True), (1235, True)]
        await settle(pilot)


async def test_a_failed_rebuild_or_search_is_said_and_the_tab_carries_on(tmp_path, monkeypatch):
    # Workers of tabs and screens post their StateChanged to themselves (it does not
    # bubble): their errors were shown nowhere, the list stayed as it was.
    from sfttui.tui import browse

    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        rebuild = type(app.session).set_threshold

        def broken(session, threshold):
            raise RuntimeError("out of memory")

        monkeypatch.setattr(type(app.session), "set_threshold", broken)
        await pilot.press("f2", "minus")
        await settle(pilot)
        assert any(n.message == "threshold failed: out of memory" for n in app._notifications)
        assert abs(app.session.threshold - 0.8) < 1e-9
        monkeypatch.setattr(type(app.session), "set_threshold", rebuild)
        await pilot.press("minus")  # steps from the threshold in force, not the failed one
        await settle(pilot)
        assert abs(app.session.threshold - 0.78) < 1e-9

        def failing(session, query):
            raise RuntimeError("bad index")

        monkeypatch.setattr(browse, "matching_rows", failing)
        await pilot.press("b")
        await settle(pilot)
        assert "the search failed" in str(app.screen.query_one("#rows-summary").render())
        assert any(n.message == "rows failed: bad index" for n in app._notifications)


async def test_balance_cap_and_deliberate(tmp_path):
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f3", "c")
        await pilot.press(*"500", "enter")
        await pilot.press("j", "d")
        entries = _journal(app)
        assert (
            entries[-2]["action"] == "cap"
            and entries[-2]["label"] == "billing"
            and entries[-2]["max_rows"] == 500
        )
        assert entries[-1]["action"] == "deliberate" and entries[-1]["label"] == "shipping"
        await settle(pilot)
        # Balance shows the counts before and after the decisions so far.
        table = app.query_one("#labels")
        billing = app.session.balance.overall.counts["billing"]
        assert str(table.get_cell("billing", "rows")) == f"{billing:,}" and billing > 500
        assert str(table.get_cell("billing", "after")) == "500"
        shipping = f"{app.session.balance.overall.counts['shipping']:,}"
        assert str(table.get_cell("shipping", "after")) == shipping  # deliberate drops nothing
        await pilot.press("f2", "a")  # a decision that drops rows shows on Balance too
        await settle(pilot)
        dropped = [k for k in app.session.resolution().dropped]
        labels = app.session.dataset.rows.filter(pl.col("key").is_in(dropped))["label"].to_list()
        await pilot.press("f3")
        await settle(pilot)
        for label in set(labels) - {"billing"}:
            left = app.session.balance.overall.counts[label] - labels.count(label)
            assert str(table.get_cell(label, "after")) == f"{left:,}"
        # Nothing on Balance shows the plan: it is stale, and no re-plan runs until it is wanted.
        assert app.plan_of != app.plan_generation and not app.plan_pending
        await pilot.press("f4")
        await settle(pilot)
        assert app.plan is not None and app.plan_of == app.plan_generation
        assert app.plan.kept.filter(pl.col("label") == "billing").height == 500
        assert app.plan.counts()["dropped_by"]["class cap"] > 0


async def test_balance_keeps_its_cursor_and_its_rows_beside_many_warnings(tmp_path, write_jsonl):
    # After a decision the table was drawn again with the cursor on its first row, so the
    # next key acted on another label than the one just capped; and with 41 labels the
    # warnings below took the screen, leaving the table its header alone.
    rows = [{"text": f"question {i} about thing {i % 97}", "label": f"l{i % 41:02d}"} for i in range(400)]
    rows += [{"text": f"extra row {i} for the first label", "label": "l00"} for i in range(300)]
    app = make_app([write_jsonl("many.jsonl", rows)], tmp_path / "state", group="")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        table = app.query_one("#labels")
        assert table.size.height >= 4 and table.row_count == 41
        await pilot.press("j", "j", "c", "5", "enter")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        cap, deliberate = _journal(app)[-2:]
        assert (cap["action"], cap["label"], cap["max_rows"]) == ("cap", "l02", 5)
        assert (deliberate["action"], deliberate["label"]) == ("deliberate", "l02")
        assert table.cursor_row == 2


async def test_a_very_long_label_leaves_the_cap_prompt_on_screen(tmp_path, write_jsonl):
    from textual.widgets import Input

    long = "refund-" * 430  # ~3,000 characters
    rows = [{"text": f"question {i} about thing {i}", "label": long if i % 3 else "short"} for i in range(90)]
    app = make_app([write_jsonl("long.jsonl", rows)], tmp_path / "state", group="")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f3", "c")
        await settle(pilot)
        box = app.screen.query_one(Input)
        assert 0 <= box.region.y < 30 and box.region.height > 0
        await pilot.press("7", "enter")
        await settle(pilot)
        assert (_journal(app)[-1]["label"], _journal(app)[-1]["max_rows"]) == (long, 7)


async def test_leakage_tab_drops_the_train_side_row(tmp_path, write_jsonl):
    train = write_jsonl(
        "train.jsonl",
        [
            {"text": "how do refunds work for damaged items", "label": "a"},
            {"text": "unique train row", "label": "b"},
        ],
    )
    test = write_jsonl(
        "test.jsonl",
        [
            {"text": "How do refunds work for damaged items?", "label": "a"},
            {"text": "unique test row", "label": "b"},
        ],
    )
    app = make_app([train, test], tmp_path / "state", group="")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        assert app.session.leakage.between_splits.height == 1
        hits, detail = app.query_one("#hits", RowList), app.query_one("#leak-detail", Rendered)
        assert hits.row_count == 1 and [str(c) for c in hits.cells(0)] == [
            "exact",
            "train/test",
            "1.00",
            "test.jsonl:1",
        ]
        assert "train: train.jsonl:1" in detail.text and "test: test.jsonl:1" in detail.text
        await pilot.press("d")
        assert _journal(app)[-1]["action"] == "drop_rows" and _journal(app)[-1]["keys"] == ["train.jsonl:1"]
        await settle(pilot)
        assert str(hits.cells(0)[3]) == "✗ test.js…:1"  # marked as dropped (the key cut to fit)
        await pilot.press("u", "m")
        move = _journal(app)[-1]
        assert move["action"] == "move_rows" and move["split"] == "train"
        assert sorted(move["keys"]) == ["test.jsonl:1", "train.jsonl:1"]
        await settle(pilot)
        # The plan moves the test copy to train, where the exact-copy policy drops it:
        # no leakage is left, and nothing of the cluster stays in test.
        assert app.plan.leakage_remaining.height == 0
        assert app.plan.kept.filter(pl.col("split") == "test")["key"].to_list() == ["test.jsonl:2"]
        assert app.plan.dropped.filter(pl.col("key") == "test.jsonl:1")["kind"].to_list() == [
            "exact duplicate"
        ]


async def test_help_lists_the_active_keys(tmp_path):
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f2", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        described = {row[1] for row in app.screen.rows}
        assert {"Accept drop", "Keep all", "Undo", "Next undecided", "Write"} <= described
        # One row for quitting, q's (it was Textual's ^q), naming ctrl+c too.
        quits = [(key, label) for key, label, _ in app.screen.rows if label.startswith("Quit")]
        assert quits == [("q", "Quit (also ctrl+c)")]
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_unreadable_file_shows_an_error_screen(tmp_path):
    app = make_app([tmp_path / "missing.jsonl"], tmp_path / "state")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert "no such file" in app.screen.message
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_a_long_cluster_list_moves_and_decides_past_one_screen(tmp_path, write_jsonl):
    # 1,200 exact pairs: the list holds them all and draws only the lines on screen.
    rng = random.Random(5)
    vocab = [f"w{i}" for i in range(5000)]
    rows = []
    for _ in range(1200):
        text = " ".join(rng.choices(vocab, k=12))
        rows += [{"text": text, "label": "a"}, {"text": text.upper(), "label": "a"}]
    data = write_jsonl("many.jsonl", rows)
    app = make_app([data], tmp_path / "state", group="")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        table = app.query_one("#clusters", RowList)
        tab = app.query_one(DuplicatesTab)
        assert app.session.duplicates.clusters.height == 1200 == table.row_count
        await pilot.press("ctrl+end")
        assert table.cursor_row == 1199 and table.scroll_offset.y > 1100
        await pilot.press("a")  # the last cluster: decided, the cursor stays
        assert _journal(app)[-1]["cluster"] == tab.view["id"][1199] == tab.current_cluster()
        await pilot.press("home", "pagedown")
        assert table.cursor_row == table.size.height - 2  # one screen of rows below the header
        await pilot.press("n")  # the next undecided one is simply the next row
        assert table.cursor_row == table.size.height - 1
        await pilot.press("end", "n")  # past the end, it wraps round to the top
        assert table.cursor_row == 0
        await redrawn(pilot)
        assert tab.view["id"][0] in app.query_one("#dup-detail", Rendered).text


def _shown(pane: Rendered) -> str:
    """A detail pane's text with its wrapping undone (runs of white space as one)."""
    return " ".join(pane.text.split())


async def _coverage_tab(pilot):
    """Settle, open F6, and hand back the tab, its list, its detail and the analysis."""
    app = pilot.app
    await settle(pilot)
    await pilot.press("f6")
    tab, table = app.query_one(CoverageTab), app.query_one("#cov-list", RowList)
    return tab, table, app.query_one("#cov-detail", Rendered), app.session.coverage


async def test_coverage_scorecard_counts_hard_data_per_planned_split(tmp_path):
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        tab, table, detail, cov = await _coverage_tab(pilot)
        assert tab.view == "scorecard" and table.row_count == 5
        # The demo has no splits of its own: the scorecard counts per planned split.
        assert [c.label for c in table.columns] == ["kind", "goal", "all", "train", "valid", "test"]
        first = [str(cell) for cell in table.cells(0)]
        # 24 rows: two planted pairs sit at prompt J >= 0.8, label conflicts on the input side.
        assert first[:3] == ["hard negatives", "~20", "24✓"]
        planned = app.plan.split_of_rows(app.session.dataset.rows.height)
        in_train = int((planned.gather(cov.hard_rows()) == "train").sum())
        assert first[3] == f"{in_train}{'✓' if in_train >= 20 else '!'}"
        assert "Hard-negative rows" in _shown(detail)
        assert "pairs per label pair: billing≠returns 5 · account≠shipping 2 · " in _shown(detail)


async def test_coverage_hard_negatives_show_each_pair_and_its_label_pair(tmp_path):
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        tab, table, detail, cov = await _coverage_tab(pilot)
        await pilot.press("h")
        assert tab.view == "hard" and table.row_count == cov.hard_pairs.height == 12
        # The planted "fix it / return it" pair (J 0.83) is a near conflict now: above the threshold.
        assert "hard negative · J 0.72 · billing ≠ shipping (1 pair between these labels)" in _shown(detail)
        labels = zip(cov.hard_pairs["label_a"], cov.hard_pairs["label_b"])
        at = next(i for i, pair in enumerate(labels) if set(pair) == {"billing", "returns"})
        await pilot.press(*["j"] * at)
        assert "(5 pairs between these labels)" in _shown(detail)  # as the scorecard counts


async def test_coverage_examples_and_a_dropped_suspect_that_undo_restores(tmp_path):
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        _, table, detail, cov = await _coverage_tab(pilot)
        await pilot.press("e")
        # 8 refusals, 12 out-of-scope and 8 clarifying questions are planted in the demo.
        assert table.row_count == 28 and "clarifying example · found by response" in _shown(detail)
        await pilot.press("l")
        suspects = cov.suspects["key"].to_list()  # which rows: the label model's output
        await pilot.press("d")
        assert _journal(app)[-1]["action"] == "drop_rows" and _journal(app)[-1]["keys"] == [suspects[0]]
        await settle(pilot)
        assert table.cursor_row == 1  # moved on to the next suspect
        assert str(table.cells(0)[2]).startswith("✗")
        await pilot.press("u")
        await settle(pilot)
        assert _journal(app)[-1]["action"] == "undo"
        assert suspects[0] not in app.session.resolution().dropped
        assert not str(table.cells(0)[2]).startswith("✗")


async def test_coverage_production_view_and_a_stated_labelling_rule(tmp_path):
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        tab, table, detail, cov = await _coverage_tab(pilot)
        await pilot.press("p")
        assert tab.view == "production" and table.row_count == 10
        assert "Training prompts alone" in _shown(detail)
        await pilot.press("a")
        assert table.row_count == cov.ambiguous.height and "ambiguous" in _shown(detail)
        # State the labelling rule that decides the closest call (which row: the model's
        # output): typed into a prompt, journaled.
        closest = cov.ambiguous["key"][0]
        await pilot.press("r")
        await pilot.press(*"order problem first -> shipping", "enter")
        await settle(pilot)
        assert _journal(app)[-1] == {
            **_journal(app)[-1],
            "action": "rule",
            "keys": [closest],
            "rule": "order problem first -> shipping",
        }
        assert str(table.cells(0)[3]).startswith("§")
        assert "§ rule: order problem first -> shipping" in _shown(detail)
        await pilot.press("s")
        assert "1 of them decided by a stated rule" not in _shown(detail)  # the first kind is hard negatives
        await pilot.press("j")
        assert "1 of them decided by a stated rule" in _shown(detail)


def test_similarity_histogram_matches_a_plain_count():
    from sfttui.tui.render import histogram

    rng = random.Random(4)
    values = [rng.uniform(0.5, 1.0) for _ in range(5000)] + [0.65, 0.8, 1.0, 0.6499]
    lo, bins = 0.65, 7
    width = (1.0 - lo) / bins
    expected = [0] * bins
    for v in values:
        if v >= lo:
            expected[min(int((v - lo) / width), bins - 1)] += 1
    assert [c for _, c in histogram(values, lo, 1.0, bins)] == expected


async def test_analysis_in_a_child_process_gives_the_same_app(tmp_path):
    """With the analyses in a child process (as `sfttui FILE` does past a few MB), the app
    shows the same clusters and its keys write the same journal as with a thread."""
    data = demo_copy(tmp_path)
    states = {}
    for isolate in (False, True):
        app = make_app([data], tmp_path / f"state-{isolate}", isolate=isolate)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            assert app.ready
            await pilot.press("f2", "a", "j", "x")
            states[isolate] = (
                app.session.duplicates.clusters["id"].to_list(),
                app.session.cluster_states(),
                [(e["action"], e["cluster"]) for e in _journal(app)],
            )
    assert states[True] == states[False]
    clusters, decided, journal = states[True]
    assert len(clusters) > 50 and len(decided) == 2 and [a for a, _ in journal] == ["keep", "keep_all"]


def test_a_failed_analysis_process_is_reported(monkeypatch, tmp_path):
    """Input errors come back as themselves; a child that dies is an error naming its exit
    code and last words, never a wait forever."""
    import sys

    import pytest

    from sfttui.engine import isolated
    from sfttui.engine.errors import InputError
    from sfttui.engine.settings import ScanSettings

    with pytest.raises(InputError, match="no such file"):
        isolated.run_scan_isolated([tmp_path / "missing.jsonl"], ScanSettings())
    dying = [sys.executable, "-c", "import sys; sys.stderr.write('out of memory'); sys.exit(3)"]
    monkeypatch.setattr(isolated, "_CHILD", dying)
    with pytest.raises(isolated.AnalysisCrashed, match=r"exit code 3\): out of memory"):
        isolated.run_scan_isolated([tmp_path / "missing.jsonl"], ScanSettings())
    # Killed (the kernel's out-of-memory killer sends SIGKILL): named, not "exit code -9".
    killed = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
    monkeypatch.setattr(isolated, "_CHILD", killed)
    with pytest.raises(isolated.AnalysisCrashed) as crash:
        isolated.run_scan_isolated([tmp_path / "missing.jsonl"], ScanSettings())
    assert (
        str(crash.value)
        == "the analysis process was killed by SIGKILL (as the system does when memory runs out)"
    )


async def test_footer_shows_each_tabs_keys_and_a_click_presses_one(tmp_path):
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        footer = app.query_one(KeysFooter)
        await pilot.press("f2")
        await settle(pilot)
        shown = {key: description for key, _, description, _ in footer.shown_keys()}
        assert shown["a"] == "Accept drop" and shown["q"] == "Quit"
        line = str(footer.render())
        assert line.startswith(" a Accept drop  x Keep all  u Undo ") and line.endswith(
            " q Quit  ^p palette "
        )
        assert len(line) == 100  # keys that do not fit are left out; help, write, quit and the palette stay
        # A click on a key presses it: x decides the cluster under the cursor.
        decided = len(app.session.journal.decisions)
        start, *_ = next(span for span in footer.spans if span[2] == "x")
        await pilot.click(KeysFooter, offset=(start + 1, 0))
        await settle(pilot)
        assert len(app.session.journal.decisions) == decided + 1
        await pilot.press("f3")
        await settle(pilot)
        assert "a" not in {key for key, *_ in footer.shown_keys()}  # Duplicates' keys are gone
        await pilot.click(KeysFooter, offset=(98, 0))
        await settle(pilot)
        assert type(app.screen).__name__ == "CommandPalette"


async def test_a_failed_plan_can_be_tried_again_and_write_still_works(tmp_path):
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        plan = app.session.plan
        calls = []

        def broken():
            calls.append(1)
            raise RuntimeError("disk on fire")

        app.session.plan = broken
        await pilot.press("f2", "a", "f4")  # a decision, then Splits asks for a new plan
        await settle(pilot)
        assert calls and not app.plan_pending and app.plan_of != app.plan_generation
        app.session.plan = plan
        await pilot.press("w")  # tries again rather than waiting for the failed plan
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.plan_of == app.plan_generation


async def test_overview_lists_every_bad_line_and_scrolls_to_long_reasons(tmp_path, write_jsonl):
    # 3,001 bad lines (the old table stopped at 1,000); on a narrow screen the longest
    # reason is wider than the list.
    rows: list[object] = []
    for i in range(3000):
        rows.append({"text": f"row number {i} about topic {i % 7}", "label": "a" if i % 2 else "b"})
        rows.append("{not json" if i % 2 else "")
    rows.append({"text": "an integer label among strings", "label": 7})
    path = write_jsonl("bad.jsonl", rows)
    app = make_app([path], tmp_path / "state", group="")
    async with app.run_test(size=(60, 30)) as pilot:
        await settle(pilot)
        bad = app.query_one("#bad-lines", RowList)
        assert bad.row_count == app.session.dataset.bad_lines.height == 3001
        assert [str(c) for c in bad.cells(0)] == ["bad.jsonl", "2", "blank line"]
        await pilot.press("end")
        last = [str(c) for c in bad.cells(bad.cursor_row)]
        assert bad.cursor_row == 3000 and last[:2] == ["bad.jsonl", "6,001"]
        # The cursor's line is above the horizontal scrollbar, not under it.
        assert bad.scrollable_content_region.height < bad.size.height
        assert 1 <= bad.cursor_row - round(bad.scroll_offset.y) + 1 < bad.scrollable_content_region.height
        assert last[2].startswith("label is an integer while the file's other labels are")
        assert bad.virtual_size.width > bad.size.width  # the whole reason, wider than the list
        await pilot.press(*["right"] * 40)
        await pilot.pause()
        assert bad.scroll_offset.x > 0
        shown = bad.render_line(bad.cursor_row - round(bad.scroll_offset.y) + 1).text
        assert last[2][-10:] in shown and "bad.jsonl" not in shown  # scrolled to the reason's end


async def test_coverage_without_the_label_model_says_not_checked(tmp_path):
    # "No ambiguous rows. switched off (--no-model)" read as a result.
    from sfttui.engine.settings import CoverageSettings

    session = make_app([demo_copy(tmp_path)], tmp_path / "state").session
    session.settings = replace(session.settings, coverage=CoverageSettings(model=False))
    app = SfttuiApp(session)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f6", "a")
        await settle(pilot)
        assert _shown(app.query_one("#cov-detail", Rendered)).strip() == (
            "Not checked: switched off (--no-model)."
        )


async def test_footer_clicks_on_a_narrow_screen_hit_the_key_shown(tmp_path):
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(30, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        footer = app.query_one(KeysFooter)
        footer.render()
        spans = sorted(footer.spans)
        assert all(a_end <= b_start for (_, a_end, *_), (b_start, *_) in pairwise(spans))
        # No room for the tab's keys: help, write and quit, whole, end at the edge.
        assert [key for _, _, key, _ in spans] == ["question_mark", "w", "q"] and spans[-1][1] == 30
        start, *_ = spans[0]
        await pilot.click(KeysFooter, offset=(start + 1, 0))
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)


async def test_every_stage_the_scan_reports_moves_the_progress_bar(tmp_path):
    # The same-input pass reported a stage the app did not know, so the bar stood still
    # at "near duplicates" for a quarter of a million-row scan.
    from sfttui.engine.runtime.progress import Stage
    from sfttui.tui.app import STAGES, SfttuiApp
    from sfttui.tui.messages import StageProgress

    seen: list[tuple[Stage, float]] = []

    class Recording(SfttuiApp):
        def on_stage_progress(self, message: StageProgress) -> None:
            super().on_stage_progress(message)
            seen.append((message.stage, self.query_one("#progress").progress))

    app = Recording(make_app([demo_copy(tmp_path)], tmp_path / "state").session)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
    reported = {stage for stage, _ in seen}
    assert Stage.INPUT in reported and Stage.NEAR in reported and Stage.EVAL not in reported
    assert reported <= set(STAGES) | {Stage.PLAN, Stage.WRITE}
    ends = [hi for lo, hi in STAGES.values()]
    assert ends == sorted(ends) and ends[-1] == 100
    # The bar only moves forward while the analyses run.
    analysing = [p for stage, p in seen if stage in STAGES]
    assert analysing == sorted(analysing) and analysing[-1] > STAGES[Stage.INPUT][1] - 1


def test_records_are_shown_as_the_engine_reads_their_format():
    from sfttui.engine.io.formats import record_turns

    chat = {
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url"}]},
            {"role": "assistant", "content": "A cat."},
        ]
    }
    assert record_turns(chat, "chat") == [
        ("developer", "Be brief."),
        ("user", "What is this?\n[image_url]"),
        ("assistant", "A cat."),
    ]
    alpaca = {"instruction": "Add.", "input": "", "output": "2"}
    assert record_turns(alpaca, "alpaca") == [("instruction", "Add."), ("output", "2")]
    assert record_turns({"prompt": "p", "completion": "c"}, "prompt_completion") == [
        ("prompt", "p"),
        ("completion", "c"),
    ]
    # One text: the row's own text shows (the engine read only that field).
    assert record_turns(alpaca, "custom") is None and record_turns({"text": "t"}, "text") is None
    assert record_turns({"messages": "not turns"}, "chat") is None


async def test_a_text_field_row_shows_what_was_analysed_not_other_fields(tmp_path, write_jsonl):
    # With --text-field instruction, the app re-parsed the line as Alpaca and showed its
    # output too, although only the instruction was matched.
    from sfttui.engine.session import Session
    from sfttui.engine.settings import LoadSettings, ScanSettings
    from sfttui.tui.app import SfttuiApp

    rows = [
        {"instruction": "Write a function that reverses a string in Python", "output": f"SECRET-OUTPUT-{i}"}
        for i in range(2)
    ] + [
        {"instruction": t, "output": "x"}
        for t in ("Sort a list of numbers", "Name three colours", "Spell cat")
    ]
    data = write_jsonl("tasks.jsonl", rows)
    settings = ScanSettings(load=LoadSettings(text_field="instruction"))
    app = SfttuiApp(Session(paths=[str(data)], settings=settings, state_dir=str(tmp_path / "state")))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await redrawn(pilot)
        shown = _shown(app.query_one("#dup-detail", Rendered))
        assert "reverses a string in Python" in shown
        assert "SECRET-OUTPUT" not in shown and "output:" not in shown


async def test_every_registered_tab_has_its_key_its_focus_and_redraws_after_a_decision(tmp_path):
    from sfttui.tui.tabs import TABS

    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        for i, tab in enumerate(TABS, start=1):
            await pilot.press(f"f{i}")
            await pilot.pause()
            assert app.query_one("#tabs").active == tab.name
            assert app.focused is app.query_one(tab.focus), tab.name
        await pilot.press("f2", "a")  # a decision: every other tab that follows them is stale
        followers = {tab.name for tab in TABS if tab.follows_decisions}
        assert app.stale == followers - {"duplicates"} and "splits" not in followers
        await pilot.press("f3")
        await pilot.pause()
        assert "balance" not in app.stale


async def test_the_footer_always_shows_help_write_and_quit_and_never_cuts_a_key(tmp_path):
    # At 80x24 the Duplicates footer once showed only a x u n A, and Leakage's ended
    # "m Move group to trai".
    from sfttui.tui.tabs import TABS

    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        footer = app.query_one(KeysFooter)
        for i, tab in enumerate(TABS, start=1):
            await pilot.press(f"f{i}")
            await pilot.pause()
            line = footer.render().plain
            assert line.rstrip().endswith("? Keys  w Write  q Quit") or tab.name == "splits", (tab.name, line)
            assert " ? Keys " in line and " q Quit " in line and " w Write" in line
            # Every key shown is shown whole: its description as the binding has it.
            shown = {key: description for key, _, description, _ in footer.shown_keys()}
            for start, end, key, _ in footer.spans:
                assert line[start:end].strip().endswith(shown[key]), (tab.name, line[start:end])
        await pilot.press("f2")
        await pilot.pause()
        assert "n Next undecided" in footer.render().plain


async def test_every_tab_title_fits_at_80_columns_and_full_titles_come_back_when_wider(tmp_path):
    # At 80 columns the tab bar once ended "F6 Coverage  F7" on the Overview.
    from textual.widgets import Tabs

    from sfttui.tui.tabs import TABS

    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bar = app.query_one(Tabs)

        def titles() -> list[str]:
            return [str(tab.label) for tab in bar.query("ContentTab")]

        def fits() -> bool:
            return all(tab.region.right <= app.size.width for tab in bar.query("ContentTab"))

        assert titles()[1] == "F2 Dupes" and titles()[6] == "F7 Quality"
        assert fits() and bar.scroll_x == 0
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert titles() == [tab.label(i) for i, tab in enumerate(TABS, start=1)]
        assert titles()[1] == "F2 Duplicates" and fits()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert titles()[1] == "F2 Dupes" and fits()


async def test_the_detail_pane_scrolls_with_j_k_and_escape_returns_to_the_list(tmp_path):
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f2", "enter")
        detail, clusters = app.query_one("#dup-detail", Rendered), app.query_one("#clusters", RowList)
        assert app.focused is detail and detail.max_scroll_y > 3
        await pilot.press("j", "j", "j")
        assert detail.scroll_y == 3 and clusters.cursor_row == 0  # the pane moved, not the list
        await pilot.press("k")
        assert detail.scroll_y == 2
        await pilot.press("x")  # the tab's keys still work from the pane
        assert _journal(app)[-1]["action"] == "keep_all"
        await pilot.press("escape")
        assert app.focused is clusters
        await pilot.press("j")
        assert clusters.cursor_row == 2  # x moved on to the next cluster, j to the one after


async def test_the_cursor_is_saved_after_accept_all_and_undo(tmp_path):
    # A dropped SSH session never runs a clean quit: the place is saved with each action.
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f2", "j", "j", "A", "enter")
        await settle(pilot)
        tab = app.query_one(DuplicatesTab)
        assert app.session.load_position() == {"tab": "duplicates", "cluster": tab.current_cluster()}
        await pilot.press("end", "u")  # back to the cluster of the last accepted one
        await settle(pilot)
        undone = tab.current_cluster()
        assert app.session.load_position() == {"tab": "duplicates", "cluster": undone}
        assert app.session.cluster_state(undone) is None


async def test_kept_splits_say_what_they_are_and_r_offers_new_ones(tmp_path, write_jsonl):
    # Train and test only, 70/30: not "ratios 80/10/10", an empty validation.jsonl is
    # said out loud, and r (which moved nothing) offers a real re-split.
    rows = [
        {"text": f"question {i} about topic {i % 13} and thing {i % 7}", "label": "ab"[i % 2]}
        for i in range(100)
    ]
    for i, row in enumerate(rows):
        row["split"] = "train" if i < 70 else "test"
    data = write_jsonl("d.jsonl", rows)
    app = make_app([data], tmp_path / "state", group="")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        header = str(app.query_one("#splits-settings").render())
        assert (
            "kept from the input (train 70% · validation 0% · test 30%)" in header
            and "80/10/10" not in header
        )
        notes = str(app.query_one("#splits-notes").render())
        assert (
            "validation has no rows (the input has no rows in it): validation.jsonl is written empty" in notes
        )
        assert "r makes new splits instead" in notes
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert app.plan.split_plan.source == "new" and app.plan.counts()["validation"] > 0
        assert "new · ratios 80%/10%/10% · seed 1234" in str(app.query_one("#splits-settings").render())


async def test_every_action_is_in_the_command_palette(tmp_path):
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in (
            "Write splits",
            "Undo",
            "Keys",
            "Go to Coverage",
            "Filter clusters",
            "Re-split",
            "Browse rows",
        ):
            assert title in titles
        assert "Raise the near-duplicate threshold" in titles and "Accept all exact duplicates" in titles
        # Typed into the palette as a person would: the threshold moves, the write dialog opens.
        await pilot.press("ctrl+p", *"raise the near", "enter")
        await settle(pilot)
        assert abs(app.session.threshold - 0.82) < 1e-9
        assert app.query_one("#tabs").active == "duplicates"
        await pilot.press("ctrl+p", *"write splits", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)


async def test_the_splits_table_shows_every_label(tmp_path, write_jsonl):
    # Only 6 label columns were shown, even at 200 columns: large classes were hidden.
    labels = [f"intent_{k:02d}" for k in range(15)]
    rows = [
        {"text": f"request {i} about item {i % 17} in area {i % 11}", "label": labels[i % 15]}
        for i in range(600)
    ]
    app = make_app([write_jsonl("d.jsonl", rows)], tmp_path / "state", group="")
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        table = app.query_one("#split-table")
        assert [str(c.label) for c in table.columns.values()][4:] == labels
        assert (
            sum(int(str(table.get_cell("train", f"l:{lab}")).replace(",", "")) for lab in labels)
            == app.plan.counts()["train"]
        )


async def test_members_show_where_they_are_whole_and_a_shared_system_prompt_once(tmp_path, write_jsonl):
    import re

    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await redrawn(pilot)
        lines = app.query_one("#dup-detail", Rendered).text.splitlines()
        titles = [line for line in lines if re.match(r"\[\d\] ", line)]
        rows = app.session.cluster(app.query_one(DuplicatesTab).current_cluster())["rows"]
        expected = app.session.dataset.columns_of(rows[:9], "line")["line"].to_list()
        # Each title on one line, its file:line whole at the start, even at 80 columns.
        assert [re.match(r"\[\d\] demo\.jsonl:(\d+) ", t).group(1) for t in titles] == [
            str(n) for n in expected
        ]
        assert sum(line.startswith("system prompt (every") for line in lines) == 1  # cut to fit
        assert not any(line.startswith("system:") for line in lines)
    rows = [{"text": "please reset my password for the portal account", "label": "a", "split": "train"}]
    rows += [{"text": "please reset my password for the portal account", "label": "a", "split": "test"}]
    rows += [
        {"text": t, "label": "b", "split": "train"}
        for t in ("where is my parcel", "cancel it", "hello there")
    ]
    app = make_app([write_jsonl("s.jsonl", rows)], tmp_path / "state2", group="")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await redrawn(pilot)
        text = app.query_one("#dup-detail", Rendered).text
        assert "s.jsonl:1  ★ keeper  a  train" in text and "s.jsonl:2  J 1.00  a  test" in text


async def test_overview_lists_every_analysis_with_its_status_and_next_steps(tmp_path, write_jsonl):
    # The Overview left out hard data and production, and "next:" ignored leakage hits.
    rows = [
        {"text": f"how do i reset password number {i} on the router", "label": "ab"[i % 2], "split": "train"}
        for i in range(40)
    ]
    rows += [{"text": "how do i reset password number 3 on the router", "label": "b", "split": "test"}]
    rows += [{"text": "how do i reset the router &amp; the modem", "label": "a", "split": "train"}]
    gold = write_jsonl("gold.jsonl", [{"text": "how do i reset password number 5 on the router"}])
    data = write_jsonl("d.jsonl", rows)
    session = make_app([data], tmp_path / "state", group="").session
    session.settings = replace(session.settings, eval_paths=(str(gold),))
    app = SfttuiApp(session)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        console = Console(width=200, record=True, file=io.StringIO())
        console.print(app.query_one("#overview-summary", Static).content)
        text = " ".join(console.export_text().split())
        for name in (
            "duplicates",
            "conflicts",
            "balance",
            "leakage",
            "hard data",
            "vs production",
            "row quality",
        ):
            assert re.search(rf"(✓|⚠|–) {name} ", text), name
        assert "eval: gold.jsonl" in text
        assert re.search(r"⚠ leakage \d+ hits \(between splits and against eval sets\)", text)
        assert "F5 Leakage: drop or move the leaking rows" in text
        assert "⚠ row quality 1 artifact · median" in text  # it read "1 artifacts"


async def test_overview_lists_eval_and_reference_files_with_what_was_not_read(tmp_path):
    # The Overview listed an eval file's records set aside ("1") and not the 25 lines its
    # reading stopped before, and listed no reference sample at all.
    gold = stopped_csv(tmp_path / "gold.csv", ["an eval question", "another eval question"], 25)
    ref = stopped_csv(tmp_path / "ref.csv", ["how do I change my billing address"], 40)
    session = make_app([demo_copy(tmp_path)], tmp_path / "state").session
    coverage = replace(session.settings.coverage, reference_paths=(str(ref),))
    session.settings = replace(session.settings, eval_paths=(str(gold),), coverage=coverage)
    app = SfttuiApp(session)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(app.query_one("#overview-summary", Static).content)
        text = console.export_text()
        assert re.search(r"eval: gold\.csv +\S+ +2 +1 \+ 25 lines unread", text)
        assert re.search(r"reference: ref\.csv +\S+ +1 +1 \+ 40 lines unread", text)
        assert re.search(r"demo\.jsonl +chat +2,671 +8 +label", text)  # the training file's row as before
        # One warning is "1 warning" (it read "1 warnings").
        assert re.search(r"⚠ vs production +1 warning \(against the production sample\)", text)


async def test_threshold_pairs_show_until_the_cursor_moves_or_a_decision(tmp_path):
    # After +/- the detail kept showing "pairs nearest J", and decisions were made
    # without seeing the cluster.
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f2", "minus")
        await settle(pilot)
        detail = app.query_one("#dup-detail", Rendered)
        assert "pairs nearest J = 0.78" in detail.text
        await pilot.press("j")
        await redrawn(pilot)
        assert "pairs nearest" not in detail.text  # moved: the cluster alone
        await pilot.press("plus")
        await settle(pilot)
        assert "pairs nearest J = 0.80" in detail.text
        await pilot.press("x")
        await redrawn(pilot)
        assert "pairs nearest" not in detail.text  # decided: on to the next cluster, alone
        await pilot.press("e")
        await redrawn(pilot)
        assert "pairs nearest" in detail.text  # e keeps them on
        await pilot.press("j")
        await redrawn(pilot)
        assert "pairs nearest" in detail.text


async def test_toasts_replace_each_other_and_stay_off_the_list(tmp_path):
    # Five +/- presses stacked five toasts over the cluster list and its detail.
    from textual.widgets._toast import Toast

    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        for key in ("minus", "minus", "plus", "minus", "plus"):
            await pilot.press(key)
            await settle(pilot)
        await redrawn(pilot)
        toasts = list(app.screen.query(Toast))
        assert [n.message for n in app._notifications] == ["Near threshold J ≥ 0.78: 348 clusters."]
        assert len(toasts) == 1
        clusters = app.query_one("#clusters").region
        assert not toasts[0].region.overlaps(clusters)
        assert toasts[0].region.y >= app.query_one("#statusbar").region.y - 1
        # An error stays while later messages replace each other.
        app.notify("could not write", severity="error")
        app.notify("first")
        app.notify("second")
        await redrawn(pilot)
        assert [n.message for n in app._notifications] == ["could not write", "second"]


async def test_the_seed_chosen_with_r_is_a_decision_the_next_start_and_split_use(tmp_path):
    # The seed chosen with r was lost on restart, and `sfttui split` made other splits.
    from click.testing import CliRunner

    from sfttui.cli import main

    data = demo_copy(tmp_path)
    app = make_app([data], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f4", "r", "r")
        await settle(pilot)
        assert "seed 1236" in str(app.query_one("#splits-settings").render())
        assert [d.action for d in app.session.journal.decisions][-2:] == ["split", "split"]
    again = make_app([data], tmp_path / "state")
    async with again.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert "seed 1236" in str(again.query_one("#splits-settings").render())
        assert (
            again.plan.split_plan.summary["seed"] == 1236 if "seed" in again.plan.split_plan.summary else True
        )

    def split(*extra: str) -> dict:
        out = tmp_path / f"out{len(extra)}"
        args = [
            "split",
            str(data),
            "--by",
            "user_id",
            "--state-dir",
            str(tmp_path / "state"),
            "--out",
            str(out),
        ]
        result = CliRunner().invoke(main, [*args, *extra])
        assert result.exit_code == 0, result.output
        return json.loads((out / "manifest.json").read_text()) | {"output": result.output}

    chosen = split()
    assert chosen["seed"] == 1236 and "seed 1236: as chosen in the app" in chosen["output"]
    assert split("--seed", "7")["seed"] == 7  # the command line's own seed holds


async def test_a_keeper_beyond_the_ninth_member_is_chosen_with_the_member_selection(tmp_path, write_jsonl):
    # Keys 1-9 could not choose member 10 or later of a larger cluster.
    rows = [
        {"id": f"copy{i:02}", "text": "how do I reset my password on the app", "label": "account"}
        for i in range(12)
    ]
    rows += [
        {"id": f"other{i}", "text": f"unrelated question number {i} about shipping", "label": "shipping"}
        for i in range(5)
    ]
    app = make_app([write_jsonl("d.jsonl", rows)], tmp_path / "state", group="")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        tab = app.query_one(DuplicatesTab)
        cluster = tab.current_cluster()
        members = app.session.cluster(cluster)["members"]
        assert len(members) == 12
        await pilot.press(*["greater_than_sign"] * 13, "less_than_sign")  # stops at the last, then back one
        await redrawn(pilot)
        detail = app.query_one("#dup-detail", Rendered).text
        assert "▶ [11]" in detail and "[2]" not in detail and "members 4-12 of 12" in detail
        await pilot.press("K")
        await redrawn(pilot)
        assert app.session.cluster_state(cluster) == f"keep {members[10]}"
        assert app.session.journal.decisions[-1].payload["keeper"] == members[10]


def _drawn_segments(app) -> list:
    """The screen as it goes to the terminal (line filters applied), as Rich segments."""
    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens, simplify=True)
    )
    return list(console._record_buffer)


async def test_with_no_color_every_tab_reads_without_colour(tmp_path, monkeypatch):
    # With NO_COLOR=1 "⚠ conflict" was a dark grey on a dark grey (1.33:1) and "0✗" 1.5:1.
    from textual.color import Color

    from sfttui.tui.monochrome import contrast

    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key in ("f1", "f2", "f3", "f4", "f5", "f6"):
            await pilot.press(key)
            await settle(pilot)
            low, texts = [], 0
            for seg in _drawn_segments(app):
                style = seg.style
                if not seg.text.strip() or style is None or style.color is None or style.bgcolor is None:
                    continue
                fore, back = Color.from_rich_color(style.color), Color.from_rich_color(style.bgcolor)
                texts += 1
                if contrast(fore, back) < 4.5:
                    low.append((seg.text, round(contrast(fore, back), 2)))
            assert texts > 20 and not low, (key, low[:6])


async def test_one_u_undoes_a_whole_accept_all(tmp_path):
    # Undoing an A of 100 clusters took 100 presses of u.
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f2", "a")  # one decision of its own first
        await settle(pilot)
        before = app.session.undecided_exact()
        await pilot.press("A", "enter")
        await settle(pilot)
        assert app.session.undecided_exact() == 0 and before > 50
        await pilot.press("u")
        await settle(pilot)
        assert app.session.undecided_exact() == before
        last = app.session.journal.decisions[-1]
        assert last.action == "undo" and len(last.payload["targets"]) == before
        assert [n.message for n in app._notifications][-1] == f"Undid {before} decisions made at once (keep)."
        await pilot.press("u")  # then the single decision before it, alone
        await settle(pilot)
        assert [d.action for d in app.session.journal.effective()] == []


async def test_every_leak_of_a_kind_is_dropped_with_one_key_and_one_undo(tmp_path, write_jsonl):
    # 310 leakage hits needed 310 presses of d, and as many of u to take them back.
    rows = []
    for i in range(30):
        rows.append(
            {
                "id": f"tr{i}",
                "text": f"train question {i} on topic {i * 7} and item {i * 13}",
                "split": "train",
            }
        )
    for i in range(6):  # exact copies of training rows in test
        rows.append(
            {
                "id": f"te{i}",
                "text": f"train question {i} on topic {i * 7} and item {i * 13}",
                "split": "test",
            }
        )
    rows.append({"id": "te-own", "text": "a test question of its own about something else", "split": "test"})
    app = make_app([write_jsonl("d.jsonl", rows)], tmp_path / "state", group="")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        await pilot.press("D")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")
        await settle(pilot)
        last = app.session.journal.decisions[-1]
        assert last.action == "drop_rows" and sorted(last.payload["keys"]) == [f"tr{i}" for i in range(6)]
        assert len(app.session.journal.decisions) == 1
        assert set(app.session.resolution().dropped) == {f"tr{i}" for i in range(6)}
        await pilot.press("u")
        await settle(pilot)
        assert app.session.resolution().dropped == {}


async def test_conflicts_of_the_list_resolve_by_majority_label_with_one_key(tmp_path, write_jsonl):
    # 127 conflict clusters needed 127 decisions one at a time.
    groups = {
        "a": ("please refund my last order today", ["billing", "billing", "returns"]),
        "b": ("the app crashes when I open settings", ["technical", "account"]),
        "c": ("where is my parcel it is late", ["returns", "shipping", "shipping"]),
    }
    rows = [
        {"id": f"{g}{i}", "text": text, "label": label}
        for g, (text, labels) in groups.items()
        for i, label in enumerate(labels)
    ]
    rows.append({"id": "z", "text": "an unrelated question about something else", "label": "other"})
    app = make_app([write_jsonl("d.jsonl", rows)], tmp_path / "state", group="")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f2", "M")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")
        await settle(pilot)
        keeps = {d.payload["keeper"]: sorted(d.payload["drop"]) for d in app.session.journal.effective()}
        assert keeps == {"a0": ["a1", "a2"], "c1": ["c0", "c2"]}  # b ties: left for the person
        assert [n.message for n in app._notifications][-1].startswith("Resolved 2 conflicts")
        await pilot.press("u")
        await settle(pilot)
        assert app.session.journal.effective() == []
        # The notice said "(keep, from A)" for a batch made by M.
        assert [n.message for n in app._notifications][-1] == "Undid 2 decisions made at once (keep)."


async def test_the_row_browser_searches_filters_and_opens_rows(tmp_path):
    # There was no way to look at what a class contains, or at the lines not read.
    from sfttui.tui.browse import RowsScreen

    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RowsScreen) and len(screen.matches) == app.session.dataset.rows.height
        rows = app.session.dataset.rows

        async def search(query: str) -> None:
            await pilot.press("slash")
            await pilot.press("end", "ctrl+u", *query, "enter")  # ctrl+u: clear what is left of the cursor
            await settle(pilot)

        await search("refund label:billing")
        expected = rows.filter(
            (pl.col("label") == "billing")
            & pl.col("text").str.to_lowercase().str.contains("refund", literal=True)
        )["row"].to_list()
        assert screen.matches.rows.to_list() == expected and len(expected) > 5
        await search("finding:conflict file:demo")
        dup = app.session.duplicates
        conflicted = dup.membership.filter(
            pl.col("cluster").is_in(dup.clusters.filter("conflict")["id"].implode())
        )
        got = screen.matches.rows.to_list()
        assert got == sorted(set(conflicted["row"].to_list())) and len(got) > 40
        # Enter opens the row in full, escape goes back to the list, escape again closes.
        await pilot.press("enter")
        detail = app.screen.query_one("#rows-detail", Rendered)
        assert (
            app.screen.focused is detail and f"{rows['file'][got[0]]}:{rows['line'][got[0]]}" in detail.text
        )
        await search("finding:bad")
        assert len(screen.matches) == app.session.dataset.bad_lines.height == 8
        assert "not read as a row" in app.screen.query_one("#rows-detail", Rendered).text
        await pilot.press("escape")
        assert isinstance(app.screen, RowsScreen)  # the list had focus: escape closes
        await pilot.press("escape")
        assert not isinstance(app.screen, RowsScreen)


async def test_a_slow_older_row_search_does_not_replace_a_newer_one(tmp_path, monkeypatch):
    from sfttui.tui import browse

    find = browse.matching_rows

    def slow_for_refund(session, query):
        if query.words == "refund":
            time.sleep(0.6)  # ends after the search asked for next
        return find(session, query)

    monkeypatch.setattr(browse, "matching_rows", slow_for_refund)
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        await pilot.press("slash", "end", "ctrl+u", *"refund", "enter")
        await pilot.press("slash", "end", "ctrl+u", *"label:billing", "enter")
        await settle(pilot)
        await pilot.pause(0.8)
        rows = app.session.dataset.rows
        billing = rows.filter(pl.col("label") == "billing")["row"].to_list()
        assert screen.matches.rows.to_list() == billing and len(billing) > 100
        summary = str(screen.query_one("#rows-summary").render())
        assert f"{len(billing):,} of {rows.height:,} rows" in summary and "billing" in summary


async def test_counts_and_the_threshold_bounds_read_right(tmp_path):
    # "dropped at export: 420 8 bad line, 307 class cap", and "between 0.65 and 1.00"
    # while the steps from 0.80 stop at 0.66.
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        notes = str(app.query_one("#splits-notes").render())
        dropped = app.plan.counts()
        assert f"dropped at export: {dropped['dropped']:,} (" in notes and "8 bad line" in notes
        await pilot.press("f2")
        for _ in range(8):
            await pilot.press("minus")
            await settle(pilot)
        assert app.session.threshold == pytest.approx(0.66)
        assert [n.message for n in app._notifications][-1] == (
            "The threshold moves between 0.66 and 1.00 here, in steps of 0.02."
        )


async def test_help_lists_each_key_once_and_only_this_tabs(tmp_path):
    # ? listed f1..f6 and F1-F6, 1..9 and 1-9, and 1-9 on every tab; then F1-F6 of seven tabs.
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f2", "question_mark")
        await redrawn(pilot)
        keys = [key for key, _, _ in app.screen.rows]
        assert keys.count("1-9") == 1 and keys.count("F1-F7") == 1  # seven tabs, F7 the last
        assert not {"1", "9", "f1", "f6"} & set(keys)
        await pilot.press("escape", "f3", "question_mark")
        await redrawn(pilot)
        assert {where for _, _, where in app.screen.rows} <= {"everywhere", "Balance", "table"}


async def test_n_after_a_decision_does_not_skip_the_cluster_it_landed_on(tmp_path):
    # a moves on to the next cluster; n then skipped it, though it was undecided and unseen.
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f2", "a")
        await redrawn(pilot)
        clusters = app.query_one("#clusters", RowList)
        tab = app.query_one(DuplicatesTab)
        assert clusters.cursor_row == 1 and app.session.cluster_state(tab.current_cluster()) is None
        await pilot.press("n")
        assert clusters.cursor_row == 1
        assert [n.message for n in app._notifications][-1].startswith("This cluster is still undecided")
        await pilot.press("n")
        assert clusters.cursor_row == 2  # n again: on to the next undecided
        await pilot.press("j", "k", "n")  # moved here by hand: n is the next one after it
        assert clusters.cursor_row == 3


async def test_quality_tab_lists_each_problem_and_drops_rows_and_template_copies(tmp_path, write_jsonl):
    hostile = "[bold red]Hi[/] {customer_name}\x1b[2J <br> done"
    rows = [
        {
            "id": f"r{i}",
            "messages": [{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": c}],
        }
        for i, c in enumerate(["Your case was forwarded."] * 5 + ["a real answer", hostile])
    ]
    rows.append({"id": "r7", "messages": [{"role": "[link=x]usr[/link]", "content": "who am i"}]})
    rows.append({"id": "r8", "messages": [{"role": "user", "content": "anyone?"}]})
    app = make_app([write_jsonl("q.jsonl", rows)], tmp_path / "state", group="")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        listing, detail = app.query_one("#quality-list", RowList), app.query_one("#quality-detail", Rendered)
        # Structure: the unknown role (which also leaves the row ending on no reply) and the
        # question with no answer, in row order; the role shows as typed, not as a link.
        assert [str(listing.cells(i)[1]).strip() for i in range(listing.row_count)] == ["r7", "r8"]
        assert str(listing.cells(0)[0]) == "unknown role"
        assert "[link=x]usr[/link]: who am i" in _shown(detail)
        await pilot.press("a")
        await settle(pilot)
        kinds = [str(listing.cells(i)[0]) for i in range(listing.row_count)]
        assert kinds == ["placeholder", "html"] and "{customer_name}" in str(listing.cells(0)[1])
        # The hostile reply is shown as typed: markup as text, the escape as a visible mark.
        shown = _shown(detail)
        assert "[bold red]Hi[/] {customer_name}" in shown and "\x1b" not in shown
        await pilot.press("d")
        assert _journal(app)[-1]["keys"] == ["r6"]
        assert _journal(app)[-1]["reason"] == "unfilled placeholders: {customer_name}"
        await pilot.press("t")
        await settle(pilot)
        assert listing.row_count == 1 and str(listing.cells(0)[0]).strip() == "5"
        assert "Given to 5 rows" in _shown(detail)
        await pilot.press("d")
        await settle(pilot)
        assert _journal(app)[-1]["keys"] == ["r1", "r2", "r3", "r4"]
        assert set(app.session.resolution().dropped) == {"r1", "r2", "r3", "r4", "r6"}
        assert "✗r1" in _shown(detail) and "✗r0" not in _shown(detail)


async def test_quality_on_plain_texts_says_not_checked_in_the_detail_too(tmp_path, write_jsonl):
    # The header said "not checked: no conversations" and the detail "Every conversation
    # is well formed." on TREC.
    rows = [{"id": f"r{i}", "text": f"question number {i} here", "label": "ab"[i % 2]} for i in range(12)]
    app = make_app([write_jsonl("t.jsonl", rows)], tmp_path / "state", group="")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        detail = app.query_one("#quality-detail", Rendered)
        assert _shown(detail).strip() == "Not checked: no conversations: every row is a single text."
        await pilot.press("t")
        await settle(pilot)
        assert _shown(detail).strip() == "Not checked: no replies: every row is a single text."


async def test_quality_lengths_view_lists_rows_over_the_limit_with_the_histogram(tmp_path, write_jsonl):
    rows = [
        {
            "id": f"r{i}",
            "messages": [{"role": "user", "content": "word " * n}, {"role": "assistant", "content": "ok"}],
        }
        for i, n in enumerate([5, 100, 300, 40])
    ]
    session = make_app([write_jsonl("l.jsonl", rows)], tmp_path / "state", group="").session
    session.settings = replace(session.settings, lengths=LengthSettings(max_tokens=100))
    app = SfttuiApp(session)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f7", "l")
        await settle(pilot)
        listing, detail = app.query_one("#quality-list", RowList), app.query_one("#quality-detail", Rendered)
        # Approximate counts (characters / 4): "word " * 300 + "\n" + "ok" is 1,503 characters.
        assert [str(listing.cells(i)[3]).strip() for i in range(listing.row_count)] == ["r2", "r1"]
        assert str(listing.cells(0)[0]).strip() == "376"
        shown = _shown(detail)
        assert "376 tokens (approx.): prompt 375, response 1" in shown and "◀" in shown
        await pilot.press("d")
        assert _journal(app)[-1]["keys"] == ["r2"]
        assert _journal(app)[-1]["reason"] == "over --max-tokens 100: 376 tokens (approx.)"


async def test_coverage_drift_view_shows_each_split_against_train(tmp_path, write_jsonl):
    rows = [
        {"text": f"Write a {w} that sorts the list of {w}s.", "label": "task", "split": "train"}
        for w in ["function", "script", "program", "query", "table", "loop", "class", "report"] * 10
    ]
    rows += [
        {"text": f"why does my {w} crash when i run it?", "label": "task", "split": "test"}
        for w in ["app", "hub", "phone", "tv"] * 10
    ]
    app = make_app([write_jsonl("s.jsonl", rows)], tmp_path / "state", group="")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        console = Console(width=200, record=True, file=io.StringIO())
        console.print(app.query_one("#overview-summary", Static).content)
        assert "⚠ split drift" in console.export_text()
        await pilot.press("f6", "v")
        await settle(pilot)
        listing, detail = app.query_one("#cov-list", RowList), app.query_one("#cov-detail", Rendered)
        assert listing.row_count == 1 and str(listing.cells(0)[0]) == "test"
        assert float(str(listing.cells(0)[1])) > 0.9  # the AUC: told apart
        shown = _shown(detail)
        assert "test against train (40 rows)" in shown and "test prompts least like train" in shown
        assert "⚠ a classifier tells the test split's prompts from train's apart" in shown


async def test_quality_outliers_view_lists_rows_unlike_the_rest_and_drops_one(tmp_path, write_jsonl):
    rows = [
        {
            "id": f"r{i}",
            "text": f"my order number {i} arrived late and the box was damaged in transit",
            "label": "x",
        }
        for i in range(80)
    ]
    rows.append(
        {"id": "ru", "text": "Мой заказ пришёл поздно и коробка была повреждена при доставке", "label": "x"}
    )
    app = make_app([write_jsonl("o.jsonl", rows)], tmp_path / "state", group="")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f7", "o")
        await settle(pilot)
        listing, detail = app.query_one("#quality-list", RowList), app.query_one("#quality-detail", Rendered)
        assert listing.row_count == 1 and str(listing.cells(0)[1]) == "script"
        assert "Cyrillic in a Latin dataset" in _shown(detail)
        await pilot.press("d")
        assert _journal(app)[-1]["keys"] == ["ru"]
        assert _journal(app)[-1]["reason"] == "outlier (script): Cyrillic in a Latin dataset"


async def test_keys_pressed_before_the_analysis_is_done_say_so_and_never_crash(tmp_path, monkeypatch):
    # F2 then a (x, A, M, h, +, e, 1; F4 r) while the tab still said "Loading...": the
    # app died with NotAnalysed. w and b already said "Still working".
    import threading

    from sfttui.engine.session import Session

    release = threading.Event()
    analyse = Session.analyse

    def held(self: Session, *args: object, **kwargs: object) -> None:
        release.wait(30)
        analyse(self, *args, **kwargs)

    monkeypatch.setattr(Session, "analyse", held)
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        said: list[str] = []
        app.notify = lambda message, *a, **k: said.append(str(message))  # type: ignore[method-assign]
        for key in ("f2", "a", "x", "A", "M", "h", "plus", "e", "1", "f4", "r", "f3", "c", "d"):
            await pilot.press(key)
        await pilot.pause()
        assert app.is_running and not app.session.ready
        assert said and set(said) == {"Still working: the data is not analysed yet."}
        # F3's c and d said nothing at all while the table said "Loading…".
        assert len(said) == 11  # every key but the three F-keys
        release.set()
        await settle(pilot)
        await pilot.press("f2", "a")
        await settle(pilot)
        assert app.session.decided_clusters() == 1


async def test_a_cap_out_of_range_is_refused_and_never_ends_the_app(tmp_path):
    # 99999999999999999999999 ended the app (orjson: integer exceeds 64-bit range); -5
    # was taken ("capped at -5 rows", 5 rows dropped) and dropped on reopening.
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        said: list[str] = []
        notify = app.notify
        app.notify = lambda message, *a, **k: (said.append(str(message)), notify(message, *a, **k))  # type: ignore[method-assign]
        for typed in ("99999999999999999999999", "-5"):
            await pilot.press("f3", "c", *typed, "enter")
            await settle(pilot)
        assert app.is_running and [e for e in _journal(app) if e["action"] == "cap"] == []
        assert said == [
            "A cap on 'billing' is a number of rows, 0 or more: not 99,999,999,999,999,999,999,999.",
            "A cap on 'billing' is a number of rows, 0 or more: not -5.",
        ]
        await pilot.press("c", *"0", "enter")  # a cap of 0 leaves the class out, deliberately
        await settle(pilot)
        assert [e["max_rows"] for e in _journal(app) if e["action"] == "cap"] == [0]


async def test_a_long_label_is_cut_on_balance_and_the_counts_stay_on_screen(tmp_path, write_jsonl):
    # Six rows labelled "L" * 120 pushed rows, after, share and decision off a 100-column
    # screen; F2 and F4 already cut labels with "…".
    rows = [{"text": f"question {i} about parcels and refunds", "label": "ab"[i % 2]} for i in range(60)]
    rows += [{"text": f"question {i} about something else", "label": "L" * 120} for i in range(6)]
    app = make_app([write_jsonl("d.jsonl", rows)], tmp_path / "state", group="")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        table = app.query_one("#labels")
        assert table.columns["label"].width == 32
        assert table.virtual_size.width <= 100
        screen = str(pilot.app.export_screenshot())
        assert "L" * 31 + "…" in screen and "decision" in screen


async def test_hostile_labels_in_the_hard_negative_detail_show_as_glyphs(tmp_path):
    # The header of a hard-negative pair and the scorecard's label pairs were made of the
    # raw labels: Rich dropped a label's BEL, and a label's newline broke the header in two.
    path = demo_copy(tmp_path)
    text = path.read_text().replace('"label": "billing"', '"label": "bill\\u0007ing"')
    path.write_text(text.replace('"label": "shipping"', '"label": "ship\\nping"'))
    app = make_app([path], tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        _, _, detail, _ = await _coverage_tab(pilot)
        assert "pairs per label pair: bill␇ing≠returns 5 · " in _shown(detail)
        await pilot.press("h")
        assert "hard negative · J 0.72 · bill␇ing ≠ ship␤ping (1 pair between these labels)" in _shown(detail)

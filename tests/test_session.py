"""The session: results that are all there once analysed, and never half there before."""

from __future__ import annotations

import json

import polars as pl
import pytest

from sfttui.engine.session import NotAnalysed, Session
from sfttui.engine.settings import LeakageSettings, ScanSettings

from .conftest import SHARED_DATA


def test_results_are_all_set_by_analyse_and_none_is_half_there_before(write_jsonl, tmp_path):
    data = write_jsonl(
        "d.jsonl", [{"text": f"row number {i} of the set", "label": "ab"[i % 2]} for i in range(8)]
    )
    session = Session(paths=[str(data)], state_dir=str(tmp_path / "state"))
    assert not session.ready and session.threshold == 0.8
    for name in ("dataset", "duplicates", "balance", "leakage", "coverage", "representativeness", "journal"):
        with pytest.raises(NotAnalysed):
            getattr(session, name)
    session.analyse()
    assert (
        session.ready
        and session.dataset.rows.height == 8
        and session.balance.overall.counts == {"a": 4, "b": 4}
    )
    before = session.workspace
    session.set_threshold(0.7)
    # A new threshold is a new workspace with new clusters; everything else is the same object.
    assert session.workspace is not before and session.duplicates.threshold == 0.7
    assert session.dataset is before.scan.dataset and session.journal is before.journal


def test_the_manifest_names_the_threshold_the_clusters_are_at(tmp_path):
    """Moved in the app (0.80 -> 0.74), the manifest said the scan's 0.8 all the same."""
    from tests.app_factory import demo_copy

    session = Session(paths=[str(demo_copy(tmp_path))], state_dir=str(tmp_path / "state"))
    session.analyse()
    session.set_threshold(0.74)
    session.write(session.plan(), tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["settings"]["near"]["threshold"] == 0.74
    assert session.settings.near.threshold == 0.8  # the scan's own settings are left as they were


def test_a_new_threshold_finds_the_leaks_between_splits_again(write_jsonl, tmp_path):
    """A row at word J 0.75 to a train row leaks at 0.74, not at 0.80. After the threshold
    moved, the hits and the groups a move takes were still the scan's: one leak per
    family, and a move by a group id of the old clusters."""
    from tests.app_factory import families_across_splits

    records = families_across_splits()
    session = Session(paths=[str(write_jsonl("s.jsonl", records))], state_dir=str(tmp_path / "state"))
    session.analyse()
    assert session.leakage.between_splits["split_b"].to_list() == ["test"] * 4
    session.set_threshold(0.74)
    hits = session.leakage.between_splits
    assert sorted(hits["split_b"].to_list()) == ["test"] * 4 + ["validation"] * 4
    for hit in hits.iter_rows(named=True):
        keys = session.group_keys(hit["kind"], hit["detail"])
        assert len(keys) == 3 and hit["key_a"] in keys and hit["key_b"] in keys
    session.set_threshold(0.8)
    assert session.leakage.between_splits["split_b"].to_list() == ["test"] * 4


def _from_scratch(session: Session):
    """The resolution worked out again from every decision, as before each one was added."""
    kept = session._resolver, session._resolution
    session._resolver = session._resolution = None
    try:
        return session.resolution()
    finally:
        session._resolver, session._resolution = kept


def test_each_new_decision_is_added_to_the_last_answer_and_gives_what_resolving_all_gives(tmp_path):
    """Decisions of every kind, repeated on one cluster, undone singly and as a batch: after
    each, the answer built decision by decision equals the one from all of them at once."""
    from tests.app_factory import demo_copy

    session = Session(paths=[str(demo_copy(tmp_path))], state_dir=str(tmp_path / "state"))
    session.analyse()
    clusters = session.duplicates.clusters
    ids = clusters["id"].to_list()
    keys = session.dataset.rows["key"].to_list()
    labels = session.dataset.rows["label"].drop_nulls().unique().sort().to_list()
    steps = [
        lambda: session.keep(ids[0]),
        lambda: session.keep_all(ids[1]),
        lambda: session.keep(ids[0], session.cluster(ids[0])["members"][-1]),  # replaces the first
        lambda: session.drop_rows(keys[5:8], reason="test"),
        lambda: session.undo(),
        lambda: session.accept_all_exact(),
        lambda: session.keep(ids[2]),
        lambda: session.undo(),
        lambda: session.undo(),  # the whole accept-all
        lambda: session.cap(labels[0], 10),
        lambda: session.keep(ids[3]),
        lambda: (session.undo(), session.keep(ids[4])),  # as long as before, not the same
        lambda: session.deliberate(labels[1]),
    ]
    seen_dropped = []
    for step in steps:
        before = session.resolution()
        frozen = dict(before.dropped)
        step()
        now = session.resolution()
        assert now == _from_scratch(session)
        assert before.dropped == frozen  # an answer handed out does not change later
        seen_dropped.append(len(now.dropped))
    # The steps did change the answer: accept-all dropped many rows, its undo gave them back.
    assert seen_dropped[5] > seen_dropped[4] + 20 and seen_dropped[8] == seen_dropped[4]
    assert session.resolution().caps == {labels[0]: 10}


def _chain(write_jsonl, label: str = "a"):
    """Lines 1-2 the same text Z; line 3 (A) at about word J 0.79 to Z; line 4 (B) one word
    from A; six unrelated lines (`label` of line 3 given or "a"). Clusters at 0.80: {1, 2}
    and {3, 4}; at 0.75: {1, 2, 3}; at 0.70: all four."""
    import random

    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(2000)]
    z = [rng.choice(vocab) for _ in range(60)]

    def changed(words: list[str], n: int, seed: int) -> list[str]:
        r, out = random.Random(seed), list(words)
        for i in r.sample(range(len(out)), n):
            out[i] = f"x{seed}_{i}"
        return out

    a = changed(z, 2, 1)
    b = changed(a, 1, 2)
    rows = [{"text": " ".join(t), "label": "a"} for t in (z, z, a, b)]
    rows[2]["label"] = label
    rows += [{"text": " ".join(rng.choice(vocab) for _ in range(40)), "label": "b"} for _ in range(6)]
    return write_jsonl("d.jsonl", rows)


def _cluster_kept_by(session: Session, keeper: str) -> str:
    clusters = session.duplicates.clusters
    return clusters.filter(clusters["keeper"] == keeper)["id"][0]


def test_a_decision_on_a_row_edited_since_stays_stale_after_a_newer_one(write_jsonl, tmp_path):
    """Drop line 5, edit it, move it: the drop saw the old line and must stay unapplied.
    Both decisions' hashes were merged per key, the newer won, and the old drop came back
    to life on the new line (and out of the stale list)."""
    rows = [{"text": f"row {i} about topic {i * 7} with some words", "label": "ab"[i % 2]} for i in range(8)]
    data = write_jsonl("f.jsonl", rows)
    state = str(tmp_path / "state")
    session = Session(paths=[str(data)], state_dir=state)
    session.analyse()
    session.drop_rows(["f.jsonl:5"], reason="off topic")
    session.journal.close()
    rows[4]["text"] = "a completely rewritten row five, now on topic"
    write_jsonl("f.jsonl", rows)
    for _ in range(2):  # in the session that makes the move, and at the next start
        session = Session(paths=[str(data)], state_dir=state)
        session.analyse()
        if session.journal.decisions[-1].action != "move_rows":
            session.move_rows(["f.jsonl:5"], "test", reason="belongs in test")
        found = session.resolution()
        assert found.dropped == {} and found.moves == {"f.jsonl:5": "test"}
        assert [line[:11] for line in found.stale] == ["decision 1:"]
        session.journal.close()


def test_identical_lines_are_followed_as_as_many_rows_after_an_edit(write_jsonl, tmp_path):
    rows = [{"text": "the very same row", "label": "a"}] * 3
    rows += [{"text": f"row {i} about topic {i * 7} with some words", "label": "ab"[i % 2]} for i in range(5)]
    data = write_jsonl("g.jsonl", rows)
    state = str(tmp_path / "state")
    session = Session(paths=[str(data)], state_dir=state)
    session.analyse()
    session.keep(_cluster_kept_by(session, "g.jsonl:1"))
    session.journal.close()
    write_jsonl("g.jsonl", [{"text": "a new first line", "label": "b"}, *rows])
    session = Session(paths=[str(data)], state_dir=state)
    session.analyse()
    found = session.resolution()
    # The three copies are lines 2-4 now: one kept, two dropped (it went stale before).
    assert found.stale == [] and sorted(found.dropped) == ["g.jsonl:2", "g.jsonl:3"]
    assert all("duplicate of g.jsonl:4" in why for why, _ in found.dropped.values())


def test_deciding_a_cluster_again_leaves_a_row_dropped_outright(write_jsonl, tmp_path):
    session = Session(paths=[str(_chain(write_jsonl))], state_dir=str(tmp_path / "state"))
    session.analyse()
    cluster = _cluster_kept_by(session, "d.jsonl:3")
    session.drop_rows(["d.jsonl:4"], reason="off topic")
    session.keep(cluster)  # drops 4 as a duplicate of 3 too
    session.keep_all(cluster)  # keeps both: 4 is still dropped as off topic (it was kept)
    assert session.resolution().dropped == {"d.jsonl:4": ("off topic (decision 1)", None)}


def test_the_row_a_decision_keeps_is_kept_though_another_cluster_dropped_it(write_jsonl, tmp_path):
    session = Session(paths=[str(_chain(write_jsonl))], state_dir=str(tmp_path / "state"))
    session.analyse()
    session.set_threshold(0.75)
    session.keep(_cluster_kept_by(session, "d.jsonl:1"))  # all four: drops 2, 3 and 4
    session.set_threshold(0.8)
    cluster = _cluster_kept_by(session, "d.jsonl:3")
    session.keep(cluster)  # keep 3, drop 4: line 3 was dropped, every copy of A was lost
    found = session.resolution()
    assert found.cluster_states[cluster] == "keep d.jsonl:3"
    assert sorted(found.dropped) == ["d.jsonl:2", "d.jsonl:4"]


def test_moves_left_out_by_new_splits_are_said(write_jsonl, tmp_path):
    from tests.app_factory import families_across_splits

    data = write_jsonl("s.jsonl", families_across_splits())
    session = Session(paths=[str(data)], state_dir=str(tmp_path / "state"))
    session.analyse()
    session.move_rows(["s.jsonl:2", "s.jsonl:3"], "train", reason="leak")
    assert session.plan().counts()["train"] == 6  # the input's splits, with the moves
    session.choose_split(seed=1234, resplit=True)
    notes = session.plan().notes
    assert "2 rows moved between the input's splits were placed afresh: the splits are new, " in " ".join(
        notes
    )


def test_clusters_decided_apart_and_merged_keep_both_decisions_drops(write_jsonl, tmp_path):
    """At 0.80 keep 1 of {1, 2} and 3 of {3, 4}; at 0.70 they are one cluster. The later
    decision replaced the earlier one: the exact copy on line 2 went to train."""
    session = Session(paths=[str(_chain(write_jsonl))], state_dir=str(tmp_path / "state"))
    session.analyse()
    first, second = _cluster_kept_by(session, "d.jsonl:1"), _cluster_kept_by(session, "d.jsonl:3")
    session.keep(first)
    session.keep(second)
    session.set_threshold(0.7)
    found = session.resolution()
    assert sorted(found.dropped) == ["d.jsonl:2", "d.jsonl:4"]
    # Whether 3 duplicates 1 was never decided: the merged cluster is undecided again.
    assert found.reopened == {first} and first not in found.cluster_states
    plan = session.plan()
    kept = set(plan.kept["key"].to_list())
    assert {"d.jsonl:1", "d.jsonl:3"} <= kept and not {"d.jsonl:2", "d.jsonl:4"} & kept
    assert any("1 decided clusters hold rows their decision did not name" in n for n in plan.notes)


def test_a_decided_cluster_that_gains_a_row_of_another_label_is_a_conflict_again(write_jsonl, tmp_path):
    session = Session(paths=[str(_chain(write_jsonl, label="z"))], state_dir=str(tmp_path / "state"))
    session.analyse()
    cluster = _cluster_kept_by(session, "d.jsonl:1")
    session.keep(cluster)  # {1, 2}: one label
    session.set_threshold(0.75)  # {1, 2, 3}: line 3 says "z"
    assert session.cluster_state(cluster) is None
    assert session.plan().unresolved_conflicts == [cluster]  # it was settled, silently


def test_a_journaled_hard_negative_on_a_cluster_with_an_exact_conflict_is_not_applied(write_jsonl, tmp_path):
    # mark_hard_negative refuses such a cluster now; a journal written before it did
    # (or a label changed since) still kept both identical rows in train.
    said = "the customer asks about a refund for order 0 and wants {} help with the shipping details today"
    rows = [
        {"id": "a", "text": said.format("fast"), "label": "billing"},
        {"id": "c", "text": said.format("fast"), "label": "shipping"},
        {"id": "b", "text": said.format("slow"), "label": "shipping"},
    ]
    rows += [{"id": f"u{i}", "text": f"unrelated question {i} about topic {i * 7} here", "label": "other"}
             for i in range(30)]  # fmt: skip
    session = Session(paths=[str(write_jsonl("mixed.jsonl", rows))], state_dir=str(tmp_path / "state"))
    session.analyse()
    near = session.duplicates.clusters.filter(pl.col("members").list.contains("a"))
    assert near.select("kind", "size", "conflict").row(0) == ("near", 3, True)
    cluster = near["id"][0]
    session.keep(cluster, "a")  # drops b and c; the hard negative below replaces it
    assert set(session.resolution().dropped) == {"b", "c"}
    session.journal.append("hard_negative", cluster=cluster, content=session.content(["a", "b", "c"]))
    found = session.resolution()
    assert found.hard_negatives == set() and session.cluster_state(cluster) is None
    assert not set(found.dropped) & {"a", "b", "c"}  # the earlier keep does not come back
    assert any(f"cluster {cluster} holds the same text under two labels" in s for s in found.stale)
    assert session.plan().unresolved_conflicts == [cluster]
    assert _from_scratch(session).stale == found.stale


def test_a_decision_takes_back_only_its_own_clusters_hard_negative_marks(write_jsonl, tmp_path):
    # a and c share a prompt under two labels (the input cluster {a, b, c} cannot be a
    # hard negative); a and b are a near conflict of whole examples, a valid one. The
    # refused mark on the input cluster took back the example cluster's marks too, and a
    # keep made after a hard negative on one cluster left its rows marked.
    said = "my monthly subscription went up to a much higher price without any notice and I want to know why"
    reply = (
        "thanks for writing; sorry about the billing trouble, our payments team will review it in two days"
    )

    def chat(key: str, prompt: str, answer: str, label: str) -> dict:
        turns = [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
        return {"id": key, "messages": turns, "label": label}

    rows = [
        chat("a", said, reply, "billing"),
        chat(
            "c",
            said,
            "a different reply about parcels, couriers and delivery windows in your region",
            "shipping",
        ),
        chat("b", said.replace("monthly", "yearly"), reply, "shipping"),
    ]
    rows += [chat(f"u{i}", f"unrelated question {i} about topic {i * 7}", f"answer {i} is {i * 13}", "other")
             for i in range(30)]  # fmt: skip
    session = Session(paths=[str(write_jsonl("two.jsonl", rows))], state_dir=str(tmp_path / "state"))
    session.analyse()
    near = session.duplicates.clusters.filter(pl.col("members").list.contains("a"))
    example = near.filter(pl.col("side") == "example")["id"][0]
    inputs = near.filter(pl.col("side") == "input")["id"][0]
    session.mark_hard_negative(example)
    session.journal.append("hard_negative", cluster=inputs, content=session.content(["a", "b", "c"]))
    found = session.resolution()
    assert found.hard_negatives == {"a", "b"} and session.cluster_state(example) == "hard negative"
    assert session.cluster_state(inputs) is None and _from_scratch(session).hard_negatives == {"a", "b"}
    session.keep(example, "a")  # the example cluster decided again: its marks go
    assert session.resolution().hard_negatives == set() == _from_scratch(session).hard_negatives


def test_a_marked_row_dropped_by_a_decision_at_another_threshold_counts_no_more(write_jsonl, tmp_path):
    # Marks are taken back by a later decision on the same cluster id; the threshold
    # moved, the merged cluster has another id, and "keep line 1" on it dropped lines 3
    # and 4 while they still counted as hard negatives on the scorecard.
    session = Session(paths=[str(_chain(write_jsonl, label="z"))], state_dir=str(tmp_path / "state"))
    session.analyse()
    session.mark_hard_negative(_cluster_kept_by(session, "d.jsonl:3"))  # {3, 4} at 0.80
    assert session.marked_hard_negatives().to_list() == [2, 3]
    session.set_threshold(0.7)  # all four in one cluster, with the id of {1, 2}
    session.keep(_cluster_kept_by(session, "d.jsonl:1"), "d.jsonl:1")
    assert {"d.jsonl:3", "d.jsonl:4"} <= session.resolution().dropped.keys()
    assert session.marked_hard_negatives().to_list() == []


def test_the_threshold_set_in_the_app_is_where_the_next_start_and_split_cluster(write_jsonl, tmp_path):
    """Moved to 0.75 and a cluster decided there: reopened, the app was back at 0.80 and
    `split` clustered at 0.80 too, so the decision landed on another cluster."""
    from sfttui.cli.split_command import SplitRequest, run_split
    from sfttui.engine.analyses.split import SplitSettings

    data, state = str(_chain(write_jsonl)), str(tmp_path / "state")
    first = Session(paths=[data], state_dir=state)
    first.analyse()
    first.set_threshold(0.75)
    cluster = _cluster_kept_by(first, "d.jsonl:1")  # {1, 2, 3}
    first.keep(cluster)
    assert first.journal.undo().payload["target"] == first.journal.decisions[-2].seq  # the keep
    first.keep(cluster)
    first.journal.close()

    again = Session(paths=[data], state_dir=state)
    again.analyse()
    # Banded as the first session was (down to 0.65), so `split` writes what `w` wrote.
    assert again.threshold == 0.75 and again.floor == pytest.approx(0.65)
    assert again.cluster_state(cluster) == "keep d.jsonl:1"
    assert sorted(again.resolution().dropped) == ["d.jsonl:2", "d.jsonl:3"]
    assert again.resolution().stale == []
    again.journal.close()

    def split(out: str, from_journal: bool) -> tuple[dict, list[str]]:
        request = SplitRequest(
            files=[data],
            out=str(tmp_path / out),
            settings=ScanSettings(),
            split=SplitSettings(),
            state_dir=state,
            threshold_from_journal=from_journal,
        )
        result, notes = run_split(request)
        return result.manifest, notes

    manifest, notes = split("out", True)
    assert manifest["settings"]["near"]["threshold"] == 0.75
    assert "near threshold 0.75: as set in the app (--threshold sets another)" in notes
    assert manifest["counts"]["dropped"] == 2
    manifest, notes = split("given", False)  # `split --threshold 0.8`
    assert manifest["settings"]["near"]["threshold"] == 0.8
    assert not any("as set in the app" in n for n in notes)


def _scans(monkeypatch) -> list[float]:
    """The thresholds each Session scan runs at, in order."""
    seen: list[float] = []
    scan = Session._scan

    def counted(self, clustering, progress):
        seen.append(self.settings.near.threshold if clustering is None else clustering[0])
        return scan(self, clustering, progress)

    monkeypatch.setattr(Session, "_scan", counted)
    return seen


def test_the_threshold_of_this_datas_journal_holds_when_another_was_set_later(
    write_jsonl, tmp_path, monkeypatch
):
    """The newest journal of the same path belongs to an edit since undone. Its threshold
    was applied silently when this data's journal held none, and when both held one each
    start scanned twice."""
    data, state = _chain(write_jsonl), str(tmp_path / "state")
    original = data.read_bytes()

    def session_at(threshold: float | None) -> Session:
        session = Session(paths=[str(data)], state_dir=state)
        session.analyse()
        if threshold is not None:
            session.set_threshold(threshold)
        session.journal.close()
        return session

    first = session_at(None)
    first.keep(_cluster_kept_by(first, "d.jsonl:1"))  # a decision at 0.8, no threshold record
    first.journal.close()
    data.write_bytes(original + b'{"text": "one more line", "label": "b"}\n')
    session_at(0.7)  # carried the keep over, then moved
    data.write_bytes(original)
    scans = _scans(monkeypatch)
    assert session_at(None).threshold == 0.8 and scans == [0.8]
    session_at(0.76)
    scans.clear()
    for _ in range(2):
        assert session_at(None).threshold == 0.76
    assert scans == [0.76, 0.76]  # one scan a start


def test_an_edit_of_the_same_size_since_undone_is_scanned_again_at_its_own_threshold(
    write_jsonl, tmp_path, monkeypatch
):
    data, state = _chain(write_jsonl), str(tmp_path / "state")
    original = data.read_bytes()
    session = Session(paths=[str(data)], state_dir=state)
    session.analyse()
    session.set_threshold(0.75)
    session.journal.close()
    data.write_bytes(original.replace(b"w1", b"w9", 1))  # same size, other bytes
    again = Session(paths=[str(data)], state_dir=state)
    again.analyse()
    again.set_threshold(0.7)
    again.journal.close()
    data.write_bytes(original)
    scans = _scans(monkeypatch)
    back = Session(paths=[str(data)], state_dir=state)
    back.analyse()
    assert back.threshold == 0.75 and scans == [0.7, 0.75]


def test_without_near_matching_a_journaled_threshold_changes_nothing(write_jsonl, tmp_path):
    """`--no-near`: the threshold still set which pairs of different labels are hard
    negatives (those below it), so a journaled one changed them unsaid."""
    from sfttui.engine.settings import NearSettings

    data, state = str(_chain(write_jsonl, label="z")), str(tmp_path / "state")
    session = Session(paths=[data], state_dir=state)
    session.analyse()
    session.set_threshold(0.7)
    session.journal.close()
    off = ScanSettings(near=NearSettings(enabled=False))
    plain = Session(paths=[data], settings=off, state_dir=str(tmp_path / "none"))
    plain.analyse()
    journaled = Session(paths=[data], settings=off, state_dir=state)
    journaled.analyse()
    assert journaled.results.scan.settings.near.threshold == 0.8
    assert journaled.coverage.hard_pairs.equals(plain.coverage.hard_pairs)
    assert journaled.coverage.hard_pairs.height == 1


def test_a_threshold_record_out_of_range_is_reported_not_applied(write_jsonl, tmp_path):
    data, state = str(_chain(write_jsonl)), tmp_path / "state"
    session = Session(paths=[data], state_dir=str(state))
    session.analyse()
    session.set_threshold(0.76)
    session.journal.close()
    with session.journal.path.open("ab") as handle:
        handle.write(b'{"seq": 9, "action": "threshold", "threshold": 1.5}\n')
        handle.write(b'{"seq": 10, "action": "threshold", "threshold": true}\n')
    again = Session(paths=[data], state_dir=str(state))
    again.analyse()
    assert again.threshold == 0.76
    assert [p.split(": ", 1)[1] for p in again.journal.problems] == [
        "threshold decision with field 'threshold' is missing or of the wrong type, ignored"
    ] * 2


def test_eval_near_hits_follow_the_threshold_moved_in_the_app(write_jsonl, tmp_path):
    """A training row at word J ~0.77 to an eval item: at 0.80 no hit. Moved to 0.74, the
    clusters and the hits between splits followed, the eval hits stayed the scan's, so
    `w` kept the contaminated row though the manifest said 0.74."""
    import random

    from tests.conftest import jaccard, word_shingles

    rng = random.Random(3)
    vocab = [f"v{i}" for i in range(3000)]
    item = [rng.choice(vocab) for _ in range(50)]
    near = list(item)
    for i in (10, 40):
        near[i] = f"changed{i}"
    j = jaccard(word_shingles(" ".join(item)), word_shingles(" ".join(near)))
    assert 0.74 <= j < 0.8
    rows = [{"text": " ".join(near), "label": "a"}]
    rows += [{"text": " ".join(rng.choice(vocab) for _ in range(40)), "label": "ab"[i % 2]} for i in range(9)]
    data = write_jsonl("d.jsonl", rows)
    gold = write_jsonl("gold.jsonl", [{"text": " ".join(item)}])
    # No 40-word run of the item is left whole (10 and 40 changed): no n-gram hit either.
    settings = ScanSettings(eval_paths=(str(gold),), leakage=LeakageSettings(ngram=40))
    session = Session(paths=[str(data)], settings=settings, state_dir=str(tmp_path / "state"))
    session.analyse()
    assert session.leakage.eval_hits.height == 0
    session.set_threshold(0.74)
    [hit] = session.leakage.eval_hits.iter_rows(named=True)
    assert (hit["key"], hit["kind"], hit["eval_key"]) == ("d.jsonl:1", "near", "gold.jsonl:1")
    assert hit["similarity"] == pytest.approx(j)
    session.write(session.plan(), tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [h["key"] for h in manifest["eval_contamination"]] == ["d.jsonl:1"]
    assert manifest["counts"]["dropped"] == 1
    session.set_threshold(0.8)
    assert session.leakage.eval_hits.height == 0


def test_hard_negatives_follow_the_threshold_moved_in_the_app(write_jsonl, tmp_path):
    """Line 3 ("z") at word J ~0.79 to line 1 ("a"): a hard negative at 0.80, a near
    conflict in one cluster at 0.75, where it was still counted as a hard negative."""
    session = Session(paths=[str(_chain(write_jsonl, label="z"))], state_dir=str(tmp_path / "state"))
    session.analyse()

    def hard() -> list[tuple[str, str]]:
        return list(session.coverage.hard_pairs.select("key_a", "key_b").iter_rows())

    assert hard() == [("d.jsonl:1", "d.jsonl:3")]
    session.set_threshold(0.75)
    assert hard() == [] and session.cluster_state(_cluster_kept_by(session, "d.jsonl:1")) is None
    assert session.coverage.scorecard()[0].total == 0  # hard_negatives
    session.set_threshold(0.8)
    assert hard() == [("d.jsonl:1", "d.jsonl:3")]


def _split_bytes(out) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in ("train.jsonl", "validation.jsonl", "test.jsonl")}


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} not present")
def test_split_writes_what_w_wrote_after_the_threshold_moved(tmp_path):
    """Moved from 0.8 to 0.7 on Code Alpaca's instructions: the app's pairs, verified
    with bands for its floor (0.65), held one pair (J 0.711) that bands for 0.7 missed,
    and `split` placed 5 rows in other splits than `w` had."""
    from sfttui.cli.split_command import SplitRequest, run_split
    from sfttui.engine.analyses.split import SplitSettings
    from sfttui.engine.settings import LoadSettings

    data, state = str(SHARED_DATA / "new_codealpaca.jsonl"), str(tmp_path / "state")
    settings = ScanSettings(load=LoadSettings(text_field="instruction"))
    app = Session(paths=[data], settings=settings, state_dir=state)
    app.analyse()
    app.set_threshold(0.7)
    app.record_clustering()  # what `w` does before it writes: nothing new here
    assert [d.action for d in app.journal.decisions] == ["threshold"]
    app.write(app.plan(), tmp_path / "w")
    app.journal.close()
    request = SplitRequest(
        files=[data], out=str(tmp_path / "split"), settings=settings, split=SplitSettings(), state_dir=state
    )
    result, notes = run_split(request)
    assert "near threshold 0.7: as set in the app (--threshold sets another)" in notes
    assert _split_bytes(tmp_path / "split") == _split_bytes(tmp_path / "w")
    assert result.manifest["counts"]["train"] == 3623


def test_w_journals_the_threshold_and_floor_it_wrote_at(tmp_path):
    """Never moved, the app still banded for its floor: `w` records both, and `split`
    bands as it did."""
    from tests.app_factory import demo_copy

    data, state = str(demo_copy(tmp_path)), str(tmp_path / "state")
    app = Session(paths=[data], state_dir=state)
    app.analyse()
    app.record_clustering()
    app.record_clustering()  # once: the journal says so already
    [record] = app.journal.decisions
    assert record.payload == {"threshold": 0.8, "floor": pytest.approx(0.65)}
    app.journal.close()
    headless = Session(paths=[data], state_dir=state, explore=False, writes_state=False)
    headless.analyse()
    assert headless.threshold == 0.8 and headless.floor == pytest.approx(0.65)
    off = Session(
        paths=[data], state_dir=state, explore=False, writes_state=False, threshold_from_journal=False
    )
    off.analyse()
    assert off.floor == 0.8  # `--threshold` given: banded for it alone


def test_the_default_output_is_named_after_the_whole_data_file_name(tmp_path):
    # Cut at the first dot, v1.2.jsonl and v1.3.jsonl both wrote to v1-splits: `w` on the
    # second replaced the first's splits after one "(replaces its contents)".
    from sfttui.engine.session import Session

    names = {
        "v1.2.jsonl": "v1.2-splits",
        "v1.3.jsonl.gz": "v1.3-splits",
        "chats.parquet": "chats-splits",
        "train": "train-splits",
    }
    for name, out in names.items():
        assert Session(paths=[str(tmp_path / name)]).default_out() == tmp_path / out

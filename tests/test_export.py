from __future__ import annotations

import errno
import hashlib
import json
import os
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from sfttui.cli import main
from sfttui.engine.analyses.dedup import find_duplicates
from sfttui.engine.analyses.split import SplitSettings
from sfttui.engine.decisions import Journal, resolve
from sfttui.engine.errors import InputError
from sfttui.engine.export import ExportError, plan_export, verify_export, write_export
from sfttui.engine.io.load import load

WORDS = [f"w{i}" for i in range(3000)]


def _dataset(tmp_path: Path, users: int = 120, seed: int = 0) -> Path:
    """Rows from many users, with planted near duplicates from *other* users."""
    rng = random.Random(seed)
    rows = []
    for i in range(users * 5):
        text = " ".join(rng.choices(WORDS, k=rng.randint(40, 60)))  # one change keeps J > 0.8
        rows.append(
            {"id": f"r{i}", "text": text, "label": rng.choice(["a", "a", "b", "c"]), "user": f"u{i % users}"}
        )
    for j in range(60):  # near copies: one word changed, a different user
        src = rows[rng.randrange(users * 5)]
        words = src["text"].split()
        words[rng.randrange(len(words))] = "changed"
        rows.append({"id": f"n{j}", "text": " ".join(words), "label": src["label"], "user": f"x{j}"})
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _split(*args: str):
    return CliRunner().invoke(main, ["split", *args])


def _read(out: Path, name: str) -> list[dict]:
    return [json.loads(x) for x in (out / f"{name}.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_user_and_no_near_duplicate_straddles_splits(tmp_path, seed):
    data = _dataset(tmp_path, seed=seed)
    out = tmp_path / "out"
    result = _split(
        str(data), "--by", "user", "--out", str(out), "--seed", str(seed), "--state-dir", str(tmp_path / "s")
    )
    assert result.exit_code == 0, result.output
    where: dict[str, str] = {}
    for name in ("train", "validation", "test"):
        for row in _read(out, name):
            assert where.setdefault(row["user"], name) == name, f"user {row['user']} in two splits"
    # Every planted near copy sits in the same split as its source.
    texts = {name: {r["id"]: r["text"] for r in _read(out, name)} for name in ("train", "validation", "test")}
    split_of = {rid: name for name, rows in texts.items() for rid in rows}
    all_texts = {rid: t for rows in texts.values() for rid, t in rows.items()}
    for rid, text in all_texts.items():
        if rid.startswith("n"):
            sources = [
                o
                for o, t in all_texts.items()
                if o.startswith("r") and len(set(t.split()) ^ set(text.split())) <= 2
            ]
            assert sources and all(split_of[s] == split_of[rid] for s in sources)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["leakage_remaining"] == []
    assert abs(manifest["ratios"]["train"] - 0.8) < 0.05


def test_a_user_given_as_a_list_stays_in_one_split(tmp_path):
    # Half the rows named their user as ["u7"], half as "u7": compared as JSON text, 9
    # of 21 users spanned two splits, and the manifest said no leakage remained.
    data = tmp_path / "data.jsonl"
    records = [
        {"id": f"r{i}", "text": f"row {i} says {' '.join(str(i * k) for k in range(1, 9))}", "user": u}
        for i in range(400)
        for u in [[f"u{i % 21}"] if i % 2 else f"u{i % 21}"]
    ]
    records.append({"id": "both", "text": "a row written by two users together", "user": ["u1", "u2"]})
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out"
    result = _split(str(data), "--by", "user", "--out", str(out), "--state-dir", str(tmp_path / "s"))
    assert result.exit_code == 0, result.output
    where: dict[str, set[str]] = {}
    for name in ("train", "validation", "test"):
        for row in _read(out, name):
            for user in row["user"] if isinstance(row["user"], list) else [row["user"]]:
                where.setdefault(user, set()).add(name)
    assert len(where) == 21 and all(len(splits) == 1 for splits in where.values()), where
    assert where["u1"] == where["u2"]  # joined by the row of both


@pytest.mark.parametrize("drop", ["exact", "near"])
def test_dropping_the_train_side_of_a_leak_keeps_its_copy_in_test(tmp_path, drop):
    # `d` on a leak's train row, then `w`: the automatic policy kept the first copy of
    # each text (the row just dropped) and dropped the test copy as its duplicate, so
    # the example left every split (11 TREC questions after `D` on the Leakage tab).
    from sfttui.engine.decisions import Resolution

    rng = random.Random(3)
    words = [f"w{k}" for k in range(500)]
    records = [
        {"id": f"r{i}", "text": " ".join(rng.sample(words, 12)), "label": "ab"[i % 2], "split": "train"}
        for i in range(40)
    ]
    records[3]["text"] = "what are amphibians and where do they live"
    records.append({"id": "t1", "text": records[3]["text"], "label": records[3]["label"], "split": "test"})
    records[5]["text"] = " ".join(rng.sample(words, 30))  # long enough for one word changed to be near
    near = " ".join([*records[5]["text"].split()[:29], "changed"])
    records.append({"id": "t2", "text": near, "label": records[5]["label"], "split": "test"})
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    ds = load([data])
    dups = find_duplicates(ds.rows)
    person = {"r3": ("dropped: leaks into test", None), "r5": ("dropped: leaks into test", None)}
    none = dict(kept_clusters=set(), caps={}, deliberate={}, moves={}, applied=[], stale=[])
    plan = plan_export(ds, dups, SplitSettings(), drop=drop, resolution=Resolution(dropped=person, **none))
    kept = dict(plan.kept.select("key", "split").rows())
    dropped = dict(plan.dropped.select("key", "kind").rows())
    assert dropped["r3"] == "decision" and kept["t1"] == "test"
    if drop == "near":
        assert dropped["r5"] == "decision" and kept["t2"] == "test"
    assert "t1" not in dropped and "t2" not in dropped


def test_outputs_are_raw_lines_byte_for_byte_and_reproducible(tmp_path):
    data = _dataset(tmp_path)
    raw_in = set(data.read_bytes().split(b"\n"))
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert (
            _split(str(data), "--by", "user", "--out", str(out), "--state-dir", str(tmp_path / "s")).exit_code
            == 0
        )
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl", "dropped.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    for name in ("train", "validation", "test"):
        lines = (a / f"{name}.jsonl").read_bytes().split(b"\n")[:-1]
        assert lines and set(lines) <= raw_in
    manifest = json.loads((a / "manifest.json").read_text())
    total = (
        sum(manifest["counts"][s] for s in ("train", "validation", "test")) + manifest["counts"]["dropped"]
    )
    assert total == 660  # every input row accounted for
    assert (
        manifest["outputs"]["train.jsonl"]
        == json.loads((b / "manifest.json").read_text())["outputs"]["train.jsonl"]
    )


def test_replaces_only_its_own_output_and_only_with_force(tmp_path):
    data = _dataset(tmp_path, users=20)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    for force in ((), ("--force",)):
        refused = _split(str(data), "--out", str(out), *force, "--state-dir", str(tmp_path / "s"))
        assert refused.exit_code == 2
        assert "was not written by sfttui (it holds keep.txt)" in refused.output
        assert (out / "keep.txt").read_text() == "mine"
    (out / "keep.txt").unlink()
    assert _split(str(data), "--out", str(out), "--state-dir", str(tmp_path / "s")).exit_code == 0
    again = _split(str(data), "--out", str(out), "--state-dir", str(tmp_path / "s"))
    assert again.exit_code == 2 and "holds an earlier output of sfttui; pass --force" in again.output
    forced = _split(str(data), "--out", str(out), "--force", "--state-dir", str(tmp_path / "s"))
    assert forced.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "dropped.jsonl",
        "manifest.json",
        "test.jsonl",
        "train.jsonl",
        "validation.jsonl",
    ]


def _planned(tmp_path: Path):
    """A small dataset, loaded and planned: (its file, the dataset, the plan, an output dir)."""
    data = _dataset(tmp_path, users=20)
    ds = load([data])
    return data, ds, plan_export(ds, find_duplicates(ds.rows), SplitSettings()), tmp_path / "out"


def test_a_failure_mid_export_leaves_no_partial_directory(tmp_path):
    _, ds, plan, out = _planned(tmp_path)
    with pytest.raises(OSError, match="simulated failure"):
        write_export(plan, ds, out, fail_after="validation.jsonl")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []
    # With an old directory in place, a failure leaves the old one untouched.
    write_export(plan, ds, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(OSError):
        write_export(plan, ds, out, force=True, fail_after="train.jsonl")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    with pytest.raises(ExportError, match="earlier output of sfttui; pass --force"):
        write_export(plan, ds, out)


def test_an_output_that_fails_its_check_never_replaces_the_earlier_one(tmp_path, monkeypatch):
    data, ds, _, out = _planned(tmp_path)
    plan = plan_export(ds, find_duplicates(ds.rows), SplitSettings(), drop="near")
    assert plan.dropped.height > 0
    write_export(plan, ds, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # A writer bug: dropped.jsonl loses its rows. The read-back must catch it before the
    # rename, so the earlier output stays whole and the bad one is never put in its place.
    monkeypatch.setattr("sfttui.engine.export._dropped_lines", lambda dropped, dataset: iter(()))
    result = write_export(plan, ds, out, force=True)
    assert not result.installed
    lines = ds.rows.height + ds.bad_lines.height
    kept = lines - plan.dropped.height
    assert result.problems == [f"outputs hold {kept:,} lines, inputs {lines:,}, or their contents differ"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []
    # The command line says so and fails; with no earlier output, nothing is left at all.
    fresh = tmp_path / "new" / "parents" / "fresh"
    said = _split(str(data), "--drop", "near", "--out", str(fresh), "--state-dir", str(tmp_path / "st"))
    assert said.exit_code == 1
    assert f"not written: the output failed its check; {fresh} is as it was" in said.output
    assert not (tmp_path / "new").exists()  # the parents it made for --out went too


def test_an_input_changed_after_loading_is_never_copied(tmp_path):
    data, ds, plan, out = _planned(tmp_path)
    write_export(plan, ds, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # Same size and modification time, other bytes: only the line hashes can tell.
    stat = data.stat()
    data.write_bytes(data.read_bytes().replace(b'"r0"', b'"R0"', 1))
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(ExportError, match="has changed since it was loaded"):
        write_export(plan, ds, out, force=True)
    data.write_bytes(data.read_bytes() + b'{"text": "one more", "label": "a"}\n')
    with pytest.raises(ExportError, match=r"data.jsonl has changed since it was loaded; load it again"):
        write_export(plan, ds, out, force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_a_last_line_without_newline_is_written_whole(tmp_path):
    lines = [
        json.dumps({"text": f"row {i} " + " ".join(WORDS[i * 9 : i * 9 + 9]), "label": "ab"[i % 2]})
        for i in range(40)
    ]
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(lines))  # no final newline
    ds = load([data])
    plan = plan_export(ds, find_duplicates(ds.rows), SplitSettings())
    write_export(plan, ds, tmp_path / "out")
    written = [
        line
        for name in ("train", "validation", "test")
        for line in (tmp_path / "out" / f"{name}.jsonl").read_text().splitlines()
    ]
    assert sorted(written) == sorted(lines)
    assert lines[-1] in written


def test_eval_question_inside_a_longer_training_prompt_is_found_and_dropped(tmp_path, write_jsonl):
    question = "Which river flows through Vienna and Budapest before it reaches the Black Sea in Romania?"
    train = write_jsonl(
        "train_pool.jsonl",
        [
            {"prompt": f"Quiz time! {question} Answer in one word please.", "completion": "Danube"},
            {"prompt": "Write a haiku about autumn leaves falling on a quiet pond", "completion": "..."},
            {"prompt": "Summarise the plot of Hamlet in two sentences for a child", "completion": "..."},
        ],
    )
    gold = write_jsonl("gold.jsonl", [{"prompt": question, "completion": "The Danube"}])
    out = tmp_path / "out"
    report = tmp_path / "r.json"
    scan = CliRunner().invoke(
        main, ["scan", str(train), "--eval", str(gold), "--json", str(report), "--fail-on", "leakage"]
    )
    assert scan.exit_code == 1
    hit = json.loads(report.read_text())["leakage"]["eval"][0]
    assert (hit["kind"], hit["side"], hit["key"], hit["eval_key"]) == (
        "ngram",
        "input",
        "train_pool.jsonl:1",
        "gold.jsonl:1",
    )
    assert hit["shared_ngrams"] == 3  # a 15-word question holds three 13-word windows
    result = _split(
        str(train),
        "--eval",
        str(gold),
        "--out",
        str(out),
        "--state-dir",
        str(tmp_path / "s"),
        "--ratios",
        "1,0,0",
    )
    assert result.exit_code == 0, result.output
    dropped = _read(out, "dropped")
    assert [(d["key"], d["kind"]) for d in dropped] == [("train_pool.jsonl:1", "eval contamination")]
    assert len(_read(out, "train")) == 2


def test_a_plan_with_every_row_dropped_writes_empty_splits(tmp_path, write_jsonl):
    # One gold question near-matches every training row: nothing is left to split, and
    # planning once raised IndexError on the empty frame (seen in the app's plan worker).
    rows = [
        {"text": f"how do i reset password number {i} on the router", "label": "ab"[i % 2]} for i in range(40)
    ]
    data = write_jsonl("d.jsonl", rows)
    gold = write_jsonl("gold.jsonl", [{"text": "how do i reset password number 5 on the router"}])
    out = tmp_path / "out"
    result = _split(str(data), "--eval", str(gold), "--out", str(out), "--state-dir", str(tmp_path / "s"))
    assert result.exit_code == 0, result.output
    dropped = _read(out, "dropped")
    assert len(dropped) == 40 and {d["kind"] for d in dropped} == {"eval contamination"}
    assert [len(_read(out, name)) for name in ("train", "validation", "test")] == [0, 0, 0]


def test_new_splits_over_a_split_field_say_the_written_lines_still_name_the_old(tmp_path, write_jsonl):
    # After --resplit, train.jsonl held rows saying "split": "test", and scanning the
    # output read them back as test, without a word at export.
    rows = [
        {
            "text": f"row number {i} of some data here",
            "label": "ab"[i % 2],
            "split": "test" if i % 5 == 0 else "train",
        }
        for i in range(60)
    ]
    data = write_jsonl("d.jsonl", rows)
    out = tmp_path / "out"
    result = _split(str(data), "--resplit", "--out", str(out), "--state-dir", str(tmp_path / "s"))
    assert result.exit_code == 0, result.output
    written = {name: _read(out, name) for name in ("train", "validation", "test")}
    stale = sum(r["split"] != name for name, part in written.items() for r in part)
    assert stale > 0
    assert f"the 'split' field of {stale:,} rows names another split than the one written to" in " ".join(
        result.output.split()
    )
    kept = _split(str(data), "--out", str(tmp_path / "kept"), "--state-dir", str(tmp_path / "s2"))
    assert kept.exit_code == 0 and "'split' field names" not in kept.output


def test_journal_decisions_apply_and_survive_a_crash(tmp_path, write_jsonl):
    rows = [
        {"id": "a", "text": "the very same words here"},
        {"id": "b", "text": "The very same words here!"},
        {"id": "c", "text": "something else entirely different"},
    ]
    data = write_jsonl("d.jsonl", rows)
    ds = load([data])
    dup = find_duplicates(ds.rows)
    cluster = dup.clusters["id"][0]
    journal = Journal.open(ds.inputs, tmp_path / "state")
    journal.append("keep", cluster=cluster, keeper="b", drop=["a"])
    journal.append("drop_rows", keys=["c"], reason="off topic")
    journal.undo()  # takes back the drop of c
    journal.append("drop_rows", keys=["gone"], reason="stale")
    with journal.path.open("ab") as handle:  # a crash mid-write: half a line, no newline
        handle.write(b'{"seq": 9, "action": "keep", "clus')
    journal.close()  # the window is gone; the next one takes the journal
    again = Journal.open(ds.inputs, tmp_path / "state")
    assert again.resumed
    assert again.problems == [f"{again.path.name} line 6: unreadable (cut off by a crash?), ignored"]
    res = resolve(again.effective(), set(ds.rows["key"]), set(dup.clusters["id"]))
    assert res.dropped == {"a": ("duplicate of b (decision 1)", cluster)}
    assert res.stale == ["decision 4: rows gone are no longer in the data; not applied"]
    # The next decision starts on a line of its own.
    again.append("keep_all", cluster=cluster)
    again.close()
    third = Journal.open(ds.inputs, tmp_path / "state")
    assert [d.action for d in third.effective()] == ["keep", "drop_rows", "keep_all"]
    out = tmp_path / "out"
    result = _split(str(data), "--out", str(out), "--state-dir", str(tmp_path / "state"), "--ratios", "1,0,0")
    assert result.exit_code == 0, result.output
    assert "2 decisions applied" in result.output
    assert "decision 4: rows gone are no longer in the data; not applied" in result.output
    # keep_all came last: nothing of the cluster is dropped; "gone" is reported, not applied.
    assert _read(out, "dropped") == []
    assert len(_read(out, "train")) == 3


def test_existing_splits_are_kept_and_their_leakage_listed(tmp_path, write_jsonl):
    train = write_jsonl(
        "train.jsonl",
        [
            {"text": "shared sentence about cats and dogs", "label": "x"},
            {"text": "only in train", "label": "y"},
        ],
    )
    test = write_jsonl(
        "test.jsonl",
        [
            {"text": "Shared sentence about cats and dogs.", "label": "x"},
            {"text": "only in test", "label": "y"},
        ],
    )
    out = tmp_path / "out"
    result = _split(
        str(train), str(test), "--out", str(out), "--drop", "none", "--state-dir", str(tmp_path / "s")
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["splits_from"] == "existing"
    assert manifest["counts"]["train"] == 2 and manifest["counts"]["test"] == 2
    assert [(h["kind"], h["key_a"], h["key_b"]) for h in manifest["leakage_remaining"]] == [
        ("exact", "train.jsonl:1", "test.jsonl:1")
    ]
    resplit = _split(
        str(train), str(test), "--out", str(out), "--force", "--resplit", "--state-dir", str(tmp_path / "s")
    )
    assert resplit.exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["leakage_remaining"] == []


def test_split_usage_errors_exit_two(tmp_path):
    assert _split(str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")).exit_code == 2
    bad = _split(str(tmp_path / "x.jsonl"), "--out", str(tmp_path / "o"), "--ratios", "1,2")
    assert bad.exit_code == 2 and "three ratios" in bad.output


def test_stated_labelling_rules_reach_the_manifest(tmp_path, write_jsonl):
    data = write_jsonl("r.jsonl", [{"id": k, "text": f"row {k} asks something", "label": "x"} for k in "abc"])
    ds = load([data])
    journal = Journal.open(ds.inputs, tmp_path / "state")
    journal.append("rule", keys=["b"], rule="a refund asked for first is billing")
    journal.append("rule", keys=["gone"], rule="names a row that is not there")
    journal.close()
    out = tmp_path / "out"
    result = _split(str(data), "--out", str(out), "--state-dir", str(tmp_path / "state"))
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["decisions"]["labelling_rules"] == {"b": "a refund asked for first is billing"}
    assert (
        "decision 2: rows gone are no longer in the data; not applied" in manifest["decisions"]["not_applied"]
    )


def test_verification_traces_written_lines_to_clusters_and_catches_a_moved_row(tmp_path):
    data = _dataset(tmp_path, users=20)
    ds = load([data])
    dup = find_duplicates(ds.rows)
    plan = plan_export(ds, dup, SplitSettings(), drop="none")
    out = tmp_path / "out"
    result = write_export(plan, ds, out, duplicates=dup)
    assert result.problems == []
    assert (
        "no exact or near duplicate cluster the scan found crosses the written splits (traced from the files)"
        in result.verified
    )
    # Move one member of a near-duplicate cluster into another split's file, as a buggy
    # writer would: the check must see the cluster straddling two files.
    keys = dict(zip(ds.rows["key"], ds.raw_lines(ds.rows["row"])))
    member = next(k for k in dup.membership["key"] if (out / "train.jsonl").read_bytes().count(keys[k]))
    line = keys[member] + b"\n"
    train = (out / "train.jsonl").read_bytes()
    (out / "train.jsonl").write_bytes(train.replace(line, b"", 1))
    (out / "test.jsonl").write_bytes((out / "test.jsonl").read_bytes() + line)
    _, problems = verify_export(out, plan, ds, duplicates=dup)
    assert "duplicate groups crossing the written splits: 1" in problems
    # The same line in two files is caught as such.
    (out / "validation.jsonl").write_bytes((out / "validation.jsonl").read_bytes() + line)
    _, problems = verify_export(out, plan, ds, duplicates=dup)
    assert "1 line is written to more than one split" in problems


@pytest.mark.parametrize("seed", range(6))
def test_written_splits_check_agrees_with_a_brute_force_trace(seed):
    """Lines (by hash) written into splits, rows traced to them, clusters judged: the
    check's sorted arrays against dicts and sets, on random layouts with repeated
    lines, lines in two files, unwritten rows and empty files."""
    from types import SimpleNamespace

    import polars as pl

    from sfttui.engine.export import _clusters_across

    rng = random.Random(seed)
    n = rng.choice([0, 1, 40, 300])
    row_hashes = [rng.randrange(1, 60) * 2**40 + rng.randrange(3) for _ in range(n)]
    written_h, written_s = [], []
    for h in set(row_hashes):
        for split in rng.sample(range(3), rng.choice([0, 1, 1, 1, 2])):
            written_h.append(h)
            written_s.append(split)
    components = [f"c{rng.randrange(max(1, n // 4))}" for _ in range(n)]
    linked_rows = sorted(rng.sample(range(n), n // 2))
    written = pl.DataFrame({"h": written_h, "s": written_s}, schema={"h": pl.UInt64, "s": pl.UInt8})
    dataset = SimpleNamespace(rows=pl.DataFrame({"row": list(range(n))}, schema={"row": pl.UInt32}))
    linked = pl.DataFrame(
        {"row": linked_rows, "component": [components[r] for r in linked_rows]},
        schema={"row": pl.UInt32, "component": pl.String},
    )
    problems = _clusters_across(
        written, dataset, pl.Series(row_hashes, dtype=pl.UInt64), SimpleNamespace(linked=linked)
    )

    splits_of: dict[int, set[int]] = {}
    for h, split in zip(written_h, written_s):
        splits_of.setdefault(h, set()).add(split)
    twice = sum(len(v) > 1 for v in splits_of.values())
    spans: dict[str, set[int]] = {}
    for r in linked_rows:
        if row_hashes[r] in splits_of:
            spans.setdefault(components[r], set()).add(min(splits_of[row_hashes[r]]))
    spread = sum(len(v) > 1 for v in spans.values())
    expected = []
    if twice:
        expected.append(f"{twice:,} lines are written to more than one split")
    if spread:
        expected.append(f"duplicate groups crossing the written splits: {spread:,}")
    assert problems == expected


def test_pieces_are_written_in_order_and_hashed_while_the_next_are_made(tmp_path):
    """The writing thread keeps the pieces' order; the digest is of the bytes on disk."""
    from sfttui.engine.export import _write_pieces

    pieces = [bytes([i % 251]) * (i * 37 % 5000) for i in range(400)]
    path = tmp_path / "out.jsonl"
    digest = _write_pieces(path, iter(pieces))
    assert path.read_bytes() == b"".join(pieces)
    assert digest == hashlib.sha256(b"".join(pieces)).hexdigest()


def test_a_piece_that_cannot_be_made_or_written_stops_the_file(tmp_path):
    """An error while making the pieces, or from the writing thread, is raised here."""
    from sfttui.engine.export import _write_pieces

    def failing():
        yield b"a" * 1000
        yield b"b" * 1000
        raise InputError("input changed")

    with pytest.raises(InputError, match="input changed"):
        _write_pieces(tmp_path / "x.jsonl", failing())
    if Path("/dev/full").exists():  # every write there fails: no space left
        with pytest.raises(OSError) as failed:
            _write_pieces(Path("/dev/full"), iter([b"x" * 100_000] * 2))  # both still pending at the end
        assert failed.value.errno == errno.ENOSPC  # the write's error, not a later step's


def test_ratios_and_seed_that_cannot_apply_to_kept_splits_are_said_so(tmp_path):
    # The input's own splits are kept; --ratios 50/25/25 --seed 7 were ignored without a
    # word and the table showed 50%/25%/25% as targets beside 100%/0%/0%.
    rows = [
        {"text": f"question number {i} about shipping", "label": "ab"[i % 2], "split": "train"}
        for i in range(30)
    ]
    data = tmp_path / "given.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = [str(data), "--out", str(tmp_path / "out"), "--state-dir", str(tmp_path / "st")]
    result = _split(*args, "--ratios", "50/25/25", "--seed", "7")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "splits existing (the input's own)" in said
    assert "note: --ratios and --seed do not apply: the input's own splits are kept (pass --resplit" in said
    assert "50%" not in said
    quiet = _split(*args, "--force")
    assert "do not apply" not in quiet.output and "does not apply" not in quiet.output


def test_a_cap_on_data_with_its_own_splits_says_what_it_took_from_test(tmp_path):
    # TREC keeps its own train/test: a cap of 10 on ABBR (7 test rows) left test without
    # ABBR at the default seed, and nothing said so.
    from sfttui.engine.decisions import Resolution

    rng = random.Random(5)
    words = [f"w{k}" for k in range(800)]
    records = [
        {"text": " ".join(rng.sample(words, 12)), "label": label, "split": split}
        for label, split, n in (
            ("abbr", "train", 20),
            ("abbr", "test", 7),
            ("desc", "train", 30),
            ("desc", "test", 9),
        )
        for _ in range(n)
    ]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    ds = load([data])
    none = dict(dropped={}, kept_clusters=set(), deliberate={}, moves={}, applied=[], stale=[])
    plan = plan_export(
        ds, find_duplicates(ds.rows), SplitSettings(), resolution=Resolution(caps={"abbr": 10}, **none)
    )
    left = plan.kept.filter(plan.kept["label"] == "abbr").group_by("split").len()
    in_test = dict(left.rows()).get("test", 0)
    assert plan.kept.filter(plan.kept["label"] == "abbr").height == 10
    said = [n for n in plan.notes if n.startswith("the cap on label 'abbr'")]
    assert said == [
        f"the cap on label 'abbr' took {7 - in_test} of its 7 rows in the input's test split "
        f"({in_test} left): a cap is drawn from every split"
    ]

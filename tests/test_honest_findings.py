"""Findings a person can trust (issue 16): each test states a finding on concrete rows and
checks it against an independent brute-force computation where one applies."""

from __future__ import annotations

import json
import math
import re
import unicodedata

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from sfttui.cli import main
from sfttui.engine.analyses.coverage import find_coverage
from sfttui.engine.analyses.dedup import find_duplicates, leaders
from sfttui.engine.analyses.labelmodel import _score
from sfttui.engine.analyses.leakage import eval_leakage, split_leakage
from sfttui.engine.analyses.split import SplitSettings
from sfttui.engine.export import plan_export
from sfttui.engine.io.load import load
from sfttui.engine.registry import findings, not_checked
from sfttui.engine.report import write_report
from sfttui.engine.scan import run_scan
from sfttui.engine.settings import CoverageSettings, LoadSettings, NearSettings, NormalizeSettings

from .app_factory import make_app, redrawn, settle, stopped_csv
from .conftest import SHARED_DATA


def _normal(text: str) -> str:
    """NFKC, casefold, punctuation (and the backtick) to spaces, whitespace collapsed: an
    independent spelling of the engine's matching form."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(ch).startswith("P") or ch == "`" else ch for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def _grams(tokens: list[str] | str, n: int = 3) -> set:
    if len(tokens) < n:
        return {tuple(tokens)}
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def reference_jaccard(a: str, b: str, short_words: int = 12, threshold: float = 0.8) -> float:
    """Jaccard as sfttui defines it, by brute force: character 3-grams when both texts have
    fewer than 24 words or straddle 24 words within the length ratio the threshold allows
    (with a word to spare), word 3-grams when both have 12 or more; the higher where both
    apply."""
    na, nb = _normal(a), _normal(b)
    wa, wb = na.split(" "), nb.split(" ")
    best = 0.0
    edge = 2 * short_words
    fewer, more = sorted((len(wa), len(wb)))
    straddle = (
        fewer < edge <= more
        and fewer >= math.floor(more * threshold) - 1
        and more <= math.ceil(fewer / threshold) + 1
    )
    if more < edge or straddle:
        ga, gb = _grams(na), _grams(nb)
        best = max(best, len(ga & gb) / len(ga | gb))
    if len(wa) >= short_words and len(wb) >= short_words:
        ga, gb = _grams(wa), _grams(wb)
        best = max(best, len(ga & gb) / len(ga | gb))
    return best


# --- item 2: clusters never propose dropping a row unlike its keeper -----------------------

SENTENCE = (
    "the customer wrote to us on monday asking why the invoice for march was charged twice "
    "and whether the second payment can be returned to the card before the end of the week"
)
BASE = SENTENCE.split(" ")


def _changed(words: list[str], at: int, new: str) -> list[str]:
    out = list(words)
    out[at] = new
    return out


def test_a_chain_of_near_duplicates_is_not_one_cluster(write_jsonl):
    a = BASE
    b = _changed(a, 5, "friday")
    c = _changed(b, 20, "refunded")  # one word from b, two from a
    texts = [" ".join(w) for w in (a, b, c)]
    assert reference_jaccard(texts[0], texts[1]) >= 0.8
    assert reference_jaccard(texts[1], texts[2]) >= 0.8
    assert reference_jaccard(texts[0], texts[2]) < 0.8
    path = write_jsonl("chain.jsonl", [{"id": k, "text": t} for k, t in zip("ABC", texts)])
    ds = load([path])
    dup = find_duplicates(ds.rows)
    assert dup.clusters.select("members", "keeper").to_dicts() == [{"members": ["A", "B"], "keeper": "A"}]
    assert dup.clusters["similarity"][0] == pytest.approx(reference_jaccard(texts[0], texts[1]))
    # C is a near duplicate of B only: it is proposed for nothing, but splits keep it with them.
    assert sorted(dup.units["row"].to_list()) == [0, 1, 2]
    assert dup.units["component"].n_unique() == 1
    plan = plan_export(ds, dup, SplitSettings(), drop="near")
    assert plan.dropped["key"].to_list() == ["B"]
    assert plan.kept["split"].n_unique() == 1
    # Keeping B instead drops A (within the threshold of B) and leaves nothing else.
    assert dup.drops_for(dup.clusters["id"][0], "B") == ["A"]


def test_leaders_take_the_earliest_leader_and_never_chain():
    # Texts 0-1-2-3 in a path, 0-4 as well; rank = index.
    rank = pl.Series(range(5)).to_numpy()
    a = pl.Series([0, 1, 2, 0]).to_numpy()
    b = pl.Series([1, 2, 3, 4]).to_numpy()
    leader, sim = leaders(rank, a, b, pl.Series([0.9, 0.85, 0.95, 0.81]).to_numpy())
    # 0 leads 1 and 4; 2 is free (1 follows 0) and leads 3.
    assert leader.tolist() == [0, 0, 2, 2, 0]
    assert sim.tolist() == [1.0, 0.9, 1.0, 0.95, 0.81]


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="needs ../shared/data")
def test_every_member_of_every_cluster_is_within_the_threshold_of_its_keeper():
    # Code Alpaca instructions chain through "Write a <language> program that calculates
    # ...": one connected component of 135 rows mixes C++, Python and C.
    ds = load([SHARED_DATA / "new_codealpaca.jsonl"], LoadSettings(text_field="instruction"))
    dup = find_duplicates(ds.rows, near=NearSettings(threshold=0.8))
    texts = ds.rows["text"]
    clusters = dup.clusters
    assert clusters.height > 150 and clusters["size"].max() <= 12
    assert dup.units["component"].value_counts()["count"].max() > 100  # the chained component
    members = dup.membership.filter(~pl.col("keeper")).join(
        dup.clusters.select(cluster="id", keeper_row="keeper_row"), on="cluster"
    )
    worst = 1.0
    for row, keeper_row, reported in members.select("row", "keeper_row", "similarity").iter_rows():
        measured = reference_jaccard(texts[row], texts[keeper_row])
        assert reported == pytest.approx(measured, abs=1e-9)
        worst = min(worst, measured)
    assert worst >= 0.8 - 1e-9
    assert members.height == dup.rows_removable


# --- item 3: each leak hit names its own twin, with that pair's similarity -----------------


def test_a_leak_hit_names_the_most_similar_row_on_the_other_side(write_jsonl):
    a = BASE
    b = _changed(a, 5, "friday")
    c = _changed(b, 20, "refunded")  # near b only
    x = _changed(BASE, 30, "month")  # near a only (two words from b)
    rows = [
        {"id": "A", "text": " ".join(a), "split": "train"},
        {"id": "B", "text": " ".join(b), "split": "train"},
        {"id": "C", "text": " ".join(c), "split": "test"},
        {"id": "Bcopy", "text": " ".join(b).upper() + "!", "split": "validation"},
        {"id": "X", "text": " ".join(x), "split": "test"},
    ]
    assert reference_jaccard(rows[0]["text"], rows[4]["text"]) >= 0.8
    assert reference_jaccard(rows[1]["text"], rows[4]["text"]) < 0.8
    path = write_jsonl("leaks.jsonl", rows)
    ds = load([path])
    dup = find_duplicates(ds.rows)
    hits = split_leakage(ds.rows, ds.rows["split"], dup)
    got = {r["key_b"]: r for r in hits.to_dicts()}
    assert sorted(got) == ["Bcopy", "C", "X"]
    # An exact normalised copy of a train row is `exact`, against that row.
    assert (got["Bcopy"]["kind"], got["Bcopy"]["key_a"], got["Bcopy"]["similarity"]) == ("exact", "B", 1.0)
    # C's twin is B (A is two words away), with the pair's own measured similarity.
    assert (got["C"]["kind"], got["C"]["key_a"]) == ("near", "B")
    assert got["C"]["similarity"] == pytest.approx(reference_jaccard(rows[1]["text"], rows[2]["text"]))
    assert got["X"]["key_a"] == "A"
    assert got["X"]["similarity"] == pytest.approx(reference_jaccard(rows[0]["text"], rows[4]["text"]))


def test_a_row_chained_to_train_through_its_own_split_is_not_a_leak(write_jsonl):
    a = BASE
    b = _changed(a, 5, "friday")
    c = _changed(b, 20, "refunded")
    rows = [
        {"id": "A", "text": " ".join(a), "split": "train"},
        {"id": "B", "text": " ".join(b), "split": "test"},
        {"id": "C", "text": " ".join(c), "split": "test"},  # J(A, C) ~ 0.65: no train twin
    ]
    ds = load([write_jsonl("chained.jsonl", rows)])
    hits = split_leakage(ds.rows, ds.rows["split"], find_duplicates(ds.rows))
    assert hits.select("key_a", "key_b").to_dicts() == [{"key_a": "A", "key_b": "B"}]


# --- item 11: pairs that straddle the 24-word edge of the character pass -------------------


def test_a_pair_across_the_24_word_edge_is_compared_by_characters(write_jsonl):
    words = (SENTENCE + " today").split(" ")[:23]
    short = " ".join(words)
    # 24 words: one more word, and typos inside two words (word 3-grams lose ten of 22).
    long = " ".join(["hello", *words]).replace("invoice", "invoise").replace("payment", "paymant")
    assert (len(short.split()), len(long.split())) == (23, 24)
    char_j = len(_grams(_normal(short)) & _grams(_normal(long))) / len(
        _grams(_normal(short)) | _grams(_normal(long))
    )
    word_j = len(_grams(short.split()) & _grams(long.split())) / len(
        _grams(short.split()) | _grams(long.split())
    )
    assert char_j >= 0.8 > word_j
    ds = load([write_jsonl("edge.jsonl", [{"id": "s", "text": short}, {"id": "l", "text": long}])])
    dup = find_duplicates(ds.rows)
    assert dup.pairs.select("a", "b").to_dicts() == [{"a": "s", "b": "l"}]
    assert dup.pairs["jaccard"][0] == pytest.approx(char_j)
    assert dup.clusters["members"].to_list() == [["s", "l"]]


# --- item 1: the input side -------------------------------------------------------------------


def _chat(key: str, user: str, answer: str, label: str, split: str) -> dict:
    return {
        "id": key,
        "messages": [
            {"role": "system", "content": "You are the support assistant of a shop."},
            {"role": "user", "content": user},
            {"role": "assistant", "content": answer},
        ],
        "label": label,
        "split": split,
    }


SAME_INPUT_ROWS = [
    _chat("r1", "How do I reset my password?", "Open settings, then Security.", "account", "train"),
    _chat("r2", "how do I reset my password", "We cannot help; write to billing.", "billing", "test"),
    _chat("r3", "Where is my parcel from last week?", "It left the warehouse.", "shipping", "train"),
    _chat("r4", "Can I pay with a gift card at checkout?", "Yes, gift cards work.", "billing", "test"),
]


def test_same_input_different_response_is_a_finding_a_conflict_and_a_leak(write_jsonl, tmp_path):
    path = write_jsonl("chat.jsonl", SAME_INPUT_ROWS)
    result = run_scan([path])
    dup = result.duplicates
    # Nothing on the whole example: the answers differ.
    assert dup.clusters.filter(pl.col("side") == "example").height == 0
    same = dup.clusters.filter(pl.col("side") == "input").to_dicts()
    assert [(c["members"], c["kind"], c["conflict"], c["labels"]) for c in same] == [
        (["r1", "r2"], "exact", True, ["account", "billing"])
    ]
    assert findings(result)["conflicts"] == 1
    hits = result.leakage.between_splits.select("kind", "side", "key_a", "key_b", "similarity").to_dicts()
    assert hits == [{"kind": "exact", "side": "input", "key_a": "r1", "key_b": "r2", "similarity": 1.0}]
    # Splits keep the two rows together.
    plan = plan_export(result.dataset, dup, SplitSettings(resplit=True), drop="none")
    assert plan.kept.filter(pl.col("key").is_in(["r1", "r2"]))["split"].n_unique() == 1
    # The report and the summary say which side each finding is on.
    write_report(result, tmp_path / "r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    assert [(c["side"], c["members"]) for c in report["duplicates"]["clusters"]] == [("input", ["r1", "r2"])]
    assert report["conflicts"][0]["side"] == "input"
    assert report["leakage"]["between_splits"][0]["side"] == "input"
    out = CliRunner().invoke(main, ["scan", str(path)]).output.replace("\n", " ")
    assert "1 cluster of rows whose inputs match (1 exact, 0 near) but whose responses differ" in " ".join(
        out.split()
    )
    assert "1 cluster with mixed labels (1 on the input alone)" in " ".join(out.split())


def test_near_inputs_with_one_response_are_not_said_to_differ(write_jsonl, tmp_path):
    # 4 of new_codealpaca's 97 "same input, different response" clusters held one
    # response (byte for byte, or but for white space): the prompt reworded, so the
    # whole example's word n-grams fell under 0.8 while the inputs' characters did not.
    said = "SELECT * FROM employees WHERE salary > 50000; this returns every column of each matching row"
    rows = [
        {
            "instruction": "Write an SQL query to select all rows and columns from the employees table "
            "where salary is above fifty thousand",
            "output": said,
        },
        {
            "instruction": "Write a SQL query to select all rows and columns from the employees table "
            "where the salary is above fifty thousand",
            "output": said.replace(" ", "  ", 2),
        },
        {
            "instruction": "Explain the difference between a list and a tuple in Python with one example",
            "output": "A list can change after it is made; a tuple cannot.",
        },
        {
            "instruction": "Explain the difference between a list and a tuple in Python with an example",
            "output": "Tuples are immutable and lists are mutable, e.g. (1, 2) versus [1, 2].",
        },
    ]
    path = write_jsonl("sql.jsonl", rows)
    result = run_scan([path])
    on_input = result.duplicates.clusters.filter(pl.col("side") == "input").sort("keeper_row")
    assert on_input.select("members", "same_response").rows() == [
        (["sql.jsonl:1", "sql.jsonl:2"], True),
        (["sql.jsonl:3", "sql.jsonl:4"], False),
    ]
    # The app's threshold slider re-clusters without the rows: the flag holds there too.
    moved = result.duplicates.at_threshold(0.85).clusters.filter(pl.col("side") == "input")
    assert moved.sort("keeper_row")["same_response"].to_list() == [True, False]
    write_report(result, tmp_path / "r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    assert [c["same_response"] for c in report["duplicates"]["clusters"]] == [True, False]
    out = " ".join(CliRunner().invoke(main, ["scan", str(path), "--no-model"]).output.split())
    assert (
        "1 cluster of rows whose inputs match (0 exact, 1 near) but whose responses differ; 1 more whose "
        "responses match too (the same example reworded, which the whole-example search did not join)"
    ) in out


# --- item 8: a suggestion only where the model prefers it to the row's own label --------------


def test_a_rare_class_is_suggested_only_when_it_beats_the_rows_own_label():
    # Class "rare" is given 0.03 on average to its own rows, so its threshold is 0.03: the
    # old rule suggested it for a row labelled "a" at p(a) 0.60 because p(rare) 0.05 >= 0.03.
    picked = pl.DataFrame(
        {"row": [0, 1, 2, 3], "key": ["k0", "k1", "k2", "k3"], "label": ["a", "a", "rare", "b"]},
        schema={"row": pl.UInt32, "key": pl.String, "label": pl.String},
    )
    probs = np.array(
        [
            [0.60, 0.35, 0.05],  # own label below its threshold (0.75), rare above its 0.03
            [0.90, 0.08, 0.02],
            [0.80, 0.17, 0.03],  # "a" above its threshold and far likelier: a real suspect
            [0.10, 0.85, 0.05],
        ]
    )
    scores, thresholds = _score(picked, probs, np.array([0, 0, 2, 1]), ["a", "b", "rare"])
    assert thresholds == {"a": 0.75, "b": 0.85, "rare": 0.03}
    assert scores["suggested"].to_list() == [None, None, "a", None]


# --- item 9: "other" is not out-of-scope on its name alone ----------------------------------------


def _support(i: int, label: str, answer: str) -> dict:
    return {
        "messages": [
            {"role": "user", "content": f"question number {i} about an order I placed last week"},
            {"role": "assistant", "content": answer},
        ],
        "label": label,
    }


def test_a_label_named_other_needs_out_of_scope_answers_or_the_persons_word(write_jsonl):
    rows = [_support(i, "other", f"Your order {i} ships tomorrow morning.") for i in range(62)]
    rows.append(_support(99, "billing", "I don't know."))  # the one out-of-scope answer
    rows += [_support(200 + i, "billing", f"Your invoice {i} is attached.") for i in range(30)]
    path = write_jsonl("other.jsonl", rows)
    ds = load([path])
    dup = find_duplicates(ds.rows)

    def ood(settings: CoverageSettings) -> tuple[int, str]:
        cov = find_coverage(ds, dup, NormalizeSettings(), NearSettings(), settings)
        line = next(x for x in cov.scorecard() if x.kind == "ood")
        return line.total, line.detail

    total, detail = ood(CoverageSettings(model=False))
    assert total == 1 and detail.startswith("by label name or an out-of-scope response: 1 by response")
    total, detail = ood(CoverageSettings(model=False, ood_labels=("other",)))
    assert total == 63 and "62 by named label ('other'); 1 by response" in detail
    # When most of its rows do answer out of scope, the name counts on its own.
    answering = [_support(i, "other", "Sorry, that is outside my scope.") for i in range(40)]
    ds = load([write_jsonl("other2.jsonl", answering + rows[-30:])])
    cov = find_coverage(
        ds, find_duplicates(ds.rows), NormalizeSettings(), NearSettings(), CoverageSettings(model=False)
    )
    line = next(x for x in cov.scorecard() if x.kind == "ood")
    assert line.total == 40 and "40 by label and responses ('other')" in line.detail


# --- items 6 and 7: balance rules that fit many classes; the label mix between splits --------


def _intents(classes: int, sizes: list[int], oos_train: int, oos_test: int) -> list[dict]:
    rows = []
    for c in range(classes):
        for i in range(sizes[c % len(sizes)]):
            split = "test" if i % 5 == 0 else "train"
            rows.append({"text": f"intent {c} request {i} words", "label": f"intent_{c}", "split": split})
    rows += [{"text": f"oos request {i}", "label": "oos", "split": "train"} for i in range(oos_train)]
    rows += [{"text": f"oos test request {i}", "label": "oos", "split": "test"} for i in range(oos_test)]
    return rows


def test_a_balanced_many_class_set_passes_and_a_skewed_split_mix_is_named(write_jsonl, tmp_path):
    # 150 intents of 150 rows and an out-of-scope class: 0.8% of train, 18.2% of test.
    path = write_jsonl("intents.jsonl", _intents(150, [150], oos_train=150, oos_test=1000))
    result = CliRunner().invoke(
        main, ["scan", str(path), "--no-near", "--no-coverage", "--json", str(tmp_path / "r.json")]
    )
    report = json.loads((tmp_path / "r.json").read_text())
    assert not [w for w in report["balance"]["warnings"] if "too few" in w]
    assert report["balance"]["label_mix_warnings"] == [
        "label 'oos' is 18.2% of test but 0.8% of train: the splits do not hold the same mix"
    ]
    assert "label 'oos' is 18.2% of test but 0.8% of train" in " ".join(result.output.split())
    gate = CliRunner().invoke(
        main, ["scan", str(path), "--no-near", "--no-coverage", "--fail-on", "imbalance"]
    )
    assert gate.exit_code == 0, gate.output
    # 77 intents at an imbalance ratio of 3.0: no label is rare either.
    skewed = write_jsonl("skewed.jsonl", _intents(77, [60, 20], oos_train=0, oos_test=0))
    gate = CliRunner().invoke(
        main, ["scan", str(skewed), "--no-near", "--no-coverage", "--fail-on", "imbalance"]
    )
    assert gate.exit_code == 0, gate.output
    # The manifest of splits kept from the input names the same mix.
    out = tmp_path / "out"
    split = CliRunner().invoke(main, ["split", str(path), "--no-near", "--no-coverage", "--out", str(out)])
    assert split.exit_code == 0, split.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        "label 'oos' is 18.2% of test but 0.8% of train: the splits do not hold the same mix"
        in manifest["warnings"]
    )


# --- item 12: keeping every row of a label conflict leaves it unresolved ----------------------


async def test_keep_all_on_a_conflict_stays_unresolved_in_the_manifest_and_the_write_dialog(
    write_jsonl, tmp_path
):
    rows = [
        {"id": "x1", "text": "how do I reset my password please", "label": "account"},
        {"id": "x2", "text": "How do I reset my password, please?", "label": "billing"},
    ]
    rows += [
        {"id": f"r{i}", "text": f"an ordinary question number {i} here", "label": "account"}
        for i in range(20)
    ]
    path = write_jsonl("conflict.jsonl", rows)
    app = make_app([path], tmp_path / "state", out=tmp_path / "out", group="")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f2", "x")  # keep all: both labels go out
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        body = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "label conflicts left unresolved: 1 (the same input goes out with different labels)" in body
        await pilot.press("enter")
        await settle(pilot)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    conflict = app.session.duplicates.conflicts["id"][0]
    assert manifest["unresolved_conflicts"] == [conflict]
    assert any(w.startswith("1 label-conflict clusters are unresolved") for w in manifest["warnings"])


# --- item 4: a gate on a check that did not run fails ---------------------------------------------


async def test_gates_on_checks_that_did_not_run_fail_closed(write_jsonl, tmp_path):
    path = write_jsonl("plain.jsonl", [{"text": f"a row of text number {i}"} for i in range(10)])
    result = CliRunner().invoke(
        main, ["scan", str(path), "--fail-on", "leakage,imbalance", "--json", str(tmp_path / "r.json")]
    )
    assert result.exit_code == 1
    lines = [" ".join(x.split()) for x in " ".join(result.output.split("\n")).split("failing: ")[1:]]
    assert lines == [
        "leakage was not checked (fewer than two splits and no --eval set); a gate on it cannot pass",
        "imbalance was not checked (no label field 'label' in the data (instruction data?)); "
        "a gate on it cannot pass",
    ]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["not_checked"]["leakage"] == "fewer than two splits and no --eval set"
    assert report["findings"]["leakage"] == 0  # zero found, and not checked: never "ok"
    assert "not checked: fewer than two splits and no --eval set" in " ".join(result.output.split())
    # The app's Leakage tab says the same instead of "No leakage found.".
    app = make_app([path], tmp_path / "state", out=tmp_path / "out", group="")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        shown = " ".join(app.query_one("#leak-detail").text.split())  # wrapped at the pane's width
        assert shown == "Leakage not checked: fewer than two splits and no --eval set."


def test_leakage_gate_fails_on_one_split_or_an_eval_set_with_lines_set_aside(write_jsonl, tmp_path):
    # Both passed with "leakage ok 0 hits": train.jsonl alone compares nothing, and an
    # eval item on a broken line was never looked for.
    rows = [{"text": f"a training row about topic {i} and more", "label": "ab"[i % 2]} for i in range(12)]
    train = write_jsonl("train.jsonl", rows)
    alone = CliRunner().invoke(main, ["scan", str(train), "--fail-on", "leakage"])
    assert alone.exit_code == 1
    assert "leakage was not checked (fewer than two splits and no --eval set)" in " ".join(
        alone.output.split()
    )
    evals = tmp_path / "eval.jsonl"
    evals.write_text('{"text": "an unrelated eval item"}\n{"text": "What is the capital of France?",}\n')
    broken = CliRunner().invoke(
        main,
        [
            "scan",
            str(train),
            "--eval",
            str(evals),
            "--fail-on",
            "leakage",
            "--json",
            str(tmp_path / "r.json"),
        ],
    )
    assert broken.exit_code == 1
    reason = "invalid JSON: trailing comma is not allowed: line 1 column 42 (char 41)"
    why = "1 eval record was set aside, so they were not checked for contamination; first eval.jsonl:2: "
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["not_checked"]["leakage"] == why + reason
    # Each record set aside is listed with its file, line and reason, as the inputs' are.
    aside = [{"file": "eval.jsonl", "line": 2, "reason": reason, "excluded": True}]
    assert report["leakage"]["eval_set_aside"] == aside


def test_reference_records_set_aside_are_listed_with_file_line_and_reason(write_jsonl, tmp_path):
    rows = [{"text": f"a training prompt about topic {i} and more", "label": "ab"[i % 2]} for i in range(60)]
    train = write_jsonl("train.jsonl", rows)
    ref = tmp_path / "ref.jsonl"
    ref.write_text("".join(f'{{"text": "a reference prompt {i} here"}}\n' for i in range(60)) + "not json\n")
    out = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["scan", str(train), "--reference", str(ref), "--json", str(out)])
    assert result.exit_code == 0, result.output
    reason = "invalid JSON: invalid literal, expected 'null': line 1 column 1 (char 0)"
    rep = json.loads(out.read_text())["representativeness"]
    assert rep["reference_bad_lines"] == 1
    assert rep["reference_set_aside"] == [
        {"file": "ref.jsonl", "line": 61, "reason": reason, "excluded": True}
    ]
    said = " ".join(result.output.split())
    assert f"1 of 61 records of reference ref.jsonl was set aside (first: line 61: {reason})" in said


def test_too_few_reference_prompts_names_a_record_set_aside_not_a_notice(write_jsonl, tmp_path):
    rows = [{"text": f"a training prompt about topic {i} and more", "label": "ab"[i % 2]} for i in range(60)]
    train = write_jsonl("train.jsonl", rows)
    ref = tmp_path / "ref.jsonl"
    ref.write_bytes(b"\xef\xbb\xbf" + b"".join(b'{"text": "ref %d"}\n' % i for i in range(5)) + b"bad\n")
    out = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["scan", str(train), "--reference", str(ref), "--json", str(out)])
    assert result.exit_code == 0, result.output
    warning = json.loads(out.read_text())["representativeness"]["warnings"][0]
    assert "; 1 reference line set aside, first ref.jsonl:6: invalid JSON: unexpected character" in warning
    assert "byte order mark" not in warning


def test_representativeness_gate_fails_when_too_few_rows_to_profile(write_jsonl, tmp_path):
    path = write_jsonl(
        "few.jsonl", [{"text": f"a short prompt number {i}", "label": "ab"[i % 2]} for i in range(3)]
    )
    result = CliRunner().invoke(main, ["scan", str(path), "--fail-on", "representativeness"])
    assert result.exit_code == 1  # "representative ok" before, from no rule that could run
    assert (
        "representativeness was not checked (no --reference, and fewer than 50 rows to profile)"
        in " ".join(result.output.split())
    )


def test_imbalance_gate_fails_on_a_single_label(write_jsonl, tmp_path):
    path = write_jsonl("one.jsonl", [{"text": f"row {i} of one class here", "label": "a"} for i in range(60)])
    result = CliRunner().invoke(main, ["scan", str(path), "--fail-on", "imbalance", "--no-near"])
    assert result.exit_code == 1  # balance "ok" before: nothing to classify passed the gate
    assert (
        "imbalance was not checked (only one label ('a'): no balance between labels to measure)"
        in " ".join(result.output.split())
    )


def test_the_summary_never_says_near_when_near_was_not_searched(write_jsonl, tmp_path):
    rows = [{"text": "one and the same row", "label": "a"}] * 4 + [{"text": "another row", "label": "b"}]
    path = write_jsonl("d.jsonl", rows)
    off = " ".join(CliRunner().invoke(main, ["scan", str(path), "--no-near"]).output.split())
    assert "(1 exact; near duplicates not searched)" in off and "near at Jaccard" not in off
    report, same = tmp_path / "r.json", write_jsonl("same.jsonl", rows[:4])
    CliRunner().invoke(main, ["scan", str(same), "--json", str(report)])
    [near] = [a for a in json.loads(report.read_text())["analyses"] if a["name"] == "near duplicates"]
    assert near["ran"] is False and near["detail"] == "fewer than two distinct texts to compare"


def test_no_coverage_still_lists_representativeness_among_the_analyses(write_jsonl, tmp_path):
    path = write_jsonl(
        "d.jsonl", [{"text": f"row {i} about things", "label": "ab"[i % 2]} for i in range(60)]
    )
    report = tmp_path / "r.json"
    CliRunner().invoke(main, ["scan", str(path), "--no-coverage", "--no-near", "--json", str(report)])
    names = [a["name"] for a in json.loads(report.read_text())["analyses"]]
    assert "hard data" in names and "representativeness" in names  # it ran and gated, unlisted


def test_templates_gate_fails_with_fewer_replies_than_a_template_needs(write_jsonl, tmp_path):
    rows = [
        {"messages": [{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": "ok"}]}
        for i in range(3)
    ]
    path = write_jsonl("few.jsonl", rows)
    result = CliRunner().invoke(main, ["scan", str(path), "--fail-on", "templates", "--template-min", "5"])
    assert result.exit_code == 1  # "templates ok" before: 3 replies can hold no template of 5
    assert "templates was not checked (3 replies, fewer than the 5 a template is given to)" in " ".join(
        result.output.split()
    )


# --- item 5: eval contamination is about the eval input, not shared templates ---------------------


def test_eval_contamination_ignores_template_answers_and_catches_pasted_questions(write_jsonl):
    rng = np.random.default_rng(5)
    vocab = [f"w{i}" for i in range(3000)]
    template = (
        "Thank you for reaching out to our support team, we have logged your request and will reply soon."
    )

    def question(n: int = 16) -> str:
        return " ".join(rng.choice(vocab, n))

    evals = [question() for _ in range(40)]
    train, contaminated = [], set()
    for i in range(300):
        prompt = question(20)
        if i < 20:  # an eval question copied, or pasted into a longer prompt
            prompt = evals[i] if i % 2 else f"{question(8)} {evals[i]} {question(8)}"
            contaminated.add(f"t{i}")
        train.append({"id": f"t{i}", "prompt": prompt, "completion": template})
    gold = [{"id": f"e{j}", "prompt": q, "completion": template} for j, q in enumerate(evals)]
    hits = eval_leakage(
        load([write_jsonl("t.jsonl", train)]).rows, None, load([write_jsonl("g.jsonl", gold)])
    )
    flagged = set(hits["key"].to_list())
    precision = len(flagged & contaminated) / max(len(flagged), 1)
    recall = len(flagged & contaminated) / len(contaminated)
    assert precision >= 0.8 and recall >= 0.9, (precision, recall)
    pasted = hits.filter(pl.col("key") == "t0").row(0, named=True)
    assert (pasted["kind"], pasted["side"], pasted["eval_key"]) == ("ngram", "input", "e0")
    assert pasted["coverage"] == 1.0  # every 13-gram of the 16-word question


# --- item 10: a near conflict decided by one word can be marked a hard negative ----------------


def _near_conflict_rows() -> list[dict]:
    """A near conflict on the example side: "b" says "slow" where "a" says "fast", under
    another label; unrelated rows around them."""
    said = "the customer asks about a refund for order 0 and wants {} help with the shipping details today"
    rows = [
        {"id": "a", "text": said.format("fast"), "label": "billing"},
        {"id": "b", "text": said.format("slow"), "label": "shipping"},
    ]
    rows += [{"id": f"u{i}", "text": f"unrelated question {i} about topic {i * 7} here", "label": "other"}
             for i in range(30)]  # fmt: skip
    return rows


async def test_a_hard_negative_cluster_shows_and_reopens_without_a_crash(tmp_path, write_jsonl):
    # Pressing h on an example-side near conflict ended the app with a traceback
    # ("'hard negative' is not in list": the decision was read as a keeper's key), and
    # every later start crashed the same way once the journal held it.
    from sfttui.tui.tabs.duplicates import DuplicatesTab

    path = write_jsonl("near.jsonl", _near_conflict_rows())
    for start in range(2):
        app = make_app([path], tmp_path / "state", out=tmp_path / "out", group="")
        async with app.run_test(size=(160, 50), notifications=True) as pilot:
            await settle(pilot)
            near = app.session.duplicates.clusters.filter(pl.col("members").list.contains("a"))
            assert near.select("kind", "side", "conflict").row(0) == ("near", "example", True)
            await pilot.press("f2")
            tab = app.query_one(DuplicatesTab)
            tab.clusters.cursor_row = tab._at[near["id"][0]]
            if start == 0:
                await settle(pilot)
                await pilot.press("h")
            await redrawn(pilot)
            assert app.session.cluster_state(near["id"][0]) == "hard negative"
            shown = " ".join(app.query_one("#dup-detail").text.split())
            assert "near cluster" in shown and "(dropped)" not in shown
            assert app.session.plan().dropped.height == 0


async def test_a_near_cluster_holding_an_exact_conflict_is_not_a_hard_negative(tmp_path, write_jsonl):
    # "c" is "a" word for word under another label: no word decides it, so the cluster
    # holds a labelling error, and h kept both rows in train as a hard negative.
    rows = _near_conflict_rows()
    rows.insert(1, {"id": "c", "text": rows[0]["text"], "label": "shipping"})
    app = make_app([write_jsonl("mixed.jsonl", rows)], tmp_path / "state", out=tmp_path / "out", group="")
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        await settle(pilot)
        near = app.session.duplicates.clusters.filter(pl.col("members").list.contains("a"))
        assert near.select("kind", "size", "conflict").row(0) == ("near", 3, True)
        with pytest.raises(ValueError, match="the same text under two labels"):
            app.session.mark_hard_negative(near["id"][0])
        assert near["id"][0] in app.session.plan().unresolved_conflicts


async def test_a_near_conflict_holding_one_input_twice_does_not_offer_h(tmp_path):
    # The detail said "inputs differ in: afternoon good ↔ hey · h marks it a hard
    # negative", and `h` then refused: two of its members are one input, two labels.
    from sfttui.cli import demo_path
    from sfttui.tui.tabs.duplicates import DuplicatesTab

    app = make_app([demo_path()], tmp_path / "state", out=tmp_path / "out")
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        await settle(pilot)
        s = app.session
        near = s.duplicates.clusters.filter(pl.col("conflict") & (pl.col("kind") == "near"))["id"].to_list()
        mixed = [c for c in near if s.duplicates.copies_disagree(c, s.dataset.rows["label"])]
        assert mixed and len(mixed) < len(near)
        await pilot.press("f2")
        tab = app.query_one(DuplicatesTab)
        tab.clusters.cursor_row = tab._at[mixed[0]]
        await settle(pilot)
        shown = " ".join(app.query_one("#dup-detail").text.split())
        assert "h marks it a hard negative" not in shown
        side = "input" if s.cluster(mixed[0])["side"] == "input" else "text"
        said = (
            f"this cluster holds the same {side} under two labels: no word decides it, so it stays a conflict"
        )
        assert said in shown and "- ↔ -" not in shown
        await pilot.press("h")
        await settle(pilot)
        assert [n.message for n in app._notifications][-1].endswith(said)
        assert s.journal.effective() == []


async def test_a_near_conflict_can_be_marked_a_hard_negative_and_counts_on_the_scorecard(tmp_path):
    from sfttui.cli import demo_path
    from sfttui.tui.tabs.duplicates import DuplicatesTab

    app = make_app([demo_path()], tmp_path / "state", out=tmp_path / "out")
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        await settle(pilot)
        clusters = app.session.duplicates.clusters
        near = clusters.filter(pl.col("members").list.contains("t02634"))["id"][0]
        exact = clusters.filter(pl.col("conflict") & (pl.col("kind") == "exact"))["id"][0]
        before = next(
            x
            for x in app.session.coverage.scorecard(None, app.session.marked_hard_negatives())
            if x.kind == "hard_negatives"
        ).total
        await pilot.press("f2")
        tab = app.query_one(DuplicatesTab)
        tab.clusters.cursor_row = tab._at[near]
        await settle(pilot)
        assert "inputs differ in: fix ↔ return" in " ".join(app.query_one("#dup-detail").text.split())
        await pilot.press("h")
        await settle(pilot)
        assert app.session.journal.effective()[-1].action == "hard_negative"
        assert app.session.resolution().hard_negatives == {"t02634", "t02635"}
        after = next(
            x
            for x in app.session.coverage.scorecard(None, app.session.marked_hard_negatives())
            if x.kind == "hard_negatives"
        ).total
        assert after == before + 2
        assert near not in app.session.plan().unresolved_conflicts
        # An exact conflict (the same input under two labels) stays a conflict.
        tab.clusters.cursor_row = tab._at[exact]
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        assert app.session.journal.effective()[-1].action == "hard_negative"  # nothing new
        assert [n.message for n in app._notifications][-1].startswith("only a near label conflict can be")


def test_every_fail_on_kind_is_counted_and_one_that_did_not_run_is_never_a_pass(write_jsonl):
    """Each --fail-on kind has one count; an analysis that did not run is "not checked" for
    its kind even when it gives no reason, so a gate on it cannot pass."""
    from dataclasses import replace

    from sfttui.engine.settings import FAIL_KINDS

    topics = ["billing", "shipping", "refunds", "passwords"]
    rows = [{"text": f"row {i} about {topics[i % 4]}", "label": "ab"[i % 4 // 2]} for i in range(40)]
    result = run_scan([write_jsonl("d.jsonl", rows)])
    assert result.coverage.model.ran  # the labels follow the topic: the model learns them
    assert tuple(findings(result)) == FAIL_KINDS
    assert "coverage" not in not_checked(result) and "drift" in not_checked(result)
    silent = replace(result, coverage=replace(result.coverage, ran=False, reason=""))
    assert not_checked(silent)["coverage"] == ""
    assert list(not_checked(silent)) == [k for k in FAIL_KINDS if k in not_checked(silent)]


def test_exact_copies_inside_near_clusters_are_counted_as_the_split_drops_them(write_jsonl, tmp_path):
    # The scan said "(0 exact, 1 near)" for a cluster holding three copies of one text
    # and a near variant, while the split then dropped two rows as exact duplicates
    # (no label conflict and no decision here: the split drops every copy).
    base = "please help me reset the password on my account, the link in the email has expired again"
    rows = [{"text": base, "label": "a"} for _ in range(3)]
    rows.append({"text": base.replace("again", "twice"), "label": "a"})
    others = ["where is my parcel", "can I pay by card", "do you ship abroad", "what sizes exist"]
    rows += [{"text": text, "label": "b"} for text in others]
    path = write_jsonl("rows.jsonl", rows)
    out = tmp_path / "r.json"
    scan = CliRunner().invoke(main, ["scan", str(path), "--json", str(out)])
    dup = json.loads(out.read_text())["duplicates"]
    assert (dup["exact_clusters"], dup["near_clusters"]) == (0, 1)
    assert (dup["exact_copy_rows"], dup["exact_copy_groups"]) == (2, 1)
    said = " ".join(scan.output.split())
    assert "(0 of exact copies only, 1 with near duplicates at Jaccard ≥ 0.8; 2 rows copy another" in said
    assert "exactly, in 1 group)" in said
    split = CliRunner().invoke(
        main, ["split", str(path), "--out", str(tmp_path / "out"), "--state-dir", str(tmp_path / "st")]
    )
    assert split.exit_code == 0, split.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["counts"]["dropped_by"] == {"exact duplicate": dup["exact_copy_rows"]}


def test_a_reference_sample_mostly_set_aside_leaves_representativeness_not_checked(write_jsonl, tmp_path):
    # 91% of the reference's records were bad lines, and `--fail-on representativeness`
    # passed on the comparison with the few left.
    rng = np.random.default_rng(8)
    words = [f"w{k}" for k in range(60)]
    texts = [" ".join(rng.choice(words, 10)) for _ in range(180)]
    rows = [{"text": t, "label": "ab"[i % 2]} for i, t in enumerate(texts[:120])]
    train = write_jsonl("train.jsonl", rows)
    ref = tmp_path / "ref.jsonl"
    good = "".join(json.dumps({"text": t}) + "\n" for t in texts[120:])
    ref.write_text(good)
    args = ["scan", str(train), "--reference", str(ref), "--fail-on", "representativeness", "--json", "-"]
    whole = CliRunner().invoke(main, args)
    assert whole.exit_code == 0, whole.output
    ref.write_text(good + "".join(f'{{"text": "a prompt {i} cut short"\n' for i in range(61)))
    mostly = CliRunner().invoke(main, args)
    assert mostly.exit_code == 1
    report = json.loads(mostly.stdout)
    assert report["findings"]["representativeness"] == 0
    assert report["not_checked"]["representativeness"] == (
        "most of the reference sample ref.jsonl was set aside: 61 of 121 records are bad lines, so the "
        "comparison stands on the few left"
    )
    ref.write_text("\n" + good.replace("\n", "\n\n"))  # spaced out with blank lines: nothing lost
    spaced = CliRunner().invoke(main, args)
    assert spaced.exit_code == 0, spaced.output


def test_a_reference_whose_reading_stopped_says_what_was_not_read(write_jsonl, tmp_path):
    rows = [
        {"text": f"how do I reset the password of account {i} today", "label": "ab"[i % 2]} for i in range(80)
    ]
    train = write_jsonl("train.jsonl", rows)
    # 30 prompts like the training ones, then 400 lines never read: most of the sample.
    ref = stopped_csv(tmp_path / "ref.csv", [r["text"] for r in rows[:30]], 400)
    out = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["scan", str(train), "--reference", str(ref), "--json", str(out)])
    said = " ".join(result.output.split())
    assert "1 of 31 records of reference ref.csv was set aside and its last 400 lines were not read" in said
    report = json.loads(out.read_text())
    # What was read matched the training prompts; that is no "ok" for a sample mostly unread.
    assert report["representativeness"]["warnings"] == []
    assert report["not_checked"]["representativeness"] == (
        "most of the reference sample ref.csv was set aside: 1 of 31 records is a bad line and its last 400 "
        "lines were not read (a record there stopped the reading), so the comparison stands on the few left"
    )
    few = stopped_csv(tmp_path / "few.csv", ["one reference prompt", "another one"], 50)
    result = CliRunner().invoke(main, ["scan", str(train), "--reference", str(few), "--json", str(out)])
    warning = json.loads(out.read_text())["representativeness"]["warnings"][0]
    assert (
        "; 1 reference line set aside and 50 more not read after a record that stopped the reading" in warning
    )


def test_an_eval_set_whose_reading_stopped_says_what_was_not_read(write_jsonl, tmp_path):
    train = write_jsonl("train.jsonl", [{"text": f"training prompt number {i}"} for i in range(10)])
    gold = stopped_csv(tmp_path / "gold.csv", ["an eval question", "another eval question"], 25)
    result = CliRunner().invoke(main, ["scan", str(train), "--eval", str(gold)])
    said = " ".join(result.output.split())
    assert (
        "1 of 3 records of eval set gold.csv was set aside and its last 25 lines were not read (a record "
        "there stopped the reading): those items are not checked for contamination"
    ) in said
    # The table of files read says it on the eval set's own row, as the app's Overview does.
    assert re.search(r"eval: gold\.csv +\S+ +2 +1 \+ 25 lines unread", result.output)

"""Eval contamination: exact, near and long n-gram hits, each row matched to the eval item it leaks."""

from __future__ import annotations

import json
import random

import polars as pl
import pytest
from click.testing import CliRunner

from sfttui.cli import main
from sfttui.engine.analyses.dedup import Duplicates
from sfttui.engine.analyses.leakage import eval_leakage, split_leakage
from sfttui.engine.io.load import load
from sfttui.engine.settings import LeakageSettings, NearSettings, NormalizeSettings

from .conftest import jaccard, word_shingles

_VOCAB = [f"w{i}" for i in range(500)]


def _words(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(_VOCAB) for _ in range(n)]


def test_eval_hits_of_every_kind_name_the_training_row_and_the_eval_item(write_jsonl):
    rng = random.Random(8)
    copied, reworded, pasted, short = _words(rng, 30), _words(rng, 30), _words(rng, 15), _words(rng, 9)
    near = list(reworded)
    near[17] = "changed"
    train = {
        "t1": copied,
        "t2": reworded,
        "t3": _words(rng, 12) + pasted + _words(rng, 12),  # an eval question pasted inside
        "t4": _words(rng, 10) + short + _words(rng, 10),  # a short eval item, matched whole
        "t5": _words(rng, 30),
    }
    evals = {"e1": copied, "e2": near, "e3": pasted, "e4": short, "e5": _words(rng, 30)}
    data = write_jsonl("train.jsonl", [{"id": k, "text": " ".join(w)} for k, w in train.items()])
    gold = write_jsonl("gold.jsonl", [{"id": k, "text": " ".join(w)} for k, w in evals.items()])
    hits = eval_leakage(
        load([data]).rows, None, load([gold]), NormalizeSettings(), NearSettings(), LeakageSettings()
    )
    got = {(h["key"], h["eval_key"]): (h["kind"], h["side"]) for h in hits.iter_rows(named=True)}
    # An eval item without a response is all input: every hit on it is an input hit (a
    # near one said "example").
    assert got == {
        ("t1", "e1"): ("exact", "input"),
        ("t2", "e2"): ("near", "input"),
        ("t3", "e3"): ("ngram", "input"),
        ("t4", "e4"): ("ngram", "input"),
    }
    by_pair = {(h["key"], h["eval_key"]): h for h in hits.iter_rows(named=True)}
    expected_j = jaccard(word_shingles(" ".join(reworded)), word_shingles(" ".join(near)))
    assert abs(by_pair[("t2", "e2")]["similarity"] - expected_j) < 1e-9
    assert by_pair[("t3", "e3")]["shared_ngrams"] == 3  # 15 words hold three 13-grams
    assert by_pair[("t3", "e3")]["coverage"] == 1.0  # all of them
    assert by_pair[("t4", "e4")]["shared_ngrams"] == 1


def test_shared_boilerplate_neither_blows_up_nor_hides_true_eval_pairs():
    import polars as pl

    from sfttui.engine.analyses.dedup import cross_pairs

    # Every text opens with the same 40 words, so one LSH bucket per band holds most of
    # both sides: joining it whole cost ~10 GB at 20k x 1k texts. Such buckets are left
    # out, and the real near copies still meet in the bands where they alone collide.
    rng = random.Random(2)
    boiler = " ".join(f"b{i}" for i in range(40))
    left = [f"{boiler} {' '.join(_words(rng, 12))}" for _ in range(2000)]
    right = []
    for i in range(0, 100, 5):
        words = left[i].split()
        words[-1] = "changed"
        right.append(" ".join(words))
    right += [f"{boiler} {' '.join(_words(rng, 12))}" for _ in range(80)]
    pairs = cross_pairs(pl.Series(left), pl.Series(right), NearSettings())
    assert {(a, b) for a, b in pairs.select("a", "b").rows()} >= {(i, i // 5) for i in range(0, 100, 5)}
    assert pairs.filter(pl.col("b") < 20)["jaccard"].min() >= 0.8


def test_eval_matching_reuses_the_duplicate_analysis_signatures_only_when_they_fit(write_jsonl):
    """The near-duplicate passes' band keys stand in for signing the training texts again:
    same hits with them as without, and they are refused for other LSH settings."""
    from dataclasses import replace

    import numpy as np
    import polars as pl

    from sfttui.engine.analyses.dedup import find_duplicates
    from sfttui.engine.text.minhash import Shingling

    rng = random.Random(4)
    base = [_words(rng, 25) for _ in range(300)]
    train = [" ".join(w) for w in base] + [" ".join([*base[i][:-1], "other"]) for i in range(0, 300, 7)]
    evals = [" ".join([*base[i][:-2], "x", "y"]) for i in range(0, 300, 11)]
    data = write_jsonl("train.jsonl", [{"text": t} for t in train])
    gold = write_jsonl("gold.jsonl", [{"text": t} for t in evals])
    rows, eval_set = load([data]).rows, load([gold])
    dup = find_duplicates(rows)
    plain = eval_leakage(rows, None, eval_set)
    reused = eval_leakage(rows, None, eval_set, distinct=dup.distinct, signatures=dup.signatures)
    assert reused.equals(plain)
    # Each eval item is near its source row, and also near that row's variant where one exists.
    variants = sum(1 for i in range(0, 300, 11) if i % 7 == 0)
    assert plain.filter(pl.col("kind") == "near").height == len(evals) + variants
    distinct = dup.distinct.texts
    assert len(distinct) == len(set(train))
    word = Shingling("word", NearSettings().word_ngram)
    ids = np.arange(len(distinct))
    assert dup.signatures.lookup(distinct, word, NearSettings(), ids) is not None
    assert dup.signatures.lookup(distinct, word, replace(NearSettings(), threshold=0.5), ids) is None
    assert dup.signatures.lookup(distinct.slice(0).reverse(), word, NearSettings(), ids) is None


def test_exact_input_hits_are_the_same_with_or_without_the_input_analysis(write_jsonl):
    """Chat rows whose user turn is an eval item's, with another answer: an exact input
    hit, whether the input side's distinct prompts are handed over or found here."""
    import polars as pl

    from sfttui.engine.analyses.dedup import find_duplicates

    rng = random.Random(6)

    def chat(user: str, answer: str) -> dict:
        turns = [("system", "Be brief."), ("user", user), ("assistant", answer)]
        return {"messages": [{"role": r, "content": c} for r, c in turns]}

    asked = [" ".join(_words(rng, 10)) for _ in range(40)]
    train = [chat(q, " ".join(_words(rng, 6))) for q in asked]
    evals = [chat(asked[i].upper(), "another answer entirely") for i in (3, 17, 29)]  # casefolded
    evals.append(chat(" ".join(_words(rng, 10)), "unrelated"))
    rows = load([write_jsonl("train.jsonl", train)]).rows
    eval_set = load([write_jsonl("gold.jsonl", evals)])
    inputs = find_duplicates(rows, side="input").distinct
    here = eval_leakage(rows, None, eval_set).filter(pl.col("kind") == "exact")
    given = eval_leakage(rows, None, eval_set, inputs=inputs).filter(pl.col("kind") == "exact")
    assert here.equals(given)
    assert sorted(zip(here["key"], here["eval_key"], here["side"])) == [
        ("train.jsonl:18", "gold.jsonl:2", "input"),
        ("train.jsonl:30", "gold.jsonl:3", "input"),
        ("train.jsonl:4", "gold.jsonl:1", "input"),
    ]


def _reference_group_hits(rows: list[dict]) -> set[tuple]:
    """Per group value seen in several splits: its anchor (earliest split, then first
    row) against each row of it in another split."""
    order = {"train": 0, "validation": 1, "test": 2}
    by_group: dict[str, list[dict]] = {}
    for r in rows:
        for g in set(r["groups"] or []) - {None}:
            if r["split"] is not None:
                by_group.setdefault(g, []).append(r)
    out = set()
    for g, members in by_group.items():
        if len({m["split"] for m in members}) > 1:
            anchor = min(members, key=lambda m: (order.get(m["split"], 3), m["row"]))
            out |= {
                (anchor["split"], anchor["key"], m["split"], m["key"], g)
                for m in members
                if m["split"] != anchor["split"]
            }
    return out


def test_group_hits_between_splits_match_a_brute_force_count():
    # Rows hold 0-3 group values (some null, some lists null); a few rows have no split.
    # Only groups seen in several splits are hits, each row against its group's anchor.
    rng = random.Random(7)
    splits = ["train", "validation", "test", None]
    rows = []
    for i in range(400):
        held = (
            None
            if i % 37 == 0
            else [rng.choice([f"u{rng.randrange(60)}", None]) for _ in range(rng.randrange(4))]
        )
        # Most groups stay in one split, as a grouped plan leaves them; some do not.
        split = (
            splits[rng.randrange(4)]
            if i % 5 == 0
            else ("train" if ((held and held[0]) or "").endswith("7") else "test")
        )
        rows.append({"row": i, "key": f"k{i}", "groups": held, "split": split})
    frame = pl.DataFrame(
        rows, schema={"row": pl.UInt32, "key": pl.String, "groups": pl.List(pl.String), "split": pl.String}
    )
    no_duplicates = Duplicates(*[pl.DataFrame()] * 4)
    hits = split_leakage(frame, frame["split"], no_duplicates)
    assert set(hits["kind"]) == {"group"}
    got = set(hits.select("split_a", "key_a", "split_b", "key_b", "detail").iter_rows())
    expected = _reference_group_hits(rows)
    assert len(expected) > 50 and got == expected


def test_split_rank_orders_the_three_splits_then_any_other():
    from sfttui.engine.analyses.leakage import _rank

    named = pl.Series(["test", None, "train", "validation"], dtype=pl.String)
    assert _rank(named).to_list() == [2, None, 0, 1]
    other = pl.Series(["dev", "train", None, "test"], dtype=pl.String)
    assert _rank(other).to_list() == [3, 0, None, 2]


def test_an_ngram_many_eval_items_share_is_their_idiom_not_a_leak(write_jsonl, tmp_path):
    # One factorial's 13 words sat in 61 answers of a code eval set: every training row
    # holding them counted a hit against each of the 61 (279 of 1,011 hits).
    idiom = "return one if n equals zero else return n times the factorial of n minus one"
    unique = "the quick brown fox jumps over the lazy dog while the farmer sleeps in the barn"
    train = write_jsonl(
        "train.jsonl",
        [{"text": f"write it this way: {idiom}"}, {"text": f"a story: {unique}"}]
        + [{"text": f"an unrelated training row number {i} about other things"} for i in range(10)],
    )
    evals = tmp_path / "eval.jsonl"
    items = [{"text": f"eval item {i} asks for a function; {idiom}"} for i in range(25)]
    items.append({"text": f"retell this: {unique} tonight"})
    evals.write_text("".join(json.dumps(x) + "\n" for x in items))
    out = tmp_path / "r.json"
    args = ["scan", str(train), "--eval", str(evals), "--no-near", "--json", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    hits = [h for h in report["leakage"]["eval"] if h["kind"] == "ngram"]
    assert [h["eval_key"] for h in hits] == ["eval.jsonl:26"]
    said = "left out as boilerplate (each in more than 20 training texts or eval items)"
    assert any(said in note for note in report["notes"])


def test_hits_are_listed_in_line_order_not_as_text(write_jsonl, tmp_path):
    # Row keys sorted as text: grp.jsonl:12, :15, ... :3, :30 in the Leakage tab and report.
    rng = random.Random(4)
    train = [" ".join(_words(rng, 14)) for _ in range(40)]
    rows = [{"text": t, "label": "a", "split": "train"} for t in train]
    for line, k in ((3, 35), (12, 36), (30, 37)):  # test copies of three training rows
        rows.insert(line - 1, {"text": train[k], "label": "a", "split": "test"})
    data = write_jsonl("g.jsonl", rows)
    gold = write_jsonl("e.jsonl", [{"text": train[k]} for k in (35, 36, 37)])
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        main, ["scan", str(data), "--eval", str(gold), "--no-near", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    leak = json.loads(out.read_text())["leakage"]
    assert [h["key_b"] for h in leak["between_splits"]] == ["g.jsonl:3", "g.jsonl:12", "g.jsonl:30"]
    keys = [h["key"] for h in leak["eval"] if h["eval_key"] == "e.jsonl:1"]
    assert keys == ["g.jsonl:3", "g.jsonl:39"]  # train[35] is on line 39


def test_a_short_code_answer_is_not_matched_inside_another_program(write_jsonl, tmp_path):
    # Matched whole with punctuation gone, `for i in range(1,11): print(i)` was "found" in
    # a response printing i * i (dfe7165, reverted): answers are matched by 13-grams only.
    train = [
        {
            "instruction": "Fix this code so it prints the squares of 1 to 10.",
            "input": "for i in range(1, 11): print(i + i)",
            "output": "for i in range(1, 11):\n    print(i * i)",
        }
    ] + [
        {"instruction": f"Explain topic {i} briefly.", "input": "", "output": f"Topic {i} is this."}
        for i in range(30)
    ]
    gold = [
        {
            "instruction": "Print the numbers 1 to 10.",
            "input": "",
            "output": "for i in range(1,11):\n    print(i)",
        }
    ]
    data, evals = write_jsonl("t.jsonl", train), write_jsonl("e.jsonl", gold)
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        main, ["scan", str(data), "--eval", str(evals), "--no-near", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["leakage"]["eval"] == []


@pytest.mark.parametrize("copies", [20, 21, 40])
def test_an_eval_question_pasted_into_many_training_texts_is_still_found(write_jsonl, tmp_path, copies):
    # Pasted into 21 training prompts, every one of its 13-grams was in more than 20
    # training texts, so all were "boilerplate": 20 copies failed --fail-on leakage,
    # 21 passed it.
    rng = random.Random(8)
    vocab = [f"c{i:04d}" for i in range(9000)]

    def words(n: int) -> list[str]:
        return [rng.choice(vocab) for _ in range(n)]

    question = words(30)
    rows = [{"text": " ".join(words(rng.randint(25, 40))), "label": "pq"[i % 2]} for i in range(600)]
    for i in range(copies):
        rows[i * 13]["text"] = " ".join(words(20) + question + words(20))
    # A template phrase every training text shares stays boilerplate: an eval item holding
    # it and words of its own is found by nothing.
    template = words(15)
    for row in rows:
        row["text"] = " ".join(template) + " " + row["text"]
    data = write_jsonl("d.jsonl", rows)
    gold = write_jsonl("e.jsonl", [{"text": " ".join(question)}, {"text": " ".join(template + words(20))}])
    out = tmp_path / "r.json"
    args = [
        "scan",
        str(data),
        "--eval",
        str(gold),
        "--no-near",
        "--no-model",
        "--no-coverage",
        "--json",
        str(out),
    ]
    args += ["--fail-on", "leakage"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    hits = json.loads(out.read_text())["leakage"]["eval"]
    assert sorted(int(h["key"].split(":")[1]) for h in hits) == [i * 13 + 1 for i in range(copies)]
    assert {(h["eval_key"], h["kind"], h["side"], h["coverage"]) for h in hits} == {
        ("e.jsonl:1", "ngram", "input", 1.0)
    }

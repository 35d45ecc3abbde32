"""Scans of the real public datasets in ../shared/data (skipped when they are absent)."""

from __future__ import annotations

import polars as pl
import pytest

from sfttui.engine.scan import run_scan

from .conftest import SHARED_DATA

pytestmark = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} not present")


def _scan(name: str):
    return run_scan([SHARED_DATA / name])


def test_tweeteval_hate_empty_tweets_and_label_conflicts():
    result = _scan("tweeteval_hate.jsonl")
    ds = result.dataset
    assert ds.inputs[0].records == 12970 and ds.rows.height == 12962
    assert ds.bad_lines["line"].to_list() == [1468, 1983, 3844, 6644, 6792, 7115, 8219, 9265]
    assert set(ds.bad_lines["reason"]) == {"field 'text' is empty"}
    assert result.balance.overall.counts == {"not-hate": 7500, "hate": 5462}
    assert set(result.balance.per_split) == {"train", "validation", "test"}
    # The same tweet labelled both ways: real conflicts in a public benchmark.
    assert result.duplicates.conflicts.height > 50
    # HatEval's test tweets were gathered apart from its training tweets, and it shows: a
    # classifier tells test from train (AUC 0.93 here), validation much less (0.72).
    drift = {s.split: s for s in result.drift.splits}
    assert drift["test"].auc > 0.85 and "does not look like train" in drift["test"].warnings[0]
    assert drift["validation"].auc < 0.8 and not drift["validation"].warnings


def test_trec_questions_reworded_are_near_duplicates():
    result = _scan("trec.jsonl")
    texts = dict(zip(result.dataset.rows["key"], result.dataset.rows["text"]))
    pairs = {(texts[a], texts[b]) for a, b in result.duplicates.pairs.select("a", "b").rows()}
    assert (
        "What 's the first day of the week ?",
        "What is the first day of the week ?",
    ) in pairs or (
        "What is the first day of the week ?",
        "What 's the first day of the week ?",
    ) in pairs
    assert result.dataset.rows.height == 5952


def test_instruction_data_has_no_label_checks():
    result = _scan("code_alpaca_2k.jsonl")
    assert result.dataset.inputs[0].format == "alpaca"
    assert not result.balance.applies
    skipped = {a.name for a in result.analyses if not a.ran}
    assert {"label conflicts", "class balance"} <= skipped


def test_two_code_alpaca_files_scan_together_and_report_empty_outputs():
    result = run_scan([SHARED_DATA / "code_alpaca_2k.jsonl", SHARED_DATA / "new_codealpaca.jsonl"])
    bad = result.dataset.bad_lines.select("file", "line", "reason").rows()
    assert bad == [
        ("code_alpaca_2k.jsonl", 238, "field 'output' is empty"),
        ("code_alpaca_2k.jsonl", 1860, "field 'output' is empty"),
    ]
    assert result.dataset.rows.height == 2015 + 4535
    assert [i.rows for i in result.dataset.inputs] == [2015, 4535]


def test_short_reference_answers_found_in_code_alpaca_match_a_brute_force_search():
    # Reference answers of 8 to 12 words (one-line queries and functions) matched whole
    # inside training texts, against a plain substring search on word boundaries.
    import json

    from sfttui.engine.settings import ScanSettings
    from sfttui.engine.text.normalize import normalize_texts

    gold = SHARED_DATA / "code_alpaca_2k.jsonl"
    result = run_scan([SHARED_DATA / "new_codealpaca.jsonl"], ScanSettings(eval_paths=(str(gold),)))
    rows = result.dataset.rows
    train = [f" {t} " for t in normalize_texts(rows["text"]).to_list()]
    keys = rows["key"].to_list()
    records = [json.loads(line) for line in gold.open(encoding="utf-8")]
    answers = normalize_texts(pl.Series([r["output"] for r in records])).to_list()
    expected = set()
    for line, answer in enumerate(answers, 1):
        if not 8 <= answer.count(" ") + 1 <= 12:
            continue
        holders = [i for i, t in enumerate(train) if f" {answer} " in t]
        if len({train[i] for i in holders}) <= 20:  # more is boilerplate
            expected |= {(f"code_alpaca_2k.jsonl:{line}", keys[i]) for i in holders}
    short = {f"code_alpaca_2k.jsonl:{n}" for n, a in enumerate(answers, 1) if 8 <= a.count(" ") + 1 <= 12}
    found = result.leakage.eval_found
    hits = found.filter((pl.col("kind") == "ngram") & (pl.col("side") == "answer"))
    got = {(e, k) for e, k in hits.select("eval_key", "key").rows() if e in short}
    assert len(expected) > 20 and got == expected
    assert ("code_alpaca_2k.jsonl:12", "new_codealpaca.jsonl:341") in got  # SELECT Name FROM Employees ...

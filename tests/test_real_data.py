"""Scans of the real public datasets in ../shared/data (skipped when they are absent)."""

from __future__ import annotations

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


def test_the_summary_says_ambiguous_rows_were_not_checked_without_the_label_model():
    # "hard data FAIL ... ambiguous n/a": n/a reads as "does not apply".
    from click.testing import CliRunner

    from sfttui.cli import main

    args = ["scan", str(SHARED_DATA / "trec.jsonl"), "--no-near", "--fail-on", "coverage"]
    off = " ".join(CliRunner().invoke(main, [*args, "--no-model"]).output.split())
    assert "ambiguous not checked · refusal n/a" in off
    on = " ".join(CliRunner().invoke(main, args).output.split())
    assert "ambiguous not checked" not in on and "refusal n/a" in on

"""Drift between the splits an input brings: planted drift is named, a random split is not."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from sfttui.cli import main
from sfttui.engine.analyses.drift import split_drift
from sfttui.engine.io.load import load
from sfttui.engine.settings import CoverageSettings

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
VERBS = ["write", "create", "build", "list", "sort", "print", "make", "find", "count", "show"]
NOUNS = ["function", "program", "table", "report", "script", "query", "page", "loop", "class", "file"]


def _commands(n: int, rng: random.Random) -> list[str]:
    return [
        f"{rng.choice(VERBS).capitalize()} a {rng.choice(NOUNS)} that takes the {rng.choice(NOUNS)} "
        f"and the {rng.choice(NOUNS)} as input."
        for _ in range(n)
    ]


def _questions(n: int, rng: random.Random) -> list[str]:
    return [
        f"why does my {rng.choice(NOUNS)} keep failing when i {rng.choice(VERBS)} it twice?" for _ in range(n)
    ]


def test_a_test_split_of_questions_beside_train_commands_is_named(write_jsonl):
    rng = random.Random(3)
    rows = [{"text": t, "label": "task", "split": "train"} for t in _commands(400, rng)]
    rows += [{"text": t, "label": "task", "split": "test"} for t in _questions(100, rng)]
    rows += [{"text": t, "label": "task", "split": "validation"} for t in _commands(100, rng)]
    drift = split_drift(load([str(write_jsonl("d.jsonl", rows))]), CoverageSettings())
    assert drift.ran and [s.split for s in drift.splits] == ["test", "validation"]
    test, validation = drift.splits
    assert test.auc is not None and test.auc > 0.95
    assert validation.auc is not None and validation.auc < 0.7 and validation.warnings == []
    assert any("the test split does not look like train" in w for w in test.warnings)
    assert "'contains a question mark': 100% of the test split's prompts, 0% of train's" in test.warnings
    # The test prompts the classifier is surest are not train's are listed.
    assert test.least_like is not None and test.least_like["text"][0].startswith("why does my")


def test_trecs_own_test_split_drifts_with_one_warning_said_in_the_singular():
    # TREC's test split is another set of questions than train's: one warning, which
    # the summary said as "1 warnings".
    path = DATA / "trec.jsonl"
    if not path.exists():
        pytest.skip("shared data not present")
    drift = split_drift(load([str(path)]), CoverageSettings())
    assert len(drift.warnings) == 1
    assert drift.summary().startswith("1 warning (test: AUC 0.")


def test_a_random_split_of_real_data_does_not_drift():
    path = DATA / "trec.jsonl"
    if not path.exists():
        pytest.skip("shared data not present")
    rng = random.Random(1)
    ds = load([str(path)])
    rows = ds.rows.with_columns(
        split=ds.rows["split"].map_elements(
            lambda _: "train" if rng.random() < 0.8 else "test", return_dtype=str
        )
    )
    ds.rows = rows
    drift = split_drift(ds, CoverageSettings())
    (test,) = drift.splits
    assert test.auc is not None and 0.4 < test.auc < 0.6
    assert test.warnings == []
    # New words a split brings by chance are measured, not taken for drift.
    assert test.unseen_token_share is not None and test.unseen_by_chance is not None
    assert abs(test.unseen_token_share - test.unseen_by_chance) < 0.1


def test_drift_is_in_the_report_and_gates_and_is_not_checked_without_splits(tmp_path, write_jsonl):
    rng = random.Random(5)
    rows = [{"text": t, "label": "task", "split": "train"} for t in _commands(200, rng)]
    rows += [{"text": t, "label": "task", "split": "test"} for t in _questions(60, rng)]
    data = write_jsonl("d.jsonl", rows)
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        main, ["scan", str(data), "--json", str(out), "--fail-on", "drift", "--no-coverage"]
    )
    assert result.exit_code == 1 and "failing: drift" in result.output
    report = json.loads(out.read_text())["drift"]
    assert report["ran"] and list(report["splits"]) == ["test"]
    assert (
        report["splits"]["test"]["auc"] > 0.95 and report["warnings"] == report["splits"]["test"]["warnings"]
    )
    plain = write_jsonl("p.jsonl", [{"text": t, "label": "task"} for t in _commands(50, rng)])
    result = CliRunner().invoke(main, ["scan", str(plain), "--fail-on", "drift", "--no-coverage"])
    assert result.exit_code == 1 and "no splits in the input" in result.output


def test_a_split_too_small_to_compare_is_not_checked_and_a_gate_on_it_fails(tmp_path, write_jsonl):
    # 19 questions as test against 200 commands as train: "split drift ok, each split
    # alike train (test: too few rows)", and `--fail-on drift` passed.
    rng = random.Random(6)
    rows = [{"text": t, "label": "task", "split": "train"} for t in _commands(200, rng)]
    rows += [{"text": t, "label": "task", "split": "test"} for t in _questions(19, rng)]
    out = tmp_path / "r.json"
    args = [
        "scan",
        str(write_jsonl("d.jsonl", rows)),
        "--json",
        str(out),
        "--fail-on",
        "drift",
        "--no-coverage",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "failing: drift was not checked" in result.output
    report = json.loads(out.read_text())
    assert report["not_checked"]["drift"] == "test: too few prompts to compare (19 test, 200 train)"
    assert "no split compared" in result.output and "each split alike" not in result.output

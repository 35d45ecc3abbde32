from __future__ import annotations

import math

import polars as pl
import pytest
from click.testing import CliRunner

from sfttui.cli import main
from sfttui.engine.analyses.balance import measure_balance
from sfttui.engine.settings import BalanceSettings


def _rows(labels, splits=None):
    return pl.DataFrame(
        {"label": labels, "split": splits or [None] * len(labels)},
        schema={"label": pl.String, "split": pl.String},
    )


def test_counts_baseline_ratio_entropy():
    bal = measure_balance(_rows(["spam"] * 95 + ["ham"] * 5))
    o = bal.overall
    assert o.counts == {"spam": 95, "ham": 5}
    assert o.majority_label == "spam"
    assert o.majority_baseline == pytest.approx(0.95)
    assert o.imbalance_ratio == pytest.approx(19.0)
    h = -(0.95 * math.log(0.95) + 0.05 * math.log(0.05)) / math.log(2)
    assert o.entropy == pytest.approx(h)
    assert bal.rare_labels == ["ham"]
    assert bal.warnings[0] == "imbalance ratio 19.0 ('spam' vs 'ham') is over 10"
    assert bal.warnings[1] == "label 'ham' has too few rows: 5 (5.0%), under 20 rows"


def test_thresholds_are_settable():
    bal = measure_balance(
        _rows(["a"] * 95 + ["b"] * 5),
        BalanceSettings(max_imbalance_ratio=20, min_label_count=5, min_fair_share=0.05),
    )
    assert bal.warnings == []


def test_per_split_mix_and_missing_labels():
    labels = ["a", "b", "a", "b", "a", "a"]
    splits = ["train", "train", "train", "train", "test", "test"]
    bal = measure_balance(_rows(labels, splits), BalanceSettings(min_label_count=1, min_fair_share=0))
    assert {k: v.counts for k, v in bal.per_split.items()} == {
        "test": {"a": 2},
        "train": {"a": 2, "b": 2},
    }
    assert bal.warnings == [
        "split 'test' has no rows of: b",
        "label 'a' is 100.0% of test but 50.0% of train: the splits do not hold the same mix",
        "label 'b' is 0.0% of test but 50.0% of train: the splits do not hold the same mix",
    ]
    assert bal.to_dict()["per_split"]["train"]["shares"] == {"a": 0.5, "b": 0.5}


def test_no_labels_says_it_does_not_apply():
    bal = measure_balance(_rows([None, None]))
    assert not bal.applies
    assert bal.to_dict() == {
        "applies": False,
        "reason": "no label field 'label' in the data (instruction data?)",
    }


def test_the_imbalance_gate_reads_kinds_not_words(write_jsonl, tmp_path):
    # A label whose name holds the words the gate once searched for ("too few") is missing
    # from the test split: a warning, but not an imbalance, so --fail-on imbalance passes.
    import json

    from click.testing import CliRunner

    from sfttui.cli import main

    rows = [
        {"text": f"row {i} about topic {i % 7}", "label": ["too few rows", "b"][i % 2], "split": "train"}
        for i in range(60)
    ]
    rows += [{"text": f"test row {i} on {i % 5}", "label": "b", "split": "test"} for i in range(20)]
    data = write_jsonl("d.jsonl", rows)
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        main, ["scan", str(data), "--no-near", "--json", str(out), "--fail-on", "imbalance"]
    )
    report = json.loads(out.read_text())
    assert "split 'test' has no rows of: too few rows" in report["balance"]["warnings"]
    assert report["findings"]["imbalance"] == 0
    assert result.exit_code == 0, result.output
    bal = measure_balance(_rows(["a"] * 95 + ["b"] * 5 + ["c"] * 30, ["train"] * 100 + ["test"] * 30))
    assert [(w.kind, w.labels) for w in bal.imbalance] == [
        ("imbalance_ratio", ("a", "b")),
        ("rare_label", ("b",)),
    ]
    assert [(w.kind, w.labels, w.split) for w in bal.warnings] == [
        ("imbalance_ratio", ("a", "b"), None),
        ("rare_label", ("b",), None),
        ("missing_in_split", ("a", "b"), "test"),
        ("missing_in_split", ("c",), "train"),
        ("label_mix", ("a",), "test"),
        ("label_mix", ("b",), "test"),
        ("label_mix", ("c",), "test"),
    ]


def test_a_label_field_that_is_not_in_the_data_is_named(write_jsonl):
    # --label-field nope said "no label field in the data", never naming the field asked for.
    path = write_jsonl("d.jsonl", [{"text": f"row {i}", "label": "a"} for i in range(5)])
    result = CliRunner().invoke(main, ["scan", str(path), "--label-field", "nope", "--no-near"])
    assert "no label field 'nope' in the data" in " ".join(result.output.split())

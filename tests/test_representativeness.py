"""Representativeness: the training prompts' profile, and how they compare with production inputs."""

from __future__ import annotations

import json
import random

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from sfttui.cli import main
from sfttui.engine.analyses.representativeness import compare, length_shift, profile, vocabulary
from sfttui.engine.errors import InputError
from sfttui.engine.io.load import load
from sfttui.engine.settings import CoverageSettings, LoadSettings

from .conftest import SHARED_DATA


def _prompts(texts: list[str], turns: list[int] | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "key": [str(i) for i in range(len(texts))],
            "label": [None] * len(texts),
            "turns": turns or [1] * len(texts),
            "p": texts,
        },
        schema_overrides={"turns": pl.UInt16, "label": pl.String},
    )


def test_profile_counts_each_character_feature():
    p = profile(
        _prompts(["Hello there.", "what is this", "Price is 5 dollars!", "see https://x.io 😀"], [1, 2, 1, 1])
    )
    assert p.shares == {
        "capitalised": 0.5,
        "final_punctuation": 0.5,
        "all_lowercase": 0.5,
        "question_mark": 0.0,
        "digits": 0.25,
        "url": 0.25,
        "emoji": 0.25,
        "non_ascii": 0.25,
    }
    assert p.multi_turn == 0.25 and p.words["median"] == 3.0


def test_vocabulary_share_of_reference_words_unseen_in_training():
    token_share, type_share, top = vocabulary(_prompts(["A b c", "c b"]), _prompts(["a D d", "b"]))
    assert (token_share, type_share, top) == (0.5, 1 / 3, [("d", 2)])


def test_length_shift_is_zero_for_the_same_distribution_and_large_for_another():
    rng = np.random.default_rng(0)
    same = rng.integers(5, 40, 5000).astype(float)
    edges, train, ref, psi = length_shift(same, same.copy())
    assert psi == 0.0 and train == ref and len(edges) == 9
    _, _, _, shifted = length_shift(same, same * 3)
    assert shifted > 1.0


def _support(rng: random.Random, tidy: bool) -> str:
    topic = rng.choice(["order", "parcel", "refund", "invoice", "password", "camera", "hub", "bulb"])
    verb = rng.choice(["track", "cancel", "change", "reset", "return", "fix", "update"])
    if tidy:
        return f"Hello, could you please help me {verb} my {topic}? I ordered it on {rng.randint(1, 28)} May."
    return rng.choice(
        [f"{topic} broken pls {verb} asap 😡", f"yo my {topic} wont {verb}??", f"{verb} {topic} NOW lol"]
    )


def _files(tmp_path, name: str, texts: list[str]) -> str:
    path = tmp_path / name
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    return str(path)


def test_adversarial_auc_near_half_for_the_same_distribution_and_near_one_for_another(tmp_path):
    rng = random.Random(1)
    train = _files(tmp_path, "train.jsonl", [_support(rng, tidy=True) for _ in range(600)])
    alike = _files(tmp_path, "alike.jsonl", [_support(rng, tidy=True) for _ in range(600)])
    messy = _files(tmp_path, "messy.jsonl", [_support(rng, tidy=False) for _ in range(600)])
    ds = load([train], LoadSettings())
    same = compare(ds, CoverageSettings(reference_paths=(alike,)), LoadSettings())
    other = compare(ds, CoverageSettings(reference_paths=(messy,)), LoadSettings())
    assert 0.4 <= same.auc <= 0.6 and same.psi < 0.05 and same.warnings == []
    assert other.auc > 0.95 and other.psi > 0.25
    assert other.reference.shares["emoji"] > 0.2 and other.train.shares["emoji"] == 0.0
    assert any("AUC" in w for w in other.warnings)
    assert any("'no capital letter at all'" in w for w in other.warnings)
    # The reference rows the classifier is surest about are listed, most unlike first.
    least = other.least_like
    assert least.height == 50 and least["p_reference"].is_sorted(descending=True)


def test_without_a_reference_a_too_tidy_dataset_is_named(tmp_path):
    rng = random.Random(2)
    ds = load(
        [_files(tmp_path, "tidy.jsonl", [_support(rng, tidy=True) for _ in range(200)])], LoadSettings()
    )
    result = compare(ds, CoverageSettings(), LoadSettings())
    assert result.reference is None and result.auc is None
    assert result.warnings[0].startswith("100% of prompts start with a capital and 100% end with punctuation")
    assert "no prompt has a non-ASCII character (accents, names, emoji)" in result.warnings


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} not present")
def test_real_tweets_against_their_own_half_and_against_trec_questions(tmp_path):
    lines = (SHARED_DATA / "tweeteval_hate.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "a.jsonl").write_text("\n".join(lines[0::2]) + "\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("\n".join(lines[1::2]) + "\n", encoding="utf-8")
    ds = load([tmp_path / "a.jsonl"], LoadSettings())
    halves = compare(ds, CoverageSettings(reference_paths=(str(tmp_path / "b.jsonl"),)), LoadSettings())
    trec = compare(ds, CoverageSettings(reference_paths=(str(SHARED_DATA / "trec.jsonl"),)), LoadSettings())
    assert 0.45 <= halves.auc <= 0.56
    assert trec.auc > 0.99
    assert "labels in the reference that training never has: ABBR, DESC, ENTY, HUM, LOC" in trec.warnings


def test_scan_reports_coverage_and_representativeness_and_fails_on_them(tmp_path):
    rng = random.Random(3)
    train = _files(tmp_path, "train.jsonl", [_support(rng, tidy=True) for _ in range(120)])
    messy = _files(tmp_path, "prod.jsonl", [_support(rng, tidy=False) for _ in range(120)])
    out = tmp_path / "report.json"
    runner = CliRunner()
    result = runner.invoke(main, ["scan", train, "--reference", messy, "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "hard data" in result.output and "adversarial AUC" in result.output
    report = json.loads(out.read_text())
    kinds = [line["kind"] for line in report["coverage"]["scorecard"]]
    assert kinds == ["hard_negatives", "ambiguous", "refusal", "ood", "clarifying"]
    rep = report["representativeness"]
    assert rep["reference_given"] and rep["reference_inputs"][0]["rows"] == 120
    assert rep["adversarial"]["auc"] > 0.95 and rep["adversarial"]["least_like_training"][0]["key"]
    assert report["findings"]["representativeness"] == len(rep["warnings"]) > 0
    failing = runner.invoke(main, ["scan", train, "--reference", messy, "--fail-on", "representativeness"])
    assert failing.exit_code == 1 and "failing: representativeness" in failing.output
    # Unlabelled prompts without responses: no kind of hard data applies, so nothing was
    # measured: not checked, and a gate on it fails (it passed as "ok").
    unmeasured = runner.invoke(main, ["scan", train, "--fail-on", "coverage"])
    assert unmeasured.exit_code == 1
    assert "coverage was not checked (no kind of hard data applies to this data" in " ".join(
        unmeasured.output.split()
    )
    chats = tmp_path / "chats.jsonl"
    chats.write_text(
        "".join(
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": _support(rng, True)},
                        {"role": "assistant", "content": "Done, it is sorted."},
                    ],
                    "label": "ab"[i % 2],
                }
            )
            + "\n"
            for i in range(40)
        ),
        encoding="utf-8",
    )
    no_refusals = runner.invoke(main, ["scan", str(chats), "--fail-on", "coverage"])
    assert no_refusals.exit_code == 1 and "refusal 0" in no_refusals.output
    off = runner.invoke(main, ["scan", train, "--no-coverage", "--json", str(out)])
    assert off.exit_code == 0 and json.loads(out.read_text())["coverage"]["ran"] is False


def test_unreadable_reference_or_patterns_is_one_line_exit_two(tmp_path):
    train = _files(tmp_path, "train.jsonl", ["Hello there.", "Good day."])
    bad = tmp_path / "patterns.txt"
    bad.write_text("nonsense\n", encoding="utf-8")
    runner = CliRunner()
    for args in (["--reference", str(tmp_path / "missing.jsonl")], ["--patterns", str(bad)]):
        result = runner.invoke(main, ["scan", train, *args])
        assert result.exit_code == 2, result.output
        assert result.output.startswith("error:") and "Traceback" not in result.output


def test_a_reference_too_small_or_empty_is_named_not_compared(tmp_path):
    rng = random.Random(4)
    train = load(
        [_files(tmp_path, "train.jsonl", [_support(rng, tidy=True) for _ in range(100)])], LoadSettings()
    )
    tiny = _files(tmp_path, "tiny.jsonl", ["hi", "yo", "hey"])
    result = compare(train, CoverageSettings(reference_paths=(tiny,)), LoadSettings())
    assert result.auc is None and result.psi is None
    assert result.warnings == [
        "too few prompts to compare with the reference (3 reference, 100 training; at least 20 each)"
    ]
    # A reference with no usable row at all is an error, not a quiet "0 reference prompts".
    blank = tmp_path / "blank.jsonl"
    blank.write_text('{"text": "  "}\n' * 30, encoding="utf-8")
    with pytest.raises(InputError, match=r"blank.jsonl: 0 of 30 records usable \(read as text: line 1"):
        compare(train, CoverageSettings(reference_paths=(str(blank),)), LoadSettings())


def test_a_share_short_of_all_is_never_said_to_be_100_percent():
    # TREC: 39 of 5,452 prompts end without punctuation, and the warning said 100%.
    from sfttui.engine.analyses.representativeness import _share

    assert [_share(x) for x in (1.0, 0.9975, 0.995, 0.994, 0.98, 0.0)] == [
        "100%",
        "99.8%",
        "99.5%",
        "99%",
        "98%",
        "0%",
    ]

"""Low-variety short texts (a 24-word vocabulary) in the hard-data search (issue 15,
item 13): the candidates it examines are bounded per text, and every hard negative it
reports is real by brute force.

Part of the hostile-input battery (tests/test_hostile_*.py): this test failed before the
search sampled its candidates (it examined them all: 300+ per text, minutes at 100k rows).
"""

from __future__ import annotations

import json
import re

import numpy as np
import polars as pl

from sfttui.engine.analyses.coverage import find_hard_negatives
from sfttui.engine.analyses.dedup import find_duplicates
from sfttui.engine.io.load import load
from sfttui.engine.settings import CoverageSettings, NearSettings, NormalizeSettings

from .test_honest_findings import reference_jaccard


def low_variety(path, n: int, seed: int = 3) -> None:
    """n rows of 3-12 words drawn from 24, with one of four labels."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(24)]
    with open(path, "w", encoding="utf-8") as out:
        for _ in range(n):
            words = rng.choice(vocab, rng.integers(3, 13))
            out.write(json.dumps({"text": " ".join(words), "label": "abcd"[rng.integers(0, 4)]}) + "\n")


def test_the_hard_negative_search_examines_a_bounded_sample_of_real_pairs(tmp_path):
    path = tmp_path / "low.jsonl"
    low_variety(path, 3000)
    ds = load([path])
    dup = find_duplicates(ds.rows)
    rows = ds.rows.select("row", "key", "label", "split", "prompt", "text", "reply")
    settings = CoverageSettings()
    found, detail = find_hard_negatives(
        rows, dup.membership.select("row", "cluster"), NormalizeSettings(), NearSettings(), settings
    )
    sampled = re.search(
        r"([\d,]+) candidate pairs \(low-variety texts: too many to check all\), a seeded "
        r"sample of them estimated and ([\d,]+) verified",
        detail,
    )
    assert sampled, detail
    verified = int(sampled.group(2).replace(",", ""))
    assert int(sampled.group(1).replace(",", "")) > verified  # every pair found, then the sample
    texts = int(re.search(r"among ([\d,]+) distinct prompts", detail).group(1).replace(",", ""))
    # At most a third of hard_candidates per text is verified (16 at the default).
    assert verified == int(settings.hard_candidates * texts) // 3
    # Every pair reported is a hard negative by brute force: alike, not a duplicate, labels differ.
    assert found.height > 1000
    text = ds.rows["text"]
    for row_a, row_b, label_a, label_b, similarity in found.select(
        "row_a", "row_b", "label_a", "label_b", "similarity"
    ).iter_rows():
        measured = reference_jaccard(text[row_a], text[row_b], threshold=0.5)
        assert abs(measured - similarity) < 1e-9
        assert 0.5 - 1e-9 <= measured < 0.8 and label_a != label_b
    # The same seed gives the same sample.
    again, _ = find_hard_negatives(
        rows, dup.membership.select("row", "cluster"), NormalizeSettings(), NearSettings(), settings
    )
    assert again.equals(found)
    assert pl.Series(found["similarity"]).max() < 0.8


def test_adversarial_classifier_stops_when_the_sides_cannot_be_told_apart(tmp_path):
    """Reference prompts from the same source: the ideal case, in which the classifier
    never converges. Its folds stop at 30 passes (not 100), and the detail says so."""
    from sfttui.engine.analyses.representativeness import compare
    from sfttui.engine.settings import LoadSettings

    train, reference = tmp_path / "train.jsonl", tmp_path / "production.jsonl"
    low_variety(train, 5000)
    low_variety(reference, 500, seed=8)
    rep = compare(load([train]), CoverageSettings(reference_paths=(str(reference),)), LoadSettings())
    assert rep.adversarial_rows == 5500
    assert rep.adversarial_detail == (
        "TF-IDF (words and case-sensitive characters) + logistic regression, 5-fold, "
        "5,000 training vs 500 reference prompts; 5 of 5 folds stopped at 30 passes before converging"
    )
    assert abs(rep.auc - 0.5) < 0.05

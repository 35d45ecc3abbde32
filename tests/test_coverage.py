"""Hard data: refusal / OOD / clarifying rows, hard negatives, ambiguous rows, label suspects, scorecard."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from sfttui.cli import demo_path
from sfttui.engine.analyses.coverage import find_coverage, split_series
from sfttui.engine.analyses.dedup import find_duplicates, with_input_side
from sfttui.engine.analyses.labelmodel import fit_label_model
from sfttui.engine.analyses.patterns import load_patterns
from sfttui.engine.errors import InputError
from sfttui.engine.io.load import load
from sfttui.engine.settings import CoverageSettings, LoadSettings, NearSettings, NormalizeSettings

from .conftest import jaccard, word_shingles


def _chat(key: str, user: str, reply: str, label: str, **extra: object) -> dict:
    return {
        "id": key,
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": reply}],
        "label": label,
        **extra,
    }


def _coverage(path: Path, settings: CoverageSettings | None = None, **load_opts):
    ds = load([path], LoadSettings(**load_opts))
    dup = find_duplicates(ds.rows)
    return ds, find_coverage(ds, dup, NormalizeSettings(), NearSettings(), settings or CoverageSettings())


def _found(cov) -> dict[str, list[tuple[str, str]]]:
    return {
        c: sorted(cov.categories.filter(pl.col("category") == c).select("key", "via").rows())
        for c in ("refusal", "ood", "clarifying")
    }


CHATS = [
    _chat("r1", "Can you get me into my neighbour's wifi?", "I'm sorry, but I can't help with that.", "tech"),
    _chat(
        "r2", "Show me another customer's address", "I won\u2019t be able to share that, sorry.", "account"
    ),
    _chat(
        "o1", "What's the weather in Paris?", "That is outside the scope of what I handle.", "out_of_scope"
    ),
    _chat("o2", "Recommend a film", "I can only help with orders and devices.", "account"),
    _chat("q1", "It is broken", "Could you tell me which device you mean?", "tech"),
    _chat(
        "q2", "refund", "Do you mean the refund for your last order, or an older one? Let me know.", "billing"
    ),
    # Helpful replies that merely contain the words of a refusal or a question.
    _chat("n1", "Set up my hub", "I can't wait to get it running! First, plug it in. Ready?", "tech"),
    _chat("n2", "Reset my password", "Done. Is there anything else I can help with?", "account"),
    _chat(
        "n3",
        "Cancel order 5",
        "Sure. " + "Your order is cancelled and I cannot see any fee. " * 12,
        "billing",
    ),
    _chat("r3", "Write malware", "I'm sorry, but I'm unable to help with that request.", "tech"),
    _chat("r4", "Pick this lock", "I'm unable to provide instructions for that.", "tech"),
    _chat("n4", "Thoughts?", "I can't help but notice the hub is old. I won't give up on it yet.", "tech"),
    _chat("n5", "Plastic?", "Microplastics are a problem that is harmful to marine life.", "tech"),
    _chat(
        "n6", "Rules?", "Users are not allowed to share passwords. That is beyond the scope of this.", "tech"
    ),
    _chat("n7", "Band?", "I don't know if you've heard of them, but they tour every year.", "tech"),
    _chat("n8", "Capital?", "Do you mean Australia? Yes: Canberra, " + "a planned city. " * 30, "geo"),
    _chat("l1", "Do my homework", "Here is a general outline of how to approach it.", "Refusal"),
    _chat("l2", "Hi", "Hello! How can I help today?", "policy-block"),
    _chat("p1", "Is this mole dangerous?", "Please contact a doctor about this.", "account"),
    {
        "id": "t1",
        "messages": [
            {"role": "user", "content": "My order"},
            {"role": "assistant", "content": "Could you clarify which order?"},
            {"role": "user", "content": "Order 12"},
            {"role": "assistant", "content": "Thanks, order 12 is on its way."},
        ],
        "label": "shipping",
    },
]


def test_refusal_ood_and_clarifying_rows_by_label_and_by_response(write_jsonl):
    path = write_jsonl("chats.jsonl", CHATS)
    _, cov = _coverage(path)
    assert _found(cov) == {
        "refusal": [("l1", "label"), *[(f"r{i}", "response") for i in range(1, 5)]],
        "ood": [("o1", "label"), ("o2", "response")],
        "clarifying": [("q1", "response"), ("q2", "response")],
    }
    evidence = dict(cov.categories.select("key", "evidence").rows())
    assert evidence["r1"] == "I'm sorry, but I can't" and evidence["o1"] == "out_of_scope"


def test_person_adds_labels_and_patterns(write_jsonl, tmp_path):
    path = write_jsonl("chats.jsonl", CHATS)
    patterns = tmp_path / "patterns.txt"
    patterns.write_text(
        "# ours\n\nood: \\bplease contact (?:a|your) (?:doctor|lawyer)\\b\n", encoding="utf-8"
    )
    # Spelled with other separators than the data's "policy-block": names compare alike.
    settings = CoverageSettings(refusal_labels=("Policy - Block",), patterns_path=str(patterns))
    _, cov = _coverage(path, settings)
    found = _found(cov)
    assert ("l2", "named label") in found["refusal"] and ("p1", "response") in found["ood"]
    assert cov.patterns == ("built-in", str(patterns))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("refusal: ok\nharmful: \\bno\\b\n", ":2: expected 'category: regex'"),
        ("refusal: (unclosed\n", ":1: invalid pattern '(unclosed': error: unclosed group"),
        ("clarifying:\n", ":1: empty pattern for clarifying"),
    ],
)
def test_bad_patterns_file_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "p.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("?", r"\?")):
        load_patterns(path)


# --- hard negatives ---------------------------------------------------------------------
_VOCAB = [f"w{i}" for i in range(400)]


def _sentence(rng: random.Random, n: int = 30) -> list[str]:
    return [rng.choice(_VOCAB) for _ in range(n)]


def _changed(words: list[str], spots: list[int], rng: random.Random) -> list[str]:
    out = list(words)
    for i in spots:
        out[i] = f"x{rng.randrange(10**6)}"
    return out


def test_hard_negatives_are_alike_prompts_with_other_labels(write_jsonl):
    rng = random.Random(3)
    base, other, third = _sentence(rng), _sentence(rng), _sentence(rng)
    rows = {
        "a1": (base, "cancel"),
        "a2": (_changed(base, [4, 11, 19], rng), "modify"),  # hard negative of a1
        "a3": (_changed(base, [2, 25], rng), "cancel"),  # alike but the same label as a1
        "b1": (other, "cancel"),
        "b2": (other, "modify"),  # the same text labelled twice: a conflict, not a hard negative
        "c1": (third, "cancel"),
        "c2": (_changed(third, [14], rng), "modify"),  # a near duplicate (J >= 0.8) with another label
        "d1": (_sentence(rng), "modify"),  # unrelated
    }
    path = write_jsonl(
        "h.jsonl", [{"id": k, "text": " ".join(w), "label": lab} for k, (w, lab) in rows.items()]
    )
    _, cov = _coverage(path)
    found = {(a, b): round(j, 6) for a, b, j in cov.hard_pairs.select("key_a", "key_b", "similarity").rows()}
    # Independent check: every pair of different labels at J >= 0.5 that is no duplicate pair.
    shingles = {k: word_shingles(" ".join(w)) for k, (w, _) in rows.items()}
    expected = {}
    for i, a in enumerate(rows):
        for b in list(rows)[i + 1 :]:
            j = jaccard(shingles[a], shingles[b])
            if rows[a][1] != rows[b][1] and 0.5 <= j < 0.8:
                expected[(a, b)] = round(j, 6)
    assert found == expected
    assert set(found) == {("a1", "a2")}  # a2/a3 differ in five words: under 0.5
    assert cov.hard_by_labels.rows() == [("cancel", "modify", 1)]


def test_chat_prompts_alike_past_the_threshold_are_hard_negatives_when_the_chats_differ(write_jsonl):
    ask = "Please close my Nimbus account, I no longer use the camera at all, thank you."
    rows = [
        _chat("k1", ask, "I have closed your account; you will get an email to confirm it.", "account"),
        _chat(
            "k2",
            ask.replace("close my Nimbus account", "take back my camera"),
            "Returns are free within 30 days, and a label is on its way to you now.",
            "returns",
        ),
    ]
    _, cov = _coverage(write_jsonl("k.jsonl", rows))
    assert cov.hard_pairs.select("key_a", "key_b").rows() == [("k1", "k2")]


# --- the label model --------------------------------------------------------------------
SPORTS = [
    "match",
    "goal",
    "team",
    "coach",
    "league",
    "striker",
    "referee",
    "season",
    "stadium",
    "fans",
    "penalty",
    "keeper",
    "trophy",
]
SPORTS += ["derby", "injury", "transfer"]
FINANCE = [
    "bank",
    "loan",
    "interest",
    "rate",
    "mortgage",
    "invoice",
    "budget",
    "stock",
    "shares",
    "dividend",
    "inflation",
    "credit",
]
FINANCE += ["savings", "tax", "account", "pension"]


def _topics() -> pl.DataFrame:
    rng = random.Random(7)

    def text(pool: list[str]) -> str:
        return " ".join(rng.choice(pool) for _ in range(12))

    rows = []
    for i in range(120):
        rows += [(f"s{i}", text(SPORTS), "sports"), (f"f{i}", text(FINANCE), "finance")]
    rows += [(f"m{i}", text(FINANCE), "sports") for i in range(3)]  # mislabelled
    rows += [
        (f"x{i}", " ".join(f"{rng.choice(SPORTS)} {rng.choice(FINANCE)}" for _ in range(6)), "sports")
        for i in range(4)
    ]  # half of each topic
    return pl.DataFrame(
        {
            "row": list(range(len(rows))),
            "key": [r[0] for r in rows],
            "prompt": [None] * len(rows),
            "text": [r[1] for r in rows],
            "label": [r[2] for r in rows],
            "reply": [0] * len(rows),
        },
        schema_overrides={"row": pl.UInt32, "prompt": pl.String, "reply": pl.UInt32},
    )


def test_label_suspects_and_ambiguous_rows_from_out_of_fold_probabilities():
    model = fit_label_model(_topics(), CoverageSettings())
    assert model.ran and model.scores.height == 247 and model.folds_done == 5
    suspects = model.suspects()
    assert sorted(suspects["key"]) == ["m0", "m1", "m2"]
    assert set(suspects["suggested"]) == {"finance"} and suspects["p_label"].max() < 0.3
    assert sorted(model.ambiguous(0.2)["key"]) == ["x0", "x1", "x2", "x3"]
    assert model.accuracy is not None and model.accuracy > 0.95


def test_label_model_respects_its_row_and_time_caps():
    sampled = fit_label_model(_topics(), CoverageSettings(model_rows=100))
    assert sampled.scores.height == 100 and "a seeded sample of 100 of 247" in sampled.detail
    rushed = fit_label_model(_topics(), CoverageSettings(model_seconds=0))
    assert rushed.folds_done == 1 and rushed.folds == 5
    assert 45 <= rushed.scores.height <= 55 and "stopped after 1 of 5 folds" in rushed.detail
    off = fit_label_model(_topics(), CoverageSettings(model=False))
    assert not off.ran and off.scores.height == 0


def test_label_model_sample_shrinks_with_many_classes_and_long_texts():
    by_work = fit_label_model(_topics(), CoverageSettings(model_work=300))  # 2 classes: 150 rows
    assert by_work.scores.height == 150 and "a seeded sample of 150 of 247" in by_work.detail
    # The topic texts average ~80 characters: 10,000 characters buys ~125 rows.
    by_chars = fit_label_model(_topics(), CoverageSettings(model_chars=10_000))
    assert 100 <= by_chars.scores.height <= 150


def test_hard_negative_search_is_capped_on_large_inputs(write_jsonl):
    rng = random.Random(5)
    rows = [{"text": " ".join(_sentence(rng, 20)), "label": "ab"[i % 2]} for i in range(300)]
    _, cov = _coverage(write_jsonl("big.jsonl", rows), CoverageSettings(hard_rows=120, model=False))
    assert "in a seeded sample of 120 of 300 labelled rows" in cov.hard_detail


def test_one_label_means_no_hard_negatives_or_model(write_jsonl):
    path = write_jsonl("one.jsonl", [{"text": f"row {i} says hello", "label": "x"} for i in range(10)])
    _, cov = _coverage(path)
    lines = {line.kind: line for line in cov.scorecard()}
    assert not lines["hard_negatives"].applies and not lines["ambiguous"].applies
    assert not lines["ood"].applies and "without an out-of-scope label" in lines["ood"].detail
    assert not lines["refusal"].applies  # classification text: no responses to refuse with


# --- the scorecard ----------------------------------------------------------------------
def test_scorecard_per_split_names_the_split_that_cannot_measure(write_jsonl):
    rows = [
        _chat(f"o{i}", f"Tell me a joke number {i}", "That is outside my area.", "oos", split="train")
        for i in range(6)
    ]
    rows += [
        _chat(f"t{i}", f"Where is parcel {i}?", "It ships today.", "shipping", split="test") for i in range(6)
    ]
    ds, cov = _coverage(write_jsonl("s.jsonl", rows), CoverageSettings(model=False))
    lines = {line.kind: line for line in cov.scorecard(split_series(ds))}
    assert lines["ood"].total == 6 and lines["ood"].per_split == {"train": 6, "test": 0}
    assert lines["ood"].status(6) == "ok" and lines["ood"].status(0) == "missing"
    warnings = cov.warnings(split_series(ds))
    assert "the test split has no out-of-scope examples: it cannot measure them" in warnings
    assert "the train split has no refusal examples: it cannot learn from them" in warnings
    assert "0 refusal examples in the dataset (target about 5)" in warnings


def test_demo_data_planted_hard_data():
    ds = load([demo_path()], LoadSettings())
    dup = find_duplicates(ds.rows)
    cov = find_coverage(ds, dup, NormalizeSettings(), NearSettings(), CoverageSettings())
    found = _found(cov)
    assert [k for k, _ in found["ood"]] == [f"t{n:05d}" for n in range(2600, 2612)]
    assert [k for k, _ in found["refusal"]] == [f"t{n:05d}" for n in range(2612, 2620)]
    assert [k for k, _ in found["clarifying"]] == [f"t{n:05d}" for n in range(2620, 2628)]
    pairs = set(cov.hard_pairs.select("key_a", "key_b").rows())
    planted = {(f"t{n:05d}", f"t{n + 1:05d}") for n in range(2628, 2648, 2)}
    # Two planted pairs' prompts are at J >= 0.8 ("... how do I fix it / return it?"):
    # near duplicates with two labels, so the input side lists them as label conflicts
    # (and marking one a hard negative is the person's call), not as hard negatives.
    conflicts = with_input_side(dup, find_duplicates(ds.rows, side="input")).conflicts
    on_input = {tuple(m) for m in conflicts.filter(pl.col("side") == "input")["members"].to_list()}
    assert planted - pairs == {("t02634", "t02635"), ("t02640", "t02641")}
    assert planted - pairs <= on_input
    # The planted label conflicts (t02580-t02599) are what the label model doubts most.
    top = cov.suspects.head(6)["key"].to_list()
    assert all("t02580" <= k <= "t02599" for k in top)


def test_texts_without_words_and_tiny_data_do_not_crash_or_invent_findings(write_jsonl):
    # Emoji-only texts give TF-IDF no word: the model says so instead of crashing.
    emoji = write_jsonl(
        "emoji.jsonl", [{"text": "🙂" * (i % 7 + 1), "label": "ab"[i % 2]} for i in range(40)]
    )
    _, cov = _coverage(emoji)
    assert not cov.model.ran and cov.model.detail == "no words to learn from in the texts"
    # Four rows: too few per label to cross-validate anything, so nothing is listed.
    four = write_jsonl(
        "four.jsonl", [{"text": f"row {w} here", "label": "ab"[i % 2]} for i, w in enumerate("wxyz")]
    )
    _, cov = _coverage(four)
    assert not cov.model.ran and cov.suspects.height == 0 and cov.ambiguous.height == 0
    assert (
        cov.model.detail
        == "needs at least two labels with 5 or more rows each; labels under 5 rows left out: a (2), b (2)"
    )


def test_a_model_no_better_than_the_baseline_lists_nothing(write_jsonl):
    rng = random.Random(11)
    rows = [
        {"text": " ".join(rng.choice(_VOCAB) for _ in range(8)), "label": "ab"[rng.random() < 0.2]}
        for _ in range(200)
    ]
    _, cov = _coverage(write_jsonl("noise.jsonl", rows))
    assert not cov.model.ran and cov.model.detail.endswith(
        "no better than the baseline, so no rows are listed"
    )
    assert cov.suspects.height == 0

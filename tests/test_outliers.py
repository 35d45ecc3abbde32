"""Outliers: planted rows unlike the rest are found with their reason; the rest are not."""

from __future__ import annotations

import json

import pytest

from sfttui.cli import demo_path
from sfttui.engine.analyses.outliers import find_outliers
from sfttui.engine.io.load import load

from .conftest import SHARED_DATA

PLANTED = {
    "cyrillic": "Здравствуйте, мой заказ так и не пришёл, хотя прошло уже две недели с момента оплаты.",
    "spanish": "Hola, quiero devolver el altavoz porque llegó roto y la caja estaba abierta "
    "cuando lo recibí ayer.",
    "long": " ".join(["my order arrived late and the hub does not connect to the network"] * 40),
    "symbols": "!!!!!!!!! ??????? ########## $$$$$$ %%%%%%%% &&&&&&",
    "code": "def refund(order):\n    return order.total * 0.5;",
    "one": "refund",
}
EXPECTED = {
    "cyrillic": "script",
    "spanish": "vocabulary",
    "long": "length",
    "symbols": "symbols",
    "code": "code",
    "one": "few-words",
}


def _demo_prompts(n: int) -> list[str]:
    out = []
    for line in demo_path().read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            out.append(record["messages"][1]["content"])
        except (ValueError, KeyError, IndexError, TypeError):
            continue
        if len(out) == n:
            break
    return out


PROSE_THAT_LOOKED_LIKE_CODE = [  # from SST-2 and TweetEval, each flagged "code" before
    "let 's see , a haunted house , a haunted ship , what 's next ... ghost blimp ?",
    "If rape is real why aren't more people reporting it? Just another feminist lie.;",
    "@user &lt;• change them himself. He follows behind with a scowl pinching his lips &gt;",
    "<ILLEGAL ALIENS>If we want to make our voices heard and stop the invasion",
    "*hugs Milo* He is mine now and you cannot have him back. &gt;.&gt; ",
]
PLANTED_CODE = [
    "const total = items.reduce((a, b) => a + b, 0);",
    "SELECT name FROM users WHERE id = 4",
    "import numpy",
    "int x = 1;\nint y = 2;",
    "Convert the given HTML into Markdown.\n\n<code>Use `code` in your file.</code>",
]


def test_code_is_found_by_what_only_code_has_and_prose_is_left_alone(write_jsonl):
    rows = [{"id": f"d{i}", "text": t} for i, t in enumerate(_demo_prompts(400))]
    rows += [{"id": f"prose{i}", "text": t} for i, t in enumerate(PROSE_THAT_LOOKED_LIKE_CODE)]
    rows += [{"id": f"code{i}", "text": t} for i, t in enumerate(PLANTED_CODE)]
    result = find_outliers(load([str(write_jsonl("o.jsonl", rows))]))
    coded = sorted(result.rows.filter(reason="code")["key"].to_list())
    assert coded == [f"code{i}" for i in range(len(PLANTED_CODE))]


def test_each_planted_row_is_found_with_its_reason_and_the_rest_are_not(write_jsonl):
    rows = [{"id": f"d{i}", "text": t} for i, t in enumerate(_demo_prompts(400))]
    rows += [{"id": name, "text": text} for name, text in PLANTED.items()]
    result = find_outliers(load([str(write_jsonl("o.jsonl", rows))]))
    by_key = {}
    for r in result.rows.iter_rows(named=True):
        by_key.setdefault(r["key"], set()).add(r["reason"])
    for name, reason in EXPECTED.items():
        assert reason in by_key.get(name, set()), (name, by_key.get(name))
    assert "Cyrillic in a Latin dataset" in result.rows.filter(key="cyrillic")["detail"].to_list()
    assert result.rows.filter(key="one", reason="few-words")["detail"].to_list() == [
        "1 word"
    ]  # not "1 word(s)"
    # The demo's own prompts (greetings, requests, 12-60 words) stand apart by none of these.
    flagged_demo = [k for k in by_key if k.startswith("d")]
    assert len(flagged_demo) <= 4, flagged_demo
    assert result.rows["score"].is_sorted(descending=True)


def test_findings_do_not_depend_on_the_slices_rows_are_measured_in(write_jsonl, monkeypatch):
    """Rows are measured a slice at a time against what the sample taught: cut into
    slices of 7 rows (planted rows in different slices, a hostile key among them) the
    findings, keys and order are those of one slice holding every row."""
    from sfttui.engine.analyses import outliers

    rows = [{"id": f"d{i}", "text": t} for i, t in enumerate(_demo_prompts(300))]
    for at, (name, text) in zip((3, 50, 51, 120, 200, 299), PLANTED.items()):
        rows.insert(at, {"id": name, "text": text})
    rows.insert(77, {"id": "[b]x[/b]\x1b[2J", "text": PLANTED["one"]})
    dataset = load([str(write_jsonl("s.jsonl", rows))])
    whole = find_outliers(dataset)
    monkeypatch.setattr(outliers, "_SLICE", 7)
    sliced = find_outliers(dataset)
    assert sliced.rows.equals(whole.rows)
    reasons: dict[str, set[str]] = {}
    for r in sliced.rows.iter_rows(named=True):
        reasons.setdefault(r["key"], set()).add(r["reason"])
    for name, reason in {**EXPECTED, "[b]x[/b]\x1b[2J": "few-words"}.items():
        assert reason in reasons[name], (name, reasons.get(name))


def test_a_dataset_in_another_script_keeps_its_own_rows(write_jsonl):
    rows = [{"text": f"{PLANTED['cyrillic']} Номер заказа {i}."} for i in range(100)]
    rows.append({"text": "Hello, my order never arrived and it has been two weeks since I paid for it."})
    result = find_outliers(load([str(write_jsonl("r.jsonl", rows))]))
    scripts = result.rows.filter(reason="script")
    assert scripts["key"].to_list() == ["r.jsonl:101"]
    assert scripts["detail"].to_list() == ["Latin in a Cyrillic dataset"]


def test_too_few_rows_are_not_checked(write_jsonl):
    result = find_outliers(load([str(write_jsonl("f.jsonl", [{"text": "a b c"}] * 10))]))
    assert not result.ran and result.reason == "fewer than 50 rows"


def _regex_word_counts(frame, head, top):
    import re

    common = r"\b(?:" + "|".join(re.escape(w) for w in sorted(top, key=len, reverse=True)) + r")\b"
    return frame.select("row", n=head.str.count_matches(r"\p{L}+"), common=head.str.count_matches(common))


def test_word_counts_of_ascii_rows_are_the_regexes_counts():
    """The compiled count of ASCII rows gives what the two regexes give: letter runs split
    by digits and underscores, words glued to digits, capitals, words cut by the
    1,000-character head, non-ASCII rows (left to the regexes) and null prompts."""
    import polars as pl

    from sfttui.engine.analyses import outliers

    top = ["the", "cat", "sat", "on", "a", "mat", "th", "éclair", "x"]
    texts = [
        "The cat sat on a mat",
        "the_cat cat1 1cat cat_ _cat c-a-t THE Cat cAt",
        "thecat the.cat the,cat,the th the2the a__a x9x 99 __ ___the",
        "A" * 990 + " the cat",  # "ca" at the cut: a letter run, not a top word
        "x " * 600,  # more matches than the head holds
        "un éclair sur the mat",  # not ASCII: the regexes count it
        "",
        None,
        "\t\nthe\r\ncat\x00mat\x7fon",
        "tHe CaT sAt On A mAt, THE END",
    ]
    frame = pl.DataFrame({"row": pl.Series(range(len(texts)), dtype=pl.UInt32), "p": texts})
    head = pl.col("p").str.slice(0, outliers._WORD_CHARS).str.to_lowercase()
    got = outliers._word_counts(frame, head, top)
    want = _regex_word_counts(frame, head, top)
    assert got.to_dicts() == want.to_dicts()
    assert got["common"].to_list()[:3] == [6, 4, 6]
    assert got["n"].to_list()[4] == 500 and got["common"].to_list()[4] == 500
    # Every prefix of a few long top words, each a whole word of its own: some land in
    # a top word's table slot, and only the byte-for-byte and length checks tell them apart.
    long_words = ["abcdefghijkl", "mnopqrstuvwx", "yzabcdefghij", "klmnopqrstuv"]
    prefixes = " ".join(w[:i] for w in long_words for i in range(1, len(w)))
    fixes = pl.DataFrame({"row": pl.Series([0, 1], dtype=pl.UInt32), "p": [prefixes, " ".join(long_words)]})
    counted = outliers._word_counts(fixes, head, long_words)
    assert counted.equals(_regex_word_counts(fixes, head, long_words))
    assert counted["common"].to_list() == [0, 4]
    # All rows ASCII: the frame is counted as it is, not a filtered copy.
    plain = frame.filter(pl.col("p").str.len_bytes() == pl.col("p").str.len_chars())
    assert outliers._word_counts(plain, head, top).equals(_regex_word_counts(plain, head, top))


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} not present")
def test_word_counts_match_the_regexes_on_real_prompts():
    """On real datasets' prompts, with their own common words: the same counts per row."""
    import polars as pl

    from sfttui.engine.analyses import outliers
    from sfttui.engine.io.load import PROMPT_SIDE

    for name in ("trec.jsonl", "tweeteval_emotion.jsonl", "code_alpaca_2k.jsonl"):
        rows = load([SHARED_DATA / name]).rows
        frame = rows.select("row", p=PROMPT_SIDE)
        head = pl.col("p").str.slice(0, outliers._WORD_CHARS).str.to_lowercase()
        words = frame.select(w=head.str.extract_all(r"\p{L}+")).explode("w").drop_nulls()["w"]
        top = words.value_counts(sort=True).head(300)["w"].to_list()
        got = outliers._word_counts(frame, head, top)
        assert got.equals(_regex_word_counts(frame, head, top)), name
        assert got["common"].sum() > 1000, name

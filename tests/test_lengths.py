"""Lengths in tokens with a tokenizer the test trains and saves, checked against
encoding every text whole, one by one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from sfttui.cli import demo_path, main
from sfttui.engine.analyses.lengths import measure_lengths
from sfttui.engine.io.load import PROMPT_SIDE, load
from sfttui.engine.settings import LengthSettings


def _train(kind: str, path: Path) -> Path:
    texts = load([str(demo_path())]).rows["text"].to_list()
    if kind == "bpe":  # byte-level BPE, as GPT-2 and Llama 3 tokenizers
        tok = Tokenizer(models.BPE(unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        alphabet = pre_tokenizers.ByteLevel.alphabet()
        trainer = trainers.BpeTrainer(vocab_size=1500, special_tokens=["[UNK]"], initial_alphabet=alphabet)
    else:  # SentencePiece-style: unigram over metaspace pieces
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=1500, unk_token="<unk>", special_tokens=["<unk>"])
    tok.train_from_iterator(texts, trainer)
    path.mkdir(parents=True, exist_ok=True)
    tok.save(str(path / "tokenizer.json"))
    return path


@pytest.fixture(scope="module")
def bpe(tmp_path_factory) -> Path:
    return _train("bpe", tmp_path_factory.mktemp("bpe"))


def _reply() -> pl.Expr:
    text = pl.col("text")
    return text.str.slice(text.str.len_chars() - pl.col("reply"))


def _one_by_one(tok: Tokenizer, texts: list[str | None]) -> list[int]:
    """Each text's own token count: every text encoded whole and alone (encode_batch runs
    them side by side, each as `encode` would)."""
    return [len(e.ids) for e in tok.encode_batch([t or "" for t in texts], add_special_tokens=False)]


def test_each_rows_tokens_are_the_tokenizers_own_count(bpe, write_jsonl):
    system = {"role": "system", "content": "You are a terse assistant."}
    rows = [
        {
            "messages": [
                system,
                {"role": "user", "content": "Where is my  order?\n\n  It is late."},
                {"role": "assistant", "content": "Let me   check.\n"},
            ]
        },
        {
            "messages": [
                {"role": "user", "content": "def f(x):\n    return {x}"},
                {"role": "assistant", "content": "ok"},
            ]
        },
        {
            "messages": [
                {"role": "user", "content": "Héllo wörld — ünïcode 東京 ✓"},
                {"role": "assistant", "content": " leading space"},
            ]
        },
    ]
    ds = load([str(write_jsonl("t.jsonl", rows)), str(demo_path())])
    lengths = measure_lengths(ds, LengthSettings(tokenizer=str(bpe)))
    assert lengths.exact and "per word" in lengths.detail
    tok = Tokenizer.from_file(str(bpe / "tokenizer.json"))
    frame = ds.rows.select("text", "system", p=PROMPT_SIDE, r=_reply())
    prompts = _one_by_one(tok, frame["p"].to_list())
    replies = _one_by_one(tok, frame["r"].to_list())
    systems = _one_by_one(tok, frame["system"].cast(str).to_list())
    totals = np.array(_one_by_one(tok, frame["text"].to_list())) + np.array(systems)
    assert lengths.tokens["prompt"].to_list() == prompts
    assert lengths.tokens["response"].to_list() == replies
    assert lengths.tokens["total"].to_list() == totals.tolist()
    assert systems[0] == len(tok.encode("You are a terse assistant.").ids) > 0


def test_a_tokenizer_that_does_not_split_at_spaces_is_counted_on_whole_texts(tmp_path):
    path = _train("unigram", tmp_path / "sp")
    ds = load([str(demo_path())])
    lengths = measure_lengths(ds, LengthSettings(tokenizer=str(path / "tokenizer.json")))
    assert "whole texts" in lengths.detail
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    texts = ds.rows["text"].head(200).to_list()
    systems = _one_by_one(tok, ds.rows["system"].head(200).cast(str).to_list())
    expected = (np.array(_one_by_one(tok, texts)) + np.array(systems)).tolist()
    assert lengths.tokens["total"].head(200).to_list() == expected


def test_rows_over_max_tokens_are_listed_longest_first_and_gate_the_scan(bpe, tmp_path, write_jsonl):
    rows = [
        {
            "messages": [
                {"role": "user", "content": "short question"},
                {"role": "assistant", "content": "short answer"},
            ]
        },
        {"messages": [{"role": "user", "content": "tell me " * 40}, {"role": "assistant", "content": "ok"}]},
        {"messages": [{"role": "user", "content": "more " * 80}, {"role": "assistant", "content": "done"}]},
    ]
    data = write_jsonl("d.jsonl", rows)
    tok = Tokenizer.from_file(str(bpe / "tokenizer.json"))
    totals = _one_by_one(
        tok, [r["messages"][0]["content"] + "\n" + r["messages"][1]["content"] for r in rows]
    )
    limit = sorted(totals)[0] + 1
    out = tmp_path / "r.json"
    args = ["scan", str(data), "--tokenizer", str(bpe), "--max-tokens", str(limit), "--json", str(out)]
    result = CliRunner().invoke(main, [*args, "--fail-on", "too-long"])
    assert result.exit_code == 1, result.output
    report = json.loads(out.read_text())["lengths"]
    assert report["exact"] and report["max_tokens"] == limit
    assert [r["key"] for r in report["over"]["listed"]] == ["d.jsonl:3", "d.jsonl:2"]
    assert [r["total"] for r in report["over"]["listed"]] == sorted(totals[1:], reverse=True)
    assert report["quantiles"]["total"]["max"] == max(totals)
    assert sum(b["rows"] for b in report["histogram"]) == 3


def test_without_a_tokenizer_lengths_are_approximate_and_say_so(write_jsonl):
    rows = [{"messages": [{"role": "user", "content": "x" * 10}, {"role": "assistant", "content": "y" * 7}]}]
    data = write_jsonl("d.jsonl", rows)
    lengths = measure_lengths(load([str(data)]))
    assert not lengths.exact and lengths.label == "tokens (approx.)"
    # ceil(10 / 4), ceil(7 / 4), ceil(18 / 4): the text is prompt, newline, reply.
    assert lengths.tokens.select("prompt", "response", "total").row(0) == (3, 2, 5)
    result = CliRunner().invoke(main, ["scan", str(data), "--fail-on", "too-long"])
    assert result.exit_code == 1 and "no --max-tokens given" in result.output


def test_without_a_tokenizer_characters_beyond_ascii_count_by_their_bytes(write_jsonl):
    # Characters / 4 counted 12,000 characters of Chinese as 3,000 tokens, so
    # `--max-tokens 4096` passed a row no BPE tokenizer fits in 4,096 tokens; Thai and
    # emoji the same.
    rows = [
        {"text": "我的包裹还没有到" * 1500, "label": "a"},  # 12,000 characters of 3 bytes
        {"text": "こんにちは 안녕하세요 abcd", "label": "a"},  # 10 of 3 bytes, 6 ASCII: 10 + 2
        {"text": "plain English text " * 400, "label": "a"},  # 7,600 ASCII characters
        {"text": "สวัสดีครับ" * 500, "label": "a"},  # 5,000 Thai characters of 3 bytes
        {"text": "😀" * 300 + " café", "label": "a"},  # 1,200 + 2 bytes; 4 ASCII: 401 + 1
    ]
    data = write_jsonl("d.jsonl", rows)
    lengths = measure_lengths(load([str(data)]))
    assert lengths.tokens["total"].to_list() == [12000, 12, 1900, 5000, 402]
    result = CliRunner().invoke(main, ["scan", str(data), "--max-tokens", "4096", "--json", "-"])
    over = json.loads(result.stdout)["lengths"]["over"]
    assert [(r["key"], r["total"]) for r in over["listed"]] == [("d.jsonl:1", 12000), ("d.jsonl:4", 5000)]


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no tokenizer.json there"), ("{not json", "not a tokenizer.json the tokenizers library reads")],
)
def test_a_wrong_tokenizer_is_one_clear_error_before_loading(tmp_path, write_jsonl, content, message):
    path = tmp_path / "tok" / "tokenizer.json"
    if content is not None:
        path.parent.mkdir()
        path.write_text(content)
    data = write_jsonl("d.jsonl", [{"text": "a"}])
    result = CliRunner().invoke(main, ["scan", str(data), "--tokenizer", str(path)])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("name", ["alpaca_eval_gpt4", "new_codealpaca", "tweeteval_hate"])
def test_every_part_matches_one_by_one_encoding_on_real_data(tmp_path, name):
    path = Path(__file__).resolve().parents[2] / "shared" / "data" / f"{name}.jsonl"
    if not path.exists():
        pytest.skip("shared data not present")
    ds = load([str(path)])
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    tok.train_from_iterator(
        ds.rows["text"].to_list(), trainers.BpeTrainer(vocab_size=4000, initial_alphabet=alphabet)
    )
    tok.save(str(tmp_path / "tokenizer.json"))
    lengths = measure_lengths(ds, LengthSettings(tokenizer=str(tmp_path)))
    parts = ds.rows.select("text", p=PROMPT_SIDE, r=_reply())
    assert lengths.tokens["prompt"].to_list() == _one_by_one(tok, parts["p"].to_list())
    assert lengths.tokens["response"].to_list() == _one_by_one(tok, parts["r"].to_list())
    assert lengths.tokens["total"].to_list() == _one_by_one(tok, parts["text"].to_list())


def test_a_tokenizer_that_cannot_encode_the_texts_is_an_input_error(write_jsonl, tmp_path):
    # A WordLevel tokenizer without an unknown token fails on the first word it does not
    # hold: that ended the scan in a traceback.
    tok = Tokenizer(models.WordLevel({"hello": 0, "there": 1}))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    path = write_jsonl("d.jsonl", [{"text": f"hello there row {i}"} for i in range(5)])
    result = CliRunner().invoke(main, ["scan", str(path), "--tokenizer", str(tmp_path), "--no-near"])
    assert result.exit_code == 2, result.output
    assert "error: --tokenizer cannot encode the texts (WordLevel error: Missing [UNK] token" in result.output

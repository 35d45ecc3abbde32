"""Hostile inputs, loading side: crafted lines, unbounded reads, odd Parquet types, wrong
encodings, broken CSV, odd chat content and repeated keys (issue 15, items 8-12).

Part of the hostile-input battery (tests/test_hostile_*.py): each test here failed on the
code before it was fixed.
"""

from __future__ import annotations

import datetime
import decimal
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import polars as pl
import pytest
import zstandard
from click.testing import CliRunner

from sfttui.cli import main
from sfttui.engine.errors import InputError
from sfttui.engine.io.load import BOM, load
from sfttui.engine.settings import LoadSettings


def _scan(*args: str):
    return CliRunner().invoke(main, ["scan", *args])


def _split(*args: str):
    return CliRunner().invoke(main, ["split", *args])


def _bad(ds) -> list[tuple[int, str]]:
    return [(line, reason) for line, reason in ds.bad_lines.select("line", "reason").iter_rows()]


# --- item 8: every row comes from exactly its own line ----------------------------------------

CRAFTED = (
    b'{"text": "first row here", "label": "a"}\n'
    b'{"text": "two", "label": "b"},{"text": "objects", "label": "b"}\n'  # two objects, one line
    b'{"text": "broken\n'  # a string cut by a raw newline ...
    b' string", "label": "a"}\n'  # ... whose rest is the next line
    b'{"text": "last row", "label": "a"}\n'
)


def test_crafted_lines_are_bad_lines_and_never_pair_with_other_records(tmp_path):
    path = tmp_path / "crafted.jsonl"
    path.write_bytes(CRAFTED * 3)  # and again, so the chunk holds more than one of each
    ds = load([path])
    assert ds.rows["line"].to_list() == [1, 5, 6, 10, 11, 15]
    assert ds.rows["text"].to_list() == ["first row here", "last row"] * 3
    assert [line for line, _ in _bad(ds)] == [2, 3, 4, 7, 8, 9, 12, 13, 14]
    out = tmp_path / "out"
    result = _split(str(path), "--out", str(out), "--state-dir", str(tmp_path / "s"), "--drop", "none")
    assert result.exit_code == 0, result.output
    written = [
        line
        for name in ("train", "validation", "test")
        for line in (out / f"{name}.jsonl").read_bytes().splitlines()
    ]
    assert sorted(written) == sorted([CRAFTED.splitlines()[0], CRAFTED.splitlines()[4]] * 3)
    assert all(isinstance(json.loads(line), dict) for line in written)


# --- item 9: nothing is read without bound -------------------------------------------------


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    code = "import sys; from sfttui.cli import main; sys.argv = ['sfttui', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, timeout=timeout, text=True
    )


def test_a_fifo_and_a_device_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.jsonl"
    zero.symlink_to("/dev/zero")
    for path, kind in ((fifo, "named pipe (FIFO)"), (zero, "character device")):
        done = _run("scan", str(path), timeout=30)  # reading either would never return
        assert done.returncode == 2
        assert (
            done.stderr.strip()
            == f"error: {path}: is a {kind}, not a regular file; sfttui reads data files only"
        )


BOMB_ROW = b'{"text": "' + b"a" * (300 << 20) + b'"}\n'  # 300 MiB of one letter


@pytest.mark.parametrize("suffix", ["gz", "zst"])
def test_a_decompression_bomb_is_refused_before_it_fills_memory(tmp_path, suffix):
    path = tmp_path / f"bomb.jsonl.{suffix}"
    packed = (
        gzip.compress(BOMB_ROW, 9)
        if suffix == "gz"
        else zstandard.ZstdCompressor(level=19).compress(BOMB_ROW)
    )
    path.write_bytes(packed)
    assert len(packed) < 400_000
    code = (
        # VmHWM is this process's own peak (ru_maxrss would count the parent's before exec).
        "import re, sys; from sfttui.cli import main; sys.argv = ['sfttui', 'scan', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit as e:\n"
        "    status = open('/proc/self/status').read()\n"
        "    print(re.search(r'VmHWM:\\s+(\\d+)', status).group(1), file=sys.stderr); raise\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    message, peak_kb = done.stderr.strip().splitlines()
    assert message.startswith(f"error: {path}: decompresses to more than 67,108,864 bytes")
    assert "--max-expansion 200" in message and "raise them if the file is genuine" in message
    assert int(peak_kb) < 600_000  # it stopped near the 64 MiB cap, not at 300 MiB


def test_the_decompression_caps_can_be_raised(tmp_path):
    path = tmp_path / "repetitive.jsonl.gz"
    row = json.dumps({"text": "the same words again and again " * 40, "label": "a"}).encode() + b"\n"
    path.write_bytes(gzip.compress(row * 60_000))  # ~78 MB, over 1000x its size
    refused = _scan(str(path))
    assert refused.exit_code == 2 and "decompresses to more than" in refused.output
    # Only reading is under test: the 60,000 copies of one row need no near or coverage pass.
    allowed = _scan(str(path), "--max-expansion", "100000", "--no-near", "--no-coverage")
    assert allowed.exit_code == 0, allowed.output
    assert "60,000 rows" in allowed.output
    small = _scan(str(path), "--max-expansion", "100000", "--max-decompressed", "10M")
    assert small.exit_code == 2 and "more than 10,485,760 bytes" in small.output
    tiny = _scan(str(path), "--max-decompressed", "1")  # a cap under the file's own size
    assert tiny.exit_code == 2 and f"more than 1 bytes (from {path.stat().st_size:,} bytes;" in tiny.output


def test_the_decompression_caps_hold_for_a_reference_sample(tmp_path):
    # The reference was read with default caps whatever --max-decompressed said.
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": f"a training prompt {i}"}) + "\n" for i in range(5)))
    ref = tmp_path / "ref.jsonl.gz"
    ref.write_bytes(
        gzip.compress(b"".join(json.dumps({"text": f"prod {i}"}).encode() + b"\n" for i in range(2000)))
    )
    refused = _scan(str(data), "--reference", str(ref), "--max-decompressed", "2K")
    assert refused.exit_code == 2 and "more than 2,048 bytes" in refused.output


def test_a_truncated_zstd_file_is_refused_not_half_read(tmp_path):
    # zstandard's stream reader stops quietly at the cut: 28,849 of 60,000 rows were read
    # with one "invalid JSON" line, or none at all where the cut fell between lines.
    rows = b"".join(
        json.dumps({"text": f"row {i} with some words in it"}).encode() + b"\n" for i in range(60_000)
    )
    whole = zstandard.ZstdCompressor(write_checksum=True).compress(rows)
    for name, data in [
        ("half", whole[: len(whole) // 2]),
        ("no checksum", whole[:-4]),
        ("header", whole[:5]),
    ]:
        path = tmp_path / f"{name.replace(' ', '_')}.jsonl.zst"
        path.write_bytes(data)
        with pytest.raises(InputError, match=r"compressed data is corrupt .*cut off"):
            load([path])
    path = tmp_path / "whole.jsonl.zst"
    path.write_bytes(whole + zstandard.ZstdCompressor().compress(b'{"text": "a second frame"}\n'))
    assert load([path]).rows.height == 60_001


def test_every_frame_of_a_multi_frame_zstd_file_is_read(tmp_path):
    one = b"".join(json.dumps({"text": f"row {i} of frame one"}).encode() + b"\n" for i in range(5))
    two = b"".join(json.dumps({"text": f"row {i} of frame two"}).encode() + b"\n" for i in range(5))
    path = tmp_path / "parts.jsonl.zst"
    packer = zstandard.ZstdCompressor()
    path.write_bytes(packer.compress(one) + packer.compress(two))  # e.g. `cat a.zst b.zst`
    ds = load([path])
    assert ds.rows.height == 10 and ds.rows["text"][-1] == "row 4 of frame two"


# --- item 10: Parquet columns JSON cannot hold as they are --------------------------------------


def _odd_parquet(path: Path) -> None:
    pl.DataFrame(
        {
            "text": ["hello there friend", "another row here", "third row of text"],
            "label": ["a", "b", "a"],
            "blob": [b"\x00\xff", b"ab", None],
            "price": pl.Series(
                [decimal.Decimal("1.50"), decimal.Decimal("2.25"), None], dtype=pl.Decimal(10, 2)
            ),
            "wait": pl.Series([datetime.timedelta(seconds=5), None, datetime.timedelta(days=1)]),
            "day": [datetime.date(2024, 1, 1)] * 3,
        }
    ).write_parquet(path)


def test_nan_and_infinity_in_parquet_are_said_to_become_null(tmp_path):
    path = tmp_path / "scores.parquet"
    pl.DataFrame(
        {
            "text": [f"row number {i} of the scores" for i in range(4)],
            "label": ["a", "b", "a", "b"],
            "score": [0.5, float("nan"), float("inf"), 1.0],
            "weight": [1.0, 2.0, 3.0, 4.0],
        }
    ).write_parquet(path)
    ds = load([path])
    assert ds.inputs[0].notes == [
        "scores.parquet: NaN or infinite values become null in JSON, as written: score (2)"
    ]
    assert [orjson.loads(r)["score"] for r in ds.rows["raw"].to_list()] == [0.5, None, None, 1.0]


def test_parquet_with_binary_decimal_and_duration_columns_is_read_and_written(tmp_path):
    path = tmp_path / "types.parquet"
    _odd_parquet(path)
    _odd_parquet(tmp_path / "eval.parquet")  # read as an eval set too (a file is not its own)
    assert _scan(str(path), "--eval", str(tmp_path / "eval.parquet")).exit_code == 0
    out = tmp_path / "out"
    result = _split(str(path), "--out", str(out), "--state-dir", str(tmp_path / "s"))
    assert result.exit_code == 0, result.output
    written = [
        json.loads(x)
        for n in ("train", "validation", "test")
        for x in (out / f"{n}.jsonl").read_bytes().splitlines()
    ]
    first = next(r for r in written if r["text"] == "hello there friend")
    assert first == {
        "text": "hello there friend",
        "label": "a",
        "blob": "AP8=",
        "price": "1.50",
        "wait": "5s",
        "day": "2024-01-01",
    }


# --- item 11: messages that point at the problem -------------------------------------------------


def test_invalid_utf8_names_the_byte_and_the_line(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"text": "plain row"}\n{"text": "caf\xe9 au lait"}\n')
    ds = load([path])
    assert _bad(ds) == [(2, "not valid UTF-8 (byte 0xe9 at column 14); the file must be UTF-8")]


@pytest.mark.parametrize(
    "encoding, bom", [("utf-16", "FF FE"), ("utf-16-be", None), ("utf-32", "FF FE 00 00")]
)
def test_utf16_and_utf32_files_are_refused_in_one_line(tmp_path, encoding, bom):
    path = tmp_path / "wide.jsonl"
    text = '{"text": "hello there"}\n'
    data = text.encode(encoding) if bom else b"\xfe\xff" + text.encode(encoding)
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        load([path])
    name = {"utf-16": "UTF-16LE", "utf-16-be": "UTF-16BE", "utf-32": "UTF-32LE"}[encoding]
    assert str(caught.value) == (
        f"{path}: is {name} (byte order mark {bom or 'FE FF'}), not UTF-8; convert it first, "
        f"for example with iconv -f {name} -t UTF-8"
    )


@pytest.mark.parametrize(
    "encoding, name", [("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE"), ("utf-32-le", "UTF-32LE")]
)
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_utf16_and_utf32_without_a_byte_order_mark_are_named_in_one_line(tmp_path, encoding, name, suffix):
    # Every line was "invalid JSON ... expected a string key", the encoding never named.
    path = tmp_path / f"wide{suffix}"
    text = '{"text": "hello there"}\n' if suffix == ".jsonl" else "text,label\nhello there,a\n"
    path.write_bytes(text.encode(encoding))
    with pytest.raises(InputError) as caught:
        load([path])
    assert str(caught.value) == (
        f"{path}: looks like {name} without a byte order mark (NUL bytes between its characters), "
        f"not UTF-8; convert it first, for example with iconv -f {name} -t UTF-8"
    )


def test_csv_rows_keep_their_physical_line_and_bad_rows_are_named(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(
        'text,label\nhello there friend,a\n"a record\nover two lines",b\nragged,row,here\n"last row",c\n'
    )
    ds = load([path])
    assert ds.rows.select("line", "text").rows() == [
        (2, "hello there friend"),
        (3, "a record\nover two lines"),
        (6, "last row"),
    ]
    assert _bad(ds) == [(5, "3 fields where the header has 2")]


def test_a_set_aside_csv_record_keeps_its_own_text(tmp_path):
    # Its fields joined again lost the quotes (and a record's second line): dropped.jsonl
    # held a line the input never had.
    path = tmp_path / "data.csv"
    path.write_bytes(
        b'text,label\nfine row,a\n"prompt, with comma","answer with ""quotes""",EXTRA\n'
        b'"two\nlines",b,c\nlast,b\n'
    )
    ds = load([path])
    assert ds.bad_lines.select("line", "raw").rows() == [
        (3, b'"prompt, with comma","answer with ""quotes""",EXTRA'),
        (4, b'"two\nlines",b,c'),
    ]
    # Lines ended by a lone CR (old Mac exports) are lines too: the raw was empty.
    cr = tmp_path / "cr.csv"
    cr.write_bytes(b'text,label\rfine row,a\rragged,row,here\r"two\rlines",b,c\rlast,b\r')
    ds = load([cr])
    assert ds.rows["text"].to_list() == ["fine row", "last"]
    assert ds.bad_lines.select("line", "raw").rows() == [(3, b"ragged,row,here"), (4, b'"two\rlines",b,c')]
    # Windows line ends stay as they were: the record's own CR, not the last line's LF.
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(b"text,label\r\nfine row,a\r\nragged,row,here\r\nlast,b\r\n")
    assert load([crlf]).bad_lines.select("line", "raw").rows() == [(3, b"ragged,row,here\r")]


def test_an_unterminated_csv_quote_is_a_bad_line_where_it_starts(tmp_path):
    path = tmp_path / "open.csv"
    path.write_text('text,label\nhello there friend,a\n"never closed,b\nmore,c\n')
    ds = load([path])
    assert ds.rows["text"].to_list() == ["hello there friend"]
    assert _bad(ds) == [(3, "not valid CSV from here on (unexpected end of data)")]


# --- item 12: chat content and repeated keys ------------------------------------------------------


def _chat_line(user_content: object, extra: str = "") -> str:
    turn = {"role": "user", "content": user_content} if user_content is not None else {"role": "user"}
    return json.dumps({"messages": [turn, {"role": "assistant", "content": "an answer" + extra}]})


def test_a_turn_without_content_is_a_bad_line_and_image_parts_are_left_out(tmp_path):
    path = tmp_path / "chat.jsonl"
    parts = [
        {"type": "text", "text": "what is in this picture"},
        {"type": "image_url", "image_url": {"url": "x"}},
    ]
    path.write_text("\n".join([_chat_line(parts), _chat_line(None), _chat_line("plain question")]) + "\n")
    ds = load([path])
    assert ds.rows["text"].to_list() == ["what is in this picture\nan answer", "plain question\nan answer"]
    assert _bad(ds) == [(2, "messages[0] has no 'content'")]
    assert ds.notes == [
        "chat.jsonl: 1 image, audio or file content parts were left out of the texts (their rows are kept "
        "and written whole)"
    ]


def test_a_repeated_key_with_different_values_is_set_aside(tmp_path):
    path = tmp_path / "keys.jsonl"
    path.write_bytes(
        b'{"text": "first row here", "label": "a"}\n'
        b'{"text": "which label is it", "label": "a", "label": "b"}\n'
        b'{"text": "same value twice", "label": "a", "label": "a"}\n'
        b'{"text": "nested is not top", "meta": {"label": "x"}, "label": "b"}\n'
        b'{"text": "one", "text": "two", "label": "a"}\n'
    )
    ds = load([path])
    assert ds.rows["line"].to_list() == [1, 3, 4]
    assert _bad(ds) == [
        (2, "duplicate key 'label' with different values ('a', then 'b')"),
        (5, "duplicate key 'text' with different values ('one', then 'two')"),
    ]

    # Chat turns under "conversations" (a Hugging Face layout) are checked the same way.
    def turns(said: str) -> str:
        return json.dumps([{"role": "user", "content": said}, {"role": "assistant", "content": "ok"}])

    chat = tmp_path / "conv.jsonl"
    first, again, other = turns("first"), turns("which one"), turns("this one")
    chat.write_text(f'{{"conversations": {first}}}\n{{"conversations": {again}, "conversations": {other}}}\n')
    ds = load([chat])
    assert ds.rows["line"].to_list() == [1]
    assert [line for line, _ in _bad(ds)] == [2] and _bad(ds)[0][1].startswith(
        "duplicate key 'conversations'"
    )


def test_a_key_spelt_in_escapes_is_counted_as_the_key_it_spells(tmp_path):
    # "\\u006cabel" is "label" to the parser but not to a byte count: it passed.
    path = tmp_path / "escaped.jsonl"
    path.write_bytes(
        b'{"text": "plain row here", "label": "a"}\n'
        b'{"text": "\\u0041 plain escape in a text", "label": "a"}\n'
        b'{"text": "escaped key", "label": "a", "\\u006cabel": "b"}\n'
        b'{"text": "escaped twin, same value", "\\u006cabel": "a", "label": "a"}\n'
    )
    ds = load([path])
    assert ds.rows["line"].to_list() == [1, 2, 4]
    assert ds.rows["text"][1] == "A plain escape in a text"
    assert _bad(ds) == [(3, "duplicate key 'label' with different values ('a', then 'b')")]
    # A key that is not ASCII, as Python's json.dump writes it by default: in escapes.
    accented = tmp_path / "accented.jsonl"
    accented.write_bytes(
        b'{"text": "first", "cat\\u00e9gorie": "a"}\n'
        b'{"text": "second", "cat\\u00e9gorie": "a", "cat\\u00e9gorie": "b"}\n'
    )
    ds = load([accented], LoadSettings(label_field="catégorie"))
    assert ds.rows["label"].to_list() == ["a"]
    assert _bad(ds) == [(2, "duplicate key 'catégorie' with different values ('a', then 'b')")]
    as_array = tmp_path / "accented.json"
    as_array.write_bytes(b"[" + b",".join(accented.read_bytes().splitlines()) + b"]")
    assert _bad(load([as_array], LoadSettings(label_field="catégorie"))) == _bad(ds)


def test_a_repeated_key_in_a_json_array_record_is_set_aside_as_in_jsonl(tmp_path):
    # A .json array kept the last value without a word (its records are written as parsed).
    path = tmp_path / "rows.json"
    path.write_bytes(
        b'[\n  {"text": "first row here", "label": "a"},\n'
        b'  {"text": "which label is it", "label": "a", "label": "b"} ,\n'
        b'  {"text": "same value twice", "label": "a", "label": "a"},'
        b'{"text": "escaped", "label": "a", "\\u006cabel": "c"},\n'
        b'  {"text": "[not] a {bracket} problem, \\"label\\": x", "label": "b"}\n]\n'
    )
    ds = load([path])
    assert ds.rows["text"].to_list() == [
        "first row here",
        "same value twice",
        '[not] a {bracket} problem, "label": x',
    ]
    assert _bad(ds) == [
        (2, "duplicate key 'label' with different values ('a', then 'b')"),
        (4, "duplicate key 'label' with different values ('a', then 'c')"),
    ]
    # Set aside as in the file: the record written back as parsed held 'b' alone.
    assert ds.bad_lines["raw"].to_list() == [
        b'{"text": "which label is it", "label": "a", "label": "b"}',
        b'{"text": "escaped", "label": "a", "\\u006cabel": "c"}',
    ]
    # A key's end laid out with whitespace before its colon is a key all the same.
    path.write_bytes(b'[{"text": "spaced out" , "label" :"a",\n "label"\n\t: "b"}]')
    with pytest.raises(InputError, match=r"first problem, line 1: duplicate key 'label'"):
        load([path])


def test_a_repeated_key_inside_a_json_array_record_sets_it_aside_as_written(tmp_path):
    # A chat turn's or a metadata object's repeat: the record is written back as parsed,
    # so the first value was gone from the split that held it.
    records = [
        {
            "messages": [
                {"role": "user", "content": "refund please"},
                {"role": "assistant", "content": "done"},
            ]
        },
        {"messages": [{"role": "user", "content": "track my order"}, {"role": "assistant", "content": "ok"}]},
        {"text": "a plain row with metadata", "meta": {"source": {"site": "a"}}},
    ]
    text = json.dumps(records, indent=2)
    text = text.replace('"content": "refund please"', '"content": "refund please",\n "content": "cancel it"')
    text = text.replace('"site": "a"', '"site": "a", "site": "b"')
    path = tmp_path / "nested.json"
    path.write_text(text)
    ds = load([path], LoadSettings(format="chat"))
    assert ds.rows["text"].to_list() == ["track my order\nok"]
    inside = "with different values ('refund please', then 'cancel it') inside the record"
    assert _bad(ds) == [
        (1, f"duplicate key 'content' {inside}"),
        (3, "duplicate key 'site' with different values ('a', then 'b') inside the record"),
    ]
    first = ds.bad_lines["raw"][0].decode()
    assert '"content": "refund please",\n "content": "cancel it"' in first and first.startswith("{\n")
    # Written out: both values are in dropped.jsonl, and the split holds the other row.
    out = tmp_path / "out"
    result = _split(str(path), "--format", "chat", "--out", str(out), "--state-dir", str(tmp_path / "st"))
    assert result.exit_code == 0, result.output
    dropped = [json.loads(line) for line in (out / "dropped.jsonl").open()]
    assert [d["line"] for d in dropped] == [1, 3]
    assert "cancel it" in dropped[0]["raw"] and "refund please" in dropped[0]["raw"]
    kept = [line for name in ("train", "validation", "test") for line in (out / f"{name}.jsonl").open()]
    assert [json.loads(line)["messages"][0]["content"] for line in kept] == ["track my order"]
    # The same values twice lose nothing: kept.
    path.write_text(json.dumps(records).replace('"site": "a"', '"site": "a", "site": "a"'))
    assert load([path], LoadSettings(format="chat")).rows.height == 2  # the text row is not chat


def test_no_spelling_of_a_json_array_hides_a_repeated_key(tmp_path):
    # A quote or colon spelt in a \u escape inside a string (as .NET writes quotes) took
    # one from the file's count of key ends and hid a repeat; 1 and true, 0 and false
    # counted as one value; a record nested past Python's parser ended the search.
    repeat = '{"text": "is my order late", "label": "billing", "label": "shipping"}'
    deep = '{"text": "deep", "label": "x", "m": ' + "[" * 1000 + "]" * 1000 + "}"
    cases = {
        "quote": ['{"text": "parse {\\u0022a\\u0022: 1} please", "label": "code"}', repeat],
        "colon": ['{"text": "json: {\\"k\\"\\u003a 1}", "label": "code"}', repeat],
        "deep": [deep, repeat],
    }
    fine = '{"text": "where is the invoice", "label": "billing"}'
    for name, records in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text("[\n" + ",\n".join([*records, fine]) + "\n]\n")
        ds = load([path])
        assert ds.rows["text"].to_list()[-1] == "where is the invoice"
        last = ds.bad_lines.select("line", "reason", "raw").rows()[-1]
        assert last == (
            2,
            "duplicate key 'label' with different values ('billing', then 'shipping')",
            repeat.encode(),
        )
    # The deep record cannot be written as JSON either: set aside for that, as before.
    first = load([tmp_path / "deep.json"]).bad_lines.row(0, named=True)
    assert (first["line"], first["reason"][:36]) == (1, "record cannot be written as JSON (Re")
    typed = tmp_path / "typed.json"
    typed.write_text(
        '[{"text": "keep me", "label": "ok"}, {"text": "b", "label": 1, "label": true},'
        ' {"text": "c", "label": "z", "m": {"flag": 0, "flag": false}}, {"text": "d", "n": 1, "n": 1.0}]'
    )
    assert _bad(load([typed])) == [
        (2, "duplicate key 'label' with different values (1, then True)"),
        (3, "duplicate key 'flag' with different values (0, then False) inside the record"),
        (4, "duplicate key 'n' with different values (1, then 1.0)"),
    ]
    lines = tmp_path / "typed.jsonl"
    lines.write_text('{"text": "b", "label": 1, "label": true}\n{"text": "fine", "label": "a"}\n')
    assert _bad(load([lines])) == [(1, "duplicate key 'label' with different values (1, then True)")]


def test_an_integer_past_64_bits_in_a_json_array_is_written_digit_for_digit(tmp_path):
    # orjson reads it as a float: the split held 1.8446744073709552e+19 for the input's
    # 18446744073709551616. NaN and overflowing numbers stay refused, as before.
    path = tmp_path / "big.json"
    path.write_text(
        "[" + ",\n".join(f'{{"text": "row {i} of the array", "n": {2**64 + i}}}' for i in range(40)) + "]"
    )
    out = tmp_path / "out"
    result = _split(str(path), "--out", str(out), "--state-dir", str(tmp_path / "st"))
    assert result.exit_code == 0, result.output
    written = sorted(
        json.loads(line)["n"]
        for name in ("train", "validation", "test")
        for line in (out / f"{name}.jsonl").open()
    )
    assert written == [2**64 + i for i in range(40)]
    # Nineteen digits below -2**63 turn to floats as well.
    (tmp_path / "neg.json").write_text('[{"text": "a negative one", "n": -9223372036854775809}]')
    assert load([tmp_path / "neg.json"]).raw_lines([0]) == [
        b'{"text":"a negative one","n":-9223372036854775809}'
    ]
    # Nested past Python's parser (and repr): a bad line with its reason, not a traceback.
    for depth in (990, 1000):
        deep = "[" * depth + "]" * depth
        (tmp_path / "deep.json").write_text(f'[{{"text": "call 12345678901234567890", "deep": {deep}}}]')
        with pytest.raises(
            InputError, match=r"no readable records \(first problem, line 1: record cannot be"
        ):
            load([tmp_path / "deep.json"])
    for bad in (b'[{"text": "x", "n": NaN, "z": 12345678901234567890123}]', b'[{"text": "x", "n": 1e400}]'):
        (tmp_path / "bad.json").write_bytes(bad)
        with pytest.raises(InputError, match="invalid JSON"):
            load([tmp_path / "bad.json"])


def test_a_file_of_a_byte_order_mark_alone_is_said_to_hold_no_record(tmp_path):
    # "first problem, line 1: UTF-8 byte order mark ... (removed; row kept)" named a
    # notice as the problem.
    path = tmp_path / "bom.jsonl"
    path.write_bytes(BOM)
    with pytest.raises(InputError, match=r"bom.jsonl: no readable records \(it holds none\)$"):
        load([path])


def test_a_repeated_key_in_a_wide_json_array_is_found_by_walking_it(tmp_path):
    # With more keys than are worth a scan of the file each, the records are walked.
    wide = [{"text": f"row {i} of a wide table"} | {f"c{j}": j for j in range(40)} for i in range(3)]
    lines = [json.dumps(r) for r in wide]
    lines[1] = lines[1].replace('"c7": 7', '"c7": 7, "c7": 8')
    path = tmp_path / "wide.json"
    path.write_text("[" + ",\n".join(lines) + "]")
    ds = load([path])
    assert ds.rows.height == 2
    assert _bad(ds) == [(2, "duplicate key 'c7' with different values (7, then 8)")]


def test_a_repeated_key_in_a_chat_turn_keeps_its_last_value_as_parsers_do(tmp_path):
    # Not counted (a count per turn key made loading a sixth slower): the row is read as
    # Python's json and Hugging Face's loaders read it, with the last value.
    path = tmp_path / "turns.jsonl"
    path.write_bytes(
        b'{"messages": [{"role": "user", "content": "refund?", "content": "cancel?"}, '
        b'{"role": "assistant", "content": "done"}]}\n'
    )
    ds = load([path])
    assert ds.rows["text"].to_list() == ["cancel?\ndone"] and ds.bad_lines.height == 0
    # Whatever else the line holds: an escape sent the line to be parsed again, and the
    # turn's repeat was then set aside there only. (In a .json array it is set aside: see
    # test_a_repeated_key_inside_a_json_array_record_sets_it_aside_as_written.)
    path.write_bytes(path.read_bytes().replace(b'"done"', b'"d\\u006fne"'))
    ds = load([path])
    assert ds.rows["text"].to_list() == ["cancel?\ndone"] and ds.bad_lines.height == 0


def test_records_nested_or_typed_oddly_are_bad_lines_not_a_crash(tmp_path):
    # Each of these ended the whole load with a traceback (TypeError: unhashable type;
    # RecursionError in the repeated-key check; orjson's recursion limit for an id).
    deep = "[" * 400 + "]" * 400
    lines = [
        '{"messages": [{"role": "user", "content": [{"type": ["text"], "text": "x"}]}, '
        '{"role": "assistant", "content": "ok"}]}',
        '{"messages": [{"role": "user", "content": "fine"}, {"role": "assistant", "content": "ok"}], '
        '"id": "a"}',
    ]
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join(lines) + "\n")
    ds = load([path])
    assert ds.rows.height == 1
    assert _bad(ds) == [(1, "messages[0].content[0].type is a list, expected a string")]
    text = tmp_path / "text.jsonl"
    text.write_text(
        '{"text": "text", "label": "a", "x": ' + "[" * 985 + "]" * 985 + "}\n"
        '{"text": "fine row", "label": "b", "id": ' + deep + "}\n"
        '{"text": "another row", "label": "a"}\n'
    )
    ds = load([text], LoadSettings(id_field="id"))
    assert _bad(ds) == [(1, "nested too deeply to check its keys for repeats")]
    assert ds.rows["text"].to_list() == ["fine row", "another row"]


def test_a_csv_cell_over_128_kib_loses_nothing_after_it(tmp_path):
    # Python's csv field limit: the rest of the file was set aside from that cell on.
    path = tmp_path / "big.csv"
    big = "word " * 40_000  # 200 KB
    path.write_text(f'text,label\nfirst,a\n"{big}",b\nthird,a\nfourth,b\nfifth,a\n')
    ds = load([path])
    assert ds.rows["text"].to_list() == ["first", big, "third", "fourth", "fifth"] and _bad(ds) == []
    assert load([path], LoadSettings(max_row_bytes=100_000)).bad_lines["line"].to_list() == [3]


def test_blank_group_values_are_no_group_not_one_big_group(tmp_path):
    # An empty CSV cell was the value "" and joined every such row into one group.
    path = tmp_path / "users.csv"
    path.write_text(
        "text,label,user\n"
        + "".join(f"row {i} text here,ab,{'' if i % 2 else 'u' + str(i)}\n" for i in range(6))
    )
    ds = load([path], LoadSettings(group_fields=("user",)))
    assert ds.rows["groups"].to_list() == [["user=u0"], [], ["user=u2"], [], ["user=u4"], []]
    assert any("3 rows have no value for user" in note for note in ds.notes)
    jsonl = tmp_path / "users.jsonl"
    jsonl.write_text(
        '{"text": "a b c", "user": " "}\n{"text": "d e f", "user": []}\n{"text": "g h i", "user": "x"}\n'
    )
    assert load([jsonl], LoadSettings(group_fields=("user",))).rows["groups"].to_list() == [
        [],
        [],
        ["user=x"],
    ]


def test_odd_split_values_are_named_never_taken_for_the_file_name(tmp_path):
    # ["test"] in train.jsonl became train; "" gave no split while null gave train; an
    # unknown name kept its spaces.
    path = tmp_path / "train.jsonl"
    values = [["test"], 1, "", None, " Foo ", "dev"]
    path.write_text(
        "".join(json.dumps({"text": f"row {i} text", "split": v}) + "\n" for i, v in enumerate(values))
    )
    ds = load([path])
    assert ds.rows["split"].to_list() == ['["test"]', "1", "train", "train", "Foo", "validation"]
    assert any("'1' (1 row" in note and "'Foo' (1 row" in note for note in ds.notes)


def test_media_parts_are_counted_once_when_labels_send_rows_through_the_loop(tmp_path):
    # Labels that are not all strings re-extract the chunk row by row: its images were
    # counted twice (3 images said as 6).
    image = {"type": "image_url", "image_url": {"url": "http://x/a.png"}}
    path = tmp_path / "chat.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": [{"type": "text", "text": f"look {i}"}, image]},
                        {"role": "assistant", "content": "a cat"},
                    ],
                    "label": label,
                }
            )
            + "\n"
            for i, label in enumerate(["a", 1, "b"])
        )
    )
    ds = load([path])
    assert [n for n in ds.notes if "content parts" in n] == [
        "chat.jsonl: 3 image, audio or file content parts were left out of the texts (their rows are kept "
        "and written whole)"
    ]


def test_an_id_field_asked_for_and_never_found_is_said(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "one", "uid": "a"}\n{"text": "two", "uid": "b"}\n')
    ds = load([path], LoadSettings(id_field="id_"))
    assert ds.rows["key"].to_list() == ["d.jsonl:1", "d.jsonl:2"]
    assert "row keys are file:line: no record has the id field 'id_'" in ds.notes
    assert not any("id field" in n for n in load([path]).notes)  # the default 'id': nothing to say


def test_a_path_that_is_not_utf8_is_one_clear_error(tmp_path):
    # Polars cannot hold a name Python keeps as surrogates: scan, split and --eval ended
    # in a UnicodeEncodeError traceback.
    good = tmp_path / "good.jsonl"
    good.write_text(
        "".join(json.dumps({"text": f"row {i} here", "label": "ab"[i % 2]}) + "\n" for i in range(20))
    )
    bad = Path(os.fsdecode(bytes(tmp_path) + b"/bad\xffname.jsonl"))
    bad.write_bytes(good.read_bytes())
    said = (
        f"error: {tmp_path}/bad\\xffname.jsonl: the path is not valid UTF-8 (byte 0xff); rename it to read it"
    )
    for result in (
        _scan(str(bad)),
        _scan(str(good), "--eval", str(bad)),
        _split(str(bad), "--out", str(tmp_path / "out"), "--state-dir", str(tmp_path / "s")),
    ):
        assert result.exit_code == 2 and isinstance(result.exception, (SystemExit, type(None)))
        assert " ".join(result.output.split()) == said
    assert not (tmp_path / "out").exists()


def test_a_dotted_label_or_text_key_given_twice_is_a_bad_line(tmp_path):
    # Only top-level keys were counted: under --label-field meta.label, a record holding
    # "label" twice inside meta kept its last value without a word.
    lines = [json.dumps({"meta": {"text": f"row {i} says hello", "label": "ab"[i % 2]}}) for i in range(20)]
    lines[3] = '{"meta": {"text": "the first text", "label": "a", "label": "b"}}'
    lines[4] = '{"meta": {"text": "first version", "text": "second version", "label": "a"}}'
    lines[5] = '{"meta": {"text": "the same twice is no question", "label": "a", "label": "a"}}'
    lines[6] = '{"other": {"label": "x", "label": "y"}, "meta": {"text": "not read from", "label": "a"}}'
    lines[7] = '{"meta": {"text": "no label here"}}'  # hid line 4's repeat from a chunk-wide count
    path = tmp_path / "nested.jsonl"
    path.write_text("\n".join(lines) + "\n")
    ds = load([path], LoadSettings(text_field="meta.text", label_field="meta.label"))
    assert _bad(ds) == [
        (4, "duplicate key 'meta.label' with different values ('a', then 'b')"),
        (5, "duplicate key 'meta.text' with different values ('first version', then 'second version')"),
        (8, "missing label 'meta.label'"),
    ]
    assert ds.rows.height == 17
    # Alone with one record that lacks the key, a repeat was not seen at all.
    few = tmp_path / "few.jsonl"
    few.write_text(
        '{"text": "first row", "meta": {"label": "a"}}\n{"text": "second row", "meta": {}}\n'
        '{"text": "third row", "meta": {"label": "a", "label": "b"}}\n'
    )
    ds = load([few], LoadSettings(label_field="meta.label"))
    assert _bad(ds) == [
        (2, "missing label 'meta.label'"),
        (3, "duplicate key 'meta.label' with different values ('a', then 'b')"),
    ]


def test_a_json_array_record_too_deep_to_write_keeps_its_text_as_in_the_file(tmp_path):
    # orjson writes 255 levels: a record nested deeper was kept for dropped.jsonl as
    # Python's repr ({'t': True, 'n': None}), which is not the input, nor JSON.
    deep = (
        '{"instruction": "nested", "output": "x", "v": ' + "[" * 300 + "]" * 300 + ', "t": true, "n": null}'
    )
    rows = [json.dumps({"instruction": f"row {i}", "output": "fine"}) for i in range(4)]
    path = tmp_path / "deep.json"
    path.write_text("[\n" + ",\n".join([*rows[:2], deep, *rows[2:]]) + "\n]")
    ds = load([path])
    bad = ds.bad_lines.row(0, named=True)
    assert (bad["line"], bad["reason"]) == (3, "record cannot be written as JSON (Recursion limit reached)")
    assert bad["raw"] == deep.encode() and ds.rows.height == 4

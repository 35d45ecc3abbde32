"""Rows' original lines gathered from their files in windows: every line whole and in
order whatever the window size, lines longer than a window, gaps between the wanted
lines, and a last line without its newline."""

from __future__ import annotations

import json
import random

import polars as pl
import pytest

from sfttui.engine.io import rawlines
from sfttui.engine.io.load import load
from sfttui.engine.io.rawlines import RAW_COLUMNS, read_lines, stream_lines


@pytest.mark.parametrize(("span", "gap"), [(1, 1), (64, 16), (700, 200), (4 << 20, 64 << 10)])
def test_lines_come_whole_and_in_order_for_any_window(tmp_path, monkeypatch, span, gap):
    rng = random.Random(span)
    lines = [
        json.dumps({"id": i, "text": "é\u200b[b]x[/b] " * rng.choice([1, 3, 40, 300])}, ensure_ascii=False)
        for i in range(120)
    ]
    path = tmp_path / "d.jsonl"
    path.write_bytes("\n".join(lines).encode())  # the last line has no newline
    dataset = load([str(path)])
    assert dataset.rows.height == len(lines)
    monkeypatch.setattr(rawlines, "_SPAN", span)
    monkeypatch.setattr(rawlines, "_GAP", gap)
    for share in (1.0, 0.5, 0.05):
        wanted = sorted(rng.sample(range(len(lines)), max(1, int(share * len(lines)))))
        if len(lines) - 1 not in wanted:
            wanted.append(len(lines) - 1)
        rows = dataset.rows[wanted].select(*RAW_COLUMNS)
        expected = b"".join(lines[i].encode() + b"\n" for i in wanted)
        assert b"".join(stream_lines(rows, dataset.sources)) == expected
        shuffled = rows.with_row_index("_k").sample(fraction=1.0, shuffle=True, seed=span)
        got = read_lines(shuffled.drop("_k"), dataset.sources)
        assert got == [lines[wanted[k]].encode() for k in shuffled["_k"].to_list()]
    assert pl.Series(wanted).is_sorted()


def test_a_line_longer_than_many_blocks_comes_whole_once():
    from sfttui.engine.io.load import split_lines

    data = b"a\n" + b"x" * 1_000 + b"\n\nb\r\n" + b"y" * 777  # the last line has no newline
    for size in (1, 2, 3, 7, 64, 5_000):
        blocks = [data[i : i + size] for i in range(0, len(data), size)]
        got = [line for lines in split_lines(blocks) for line in lines]
        assert got == data.split(b"\n"), size

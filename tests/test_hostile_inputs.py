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

import polars as pl
import pytest
import zstandard
from click.testing import CliRunner

from sfttui.cli import main
from sfttui.engine.errors import InputError
from sfttui.engine.load import load


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

"""Hostile inputs and habits, export side: every input format, output directories that must
not be replaced, crashes between renames, the umask, split names, empty and repeated inputs.

Part of the hostile-input battery (tests/test_hostile_*.py): each test here failed on the
code before it was fixed (issue 15).
"""

from __future__ import annotations

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

SPLIT_FILES = ("train.jsonl", "validation.jsonl", "test.jsonl")


def _split(*args: str):
    return CliRunner().invoke(main, ["split", *args])


def _scan(*args: str):
    return CliRunner().invoke(main, ["scan", *args])


def _records(n: int = 40) -> list[dict]:
    topics = ["billing", "refund", "login", "shipping"]
    return [
        {
            "text": f"question {i} about {topics[i % 4]} and the account number {i * 7919}",
            "label": topics[i % 4],
        }
        for i in range(n)
    ]


def _jsonl_bytes(records: list[dict]) -> bytes:
    # ensure_ascii off and a space after colons: the byte-identical check must see the
    # input's own spelling of each line, not orjson's.
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def _write_format(directory: Path, fmt: str, records: list[dict]) -> Path:
    raw = _jsonl_bytes(records)
    if fmt == "jsonl":
        path = directory / "data.jsonl"
        path.write_bytes(raw)
    elif fmt == "jsonl.gz":
        path = directory / "data.jsonl.gz"
        path.write_bytes(gzip.compress(raw))
    elif fmt == "jsonl.zst":
        path = directory / "data.jsonl.zst"
        path.write_bytes(zstandard.ZstdCompressor().compress(raw))
    elif fmt in ("csv", "tsv"):
        path = directory / f"data.{fmt}"
        pl.DataFrame(records).write_csv(path, separator="," if fmt == "csv" else "\t")
    elif fmt == "parquet":
        path = directory / "data.parquet"
        pl.DataFrame(records).write_parquet(path)
    else:
        path = directory / "data.json"
        path.write_text(json.dumps(records))
    return path


def _written_lines(out: Path) -> list[bytes]:
    return [line for name in SPLIT_FILES for line in (out / name).read_bytes().splitlines()]


# --- item 1: export from every supported input format -------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "jsonl.zst"])
def test_jsonl_in_any_compression_is_written_byte_for_byte(tmp_path, fmt):
    records = _records()
    data = _write_format(tmp_path, fmt, records)
    out = tmp_path / "out"
    result = _split(str(data), "--out", str(out), "--state-dir", str(tmp_path / "state"))
    assert result.exit_code == 0, result.output
    assert sorted(_written_lines(out)) == sorted(_jsonl_bytes(records).splitlines())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["written_as_jsonl"] == []
    assert sum(manifest["counts"][s] for s in ("train", "validation", "test")) == 40


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "json"])
def test_other_formats_are_written_as_one_json_record_per_line(tmp_path, fmt):
    records = _records()
    data = _write_format(tmp_path, fmt, records)
    out = tmp_path / "out"
    result = _split(str(data), "--out", str(out), "--state-dir", str(tmp_path / "state"))
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in _written_lines(out)]
    key = lambda r: (r["text"], r["label"])  # noqa: E731
    assert sorted(written, key=key) == sorted(records, key=key)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["written_as_jsonl"] == [data.name]

"""Reports validate against the published JSON Schema (sfttui/data/report.schema.json)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import polars as pl
import pytest
from click.testing import CliRunner

from sfttui.cli import demo_path, main
from sfttui.engine.report import SCHEMA

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "sfttui" / "data" / "report.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _report(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["scan", *args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def _errors(validator: jsonschema.Draft202012Validator, report: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(report)]


def test_the_schema_names_the_version_reports_carry(validator):
    assert validator.schema["properties"]["schema"] == {"const": SCHEMA}


def test_the_demo_report_with_a_reference_validates(validator, tmp_path):
    demo = demo_path()
    report = _report(
        tmp_path, str(demo), "--by", "user_id", "--reference", str(demo.with_name("demo_production.jsonl"))
    )
    assert report["representativeness"]["reference_given"] and report["duplicates"]["clusters"]
    assert _errors(validator, report) == []


def test_a_report_with_splits_leaks_eval_hits_and_no_labels_validates(validator, write_jsonl, tmp_path):
    prompt = "how do i reset the password on my router after the firmware update failed"
    train = [{"text": f"{prompt} number {i} today", "split": "train"} for i in range(3)]
    train += [
        {"text": f"an unrelated question about shipping times {i} and costs", "split": "train"}
        for i in range(5)
    ]
    test = [
        {"text": f"{prompt} number 1 today", "split": "test"},
        {"text": "what colour is the sky", "split": "test"},
    ]
    data = write_jsonl("data.jsonl", train + test)
    gold = write_jsonl("gold.jsonl", [{"text": f"{prompt} number 2 today"}])
    report = _report(tmp_path, str(data), "--eval", str(gold))
    assert report["leakage"]["between_splits"] and report["leakage"]["eval"]
    assert report["balance"] == {"applies": False, "reason": report["balance"]["reason"]}
    assert _errors(validator, report) == []


def test_the_schema_catches_a_report_that_breaks_it(validator, write_jsonl, tmp_path):
    # The schema must be able to fail: a wrong type, a missing field and an unknown kind.
    data = write_jsonl("d.jsonl", [{"text": f"row number {i} here", "label": "ab"[i % 2]} for i in range(6)])
    report = _report(tmp_path, str(data), "--min-label-count", "1")
    report["rows"] = "6"
    del report["duplicates"]["rows_removable"]
    report["not_checked"]["typo"] = "x"
    errors = _errors(validator, report)
    assert len(errors) == 3, errors


def test_a_report_of_arrow_and_parquet_inputs_validates(validator, tmp_path):
    # An .arrow input wrote container "arrow", which the schema did not allow.
    rows = [{"text": f"question number {i} about the weather", "label": "ab"[i % 2]} for i in range(8)]
    arrow, parquet = tmp_path / "train.arrow", tmp_path / "test.parquet"
    pl.DataFrame(rows).write_ipc(arrow)
    pl.DataFrame(rows[:3]).write_parquet(parquet)
    report = _report(tmp_path, str(arrow), str(parquet))
    assert [i["container"] for i in report["inputs"]] == ["arrow", "parquet"]
    assert _errors(validator, report) == []

"""The row browser's search: words and filters, findings, bad lines that are not UTF-8."""

from __future__ import annotations

import pytest

from sfttui.engine.row_query import RowQuery, matching_rows
from sfttui.engine.session import Session


def test_queries_parse_into_words_and_filters():
    q = RowQuery.parse("refund  label:billing split:test late")
    assert (q.words, q.label, q.split, q.file, q.finding) == ("refund late", "billing", "test", None, None)
    assert q.describe() == '"refund late" label:billing split:test'
    assert RowQuery.parse("http://x.org a:b").words == "http://x.org a:b"  # not a filter name
    with pytest.raises(ValueError, match="finding:nope is none of"):
        RowQuery.parse("finding:nope")


def test_bad_lines_are_searched_as_bytes(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"text": "a refund row", "label": "a"}\n\xff\xfe not json, refund\n{"text": 5}\n')
    session = Session(paths=[str(path)], state_dir=str(tmp_path / "state"), writes_state=False)
    session.analyse()
    bad = matching_rows(session, RowQuery.parse("finding:bad refund")).bad_lines
    assert bad is not None and bad["line"].to_list() == [2]
    assert len(matching_rows(session, RowQuery.parse("finding:bad"))) == 2
    assert matching_rows(session, RowQuery.parse("REFUND")).rows.to_list() == [0]


def test_finding_dropped_is_every_row_the_write_leaves_out(tmp_path):
    # It listed the rows dropped by decisions only: 11 on TREC after `D`, where the
    # export dropped 96 (exact copies, caps and eval hits too).
    from sfttui.cli import demo_path

    session = Session(paths=[str(demo_path())], state_dir=str(tmp_path / "state"))
    session.analyse()
    session.drop_rows(["t00001"], reason="off topic")
    plan = session.plan()
    rows = set(session.dataset.rows["key"])
    expected = {k for k in plan.dropped["key"] if k in rows}
    found = matching_rows(session, RowQuery.parse("finding:dropped")).rows.to_list()
    keys = set(session.dataset.rows["key"].gather(found))
    assert keys == expected and "t00001" in keys and len(keys) > 90
    assert set(plan.dropped.filter(plan.dropped["kind"] == "exact duplicate")["key"]) <= keys

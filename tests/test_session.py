"""The session: results that are all there once analysed, and never half there before."""

from __future__ import annotations

import pytest

from sfttui.engine.session import NotAnalysed, Session


def test_results_are_all_set_by_analyse_and_none_is_half_there_before(write_jsonl, tmp_path):
    data = write_jsonl(
        "d.jsonl", [{"text": f"row number {i} of the set", "label": "ab"[i % 2]} for i in range(8)]
    )
    session = Session(paths=[str(data)], state_dir=str(tmp_path / "state"))
    assert not session.ready and session.threshold == 0.8
    for name in ("dataset", "duplicates", "balance", "leakage", "coverage", "representativeness", "journal"):
        with pytest.raises(NotAnalysed):
            getattr(session, name)
    session.analyse()
    assert (
        session.ready
        and session.dataset.rows.height == 8
        and session.balance.overall.counts == {"a": 4, "b": 4}
    )
    before = session.workspace
    session.set_threshold(0.7)
    # A new threshold is a new workspace with new clusters; everything else is the same object.
    assert session.workspace is not before and session.duplicates.threshold == 0.7
    assert session.dataset is before.scan.dataset and session.journal is before.journal

"""The scan is its registry: every step is a field of the result, runs in the order of its
stage, reports its stage once, and owns the --fail-on kinds, report sections and summary
lines the outputs show (in registry order)."""

from __future__ import annotations

from dataclasses import fields

from sfttui.engine.registry import CHECKS, STEPS
from sfttui.engine.report import build_report
from sfttui.engine.result import ScanResult
from sfttui.engine.runtime.progress import Stage
from sfttui.engine.scan import RUN_ORDER, run_scan
from sfttui.engine.settings import FAIL_KINDS


def test_every_step_is_a_field_of_the_result_and_every_result_field_a_step():
    assert [s.name for s in STEPS] == [
        f.name for f in fields(ScanResult) if f.name not in ("settings", "dataset", "analyses", "timings")
    ]


def test_steps_run_in_the_order_of_their_stages():
    assert [s.name for s in RUN_ORDER] == [
        "quality",
        "outliers",
        "lengths",
        "duplicates",
        "balance",
        "leakage",
        "coverage",
        "representativeness",
        "drift",
    ]
    stages = list(Stage)
    assert [stages.index(s.stage) for s in RUN_ORDER] == sorted(stages.index(s.stage) for s in RUN_ORDER)


def test_each_kind_is_one_steps_and_the_report_follows_the_registry(write_jsonl):
    assert tuple(c.kind for c in CHECKS) == FAIL_KINDS
    rows = [{"text": f"row {i} about topic {i % 5}", "label": "ab"[i % 2]} for i in range(30)]
    calls: list[tuple[str, float]] = []
    result = run_scan([write_jsonl("d.jsonl", rows)], progress=lambda s, f: calls.append((s, f)))
    report = build_report(result)
    sections = [key for step in STEPS for key in step.report(result)]
    keys = list(report)
    assert keys[keys.index("analyses") + 1 : keys.index("findings")] == sections
    assert sections[:2] == ["duplicates", "conflicts"]
    # Quality and outliers share one bracket of their stage: 0 once, then 1 once.
    assert [f for s, f in calls if s == Stage.QUALITY] == [0.0, 1.0]
    assert [f for s, f in calls if s == Stage.BALANCE] == [0.0, 1.0]
    assert calls.index((Stage.QUALITY, 1.0)) < calls.index((Stage.BALANCE, 0.0))
    assert set(result.timings) >= {"load", "quality", "lengths", "duplicates", "balance", "leakage"}


def test_a_block_timed_within_another_is_counted_once(monkeypatch):
    # The duplicates step times its input pass as "input": the runner's "duplicates" once
    # counted it too, so the stages summed to more than the scan took.
    import itertools

    import sfttui.engine.steps as steps

    clock = itertools.count(0.0, 1.0)  # each reading of the clock is 1 s after the last
    monkeypatch.setattr(steps.time, "perf_counter", lambda: next(clock))
    ctx = steps.Context(dataset=None, settings=None, progress=None, engine=None)  # type: ignore[arg-type]
    with ctx.timed("duplicates"):  # reads 0
        with ctx.timed("input"):  # reads 1 and 2
            pass
        with ctx.timed("input"):  # reads 3 and 4
            pass
    # ... and 5: 5 s in all, 2 of them input's.
    assert ctx.timings == {"input": 2.0, "duplicates": 3.0}

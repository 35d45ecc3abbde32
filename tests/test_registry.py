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


def test_eval_near_matches_are_made_before_the_input_pass_and_equal_a_late_match(write_jsonl, monkeypatch):
    # The example side's band keys are its largest holding: eval items are matched against
    # them before the input side signs its own, and the hits are what matching in the
    # leakage step (with the keys kept) gives.
    from sfttui.engine import registry
    from sfttui.engine.analyses.leakage import eval_leakage
    from sfttui.engine.settings import ScanSettings

    # Long answers, short prompts: the eval item is near row 4's whole example, while
    # its prompt alone (two of five words changed) is not near row 4's.
    words = [f"w{i}" for i in range(600)]
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"question {i} about topic {i}"},
                {"role": "assistant", "content": " ".join(words[i * 40 : i * 40 + 40])},
            ]
        }
        for i in range(12)
    ]
    evals = [
        {
            "messages": [
                {"role": "user", "content": "question x about subject 3"},
                {"role": "assistant", "content": " ".join(words[120:160])},
            ]
        },
        {
            "messages": [
                {"role": "user", "content": "nothing like any row"},
                {"role": "assistant", "content": "x"},
            ]
        },
    ]
    path, eval_path = write_jsonl("train.jsonl", rows), write_jsonl("eval.jsonl", evals)
    held_at_input: list[object] = []
    made: list[object] = []
    find = registry.find_duplicates

    def spy(rows, *args, side="example", **kwargs):
        if side == "input":
            held_at_input.append(made[0].signatures)
        made.append(find(rows, *args, side=side, **kwargs))
        return made[-1]

    loads: list[object] = []
    load_eval = registry._load_eval
    monkeypatch.setattr(registry, "_load_eval", lambda s: loads.append(load_eval(s)) or loads[-1])
    monkeypatch.setattr(registry, "find_duplicates", spy)
    settings = ScanSettings(eval_paths=(str(eval_path),))
    result = run_scan([path], settings)
    assert held_at_input == [None]  # matched and let go before the input pass
    # The early pairs index the eval set the leakage step reports: it is loaded once.
    assert len(loads) == 1 and result.leakage.eval_set is loads[0]
    hits = result.leakage.eval_hits
    near = hits.filter(hits["kind"] == "near")
    assert set(zip(near["side"], near["key"], near["eval_key"])) >= {
        ("example", "train.jsonl:4", "eval.jsonl:1")
    }
    monkeypatch.setattr(registry, "find_duplicates", find)
    plain = run_scan([path], settings)
    late = eval_leakage(
        plain.dataset.rows,
        plain.dataset.rows["split"],
        plain.leakage.eval_set,
        distinct=plain.duplicates.distinct,
        inputs=plain.duplicates.input.distinct,
    )
    assert hits.equals(late)


def test_the_band_keys_are_kept_only_for_an_eval_set_to_reuse(tmp_path, monkeypatch):
    """Without an eval set nothing reads the passes' band keys after them (~200 MB per
    million rows): each pass's go with it, and the report is what keeping them gave."""
    import sfttui.engine.registry as registry
    from sfttui.engine.settings import ScanSettings

    from .conftest import DEMO, demo_eval_file

    kept: list[tuple[str, bool]] = []
    forced: list[bool] = []
    original = registry.find_duplicates

    def recording(*args, **kwargs):
        if forced:
            kwargs["keep_keys"] = True
        found = original(*args, **kwargs)
        kept.append((found.side, found.signatures is not None))
        return found

    monkeypatch.setattr(registry, "find_duplicates", recording)
    without = run_scan([DEMO], ScanSettings())
    assert kept == [("example", False), ("input", False)]
    kept.clear()
    forced.append(True)
    assert build_report(run_scan([DEMO], ScanSettings())) == build_report(without)
    assert kept == [("example", True), ("input", True)]
    kept.clear()
    forced.clear()
    with_eval = run_scan([DEMO], ScanSettings(eval_paths=(str(demo_eval_file(tmp_path)),)))
    assert kept == [("example", True), ("input", True)]
    assert with_eval.leakage.eval_hits.height > 0


def test_counts_agree_with_their_nouns():
    from sfttui.engine.findings import many

    assert [many(n, "row") for n in (0, 1, 2, 1234)] == ["0 rows", "1 row", "2 rows", "1,234 rows"]
    assert (many(1, "reply", "replies"), many(3, "reply", "replies")) == ("1 reply", "3 replies")

"""One full scan: load the inputs, then run every step of the registry; what ran, what
was skipped and why. The runner knows no analysis by name (see steps.py, registry.py)."""

from __future__ import annotations

import contextlib
import os
import time

from .analyses.lengths import open_tokenizer
from .errors import InputError
from .io.load import check_inputs, load
from .io.texts import sweep_abandoned
from .registry import STEPS
from .result import ScanResult
from .runtime.memory import release
from .runtime.parallel import LOCAL, Engine
from .runtime.progress import Progress, Stage, no_progress
from .settings import ScanSettings
from .steps import Context, Step

__all__ = ["RUN_ORDER", "ScanResult", "run_scan"]


def run_scan(
    paths: list[str | os.PathLike[str]],
    settings: ScanSettings | None = None,
    progress: Progress = no_progress,
    explore_floor: float | None = None,
    engine: Engine = LOCAL,
    spill: bool = False,
) -> ScanResult:
    """Load the inputs and run every analysis that applies to them.

    `explore_floor` keeps near pairs down to that similarity (see find_duplicates).
    The engine runs the row-scale stages (load, duplicates, eval leakage); the rest
    works on aggregates or bounded samples, here. With `spill` (--low-memory), the
    rows' texts are kept in temporary files once loaded and read a slice at a time
    (see texts.py); the app keeps them at hand.
    """
    settings = settings or ScanSettings()
    _refuse_inputs_as_references(paths, settings)
    # Opened before the rows load, so a wrong path fails at once; then used as it is.
    tokenizer = open_tokenizer(settings.lengths.tokenizer) if settings.lengths.tokenizer is not None else None
    start = time.perf_counter()
    dataset = load(paths, settings.load, progress, engine)
    if spill:
        dataset = dataset.spill_texts()  # which sweeps first
    else:
        sweep_abandoned()
    ctx = Context(dataset, settings, progress, engine, explore_floor, tokenizer)
    ctx.timings["load"] = time.perf_counter() - start
    release()
    for i, step in enumerate(RUN_ORDER):
        before = RUN_ORDER[i - 1] if i else None
        after = RUN_ORDER[i + 1] if i + 1 < len(RUN_ORDER) else None
        with ctx.timed(step.timing_key):
            if step.bracket and not _one_bracket(before, step):
                progress(step.stage, 0.0)
            ctx.results[step.name] = step.run(ctx)
            if step.bracket and not _one_bracket(step, after):
                progress(step.stage, 1.0)
        if step.release:
            release()
    result = ScanResult(settings, dataset, **ctx.results, timings=ctx.timings)
    result.analyses = [a for step in STEPS for a in step.describe(result)]
    return result


def _refuse_inputs_as_references(paths: list[str | os.PathLike[str]], settings: ScanSettings) -> None:
    """An --eval or --reference file that is also an input compares the rows with
    themselves: every row matched its own copy and `split` dropped them all, exit 0."""
    files, _ = check_inputs(paths, settings.load)
    given = [("--eval", p, "eval set") for p in settings.eval_paths]
    given += [("--reference", p, "reference sample") for p in settings.coverage.reference_paths]
    for option, path, what in given:
        for file in files:
            with contextlib.suppress(OSError):  # a missing file is reported where it is read
                if os.path.samefile(path, file):
                    raise InputError(f"{option} {path} is also an input: a file cannot be its own {what}")


# Steps run in the order of their stages, which is the order the app shows them in.
RUN_ORDER = tuple(sorted(STEPS, key=lambda step: list(Stage).index(step.stage)))


def _one_bracket(a: Step | None, b: Step | None) -> bool:
    """Whether a and b, one after the other, report their stage as one (0 before a, 1 after b)."""
    return a is not None and b is not None and a.bracket and b.bracket and a.stage == b.stage

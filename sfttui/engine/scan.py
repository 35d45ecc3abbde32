"""One full scan: load, duplicates, balance, leakage, coverage; what ran, what was skipped and why."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from .analyses.balance import Balance, measure_balance
from .analyses.coverage import Coverage, find_coverage, split_series
from .analyses.dedup import Duplicates, NearPass, find_duplicates, has_input_side, with_input_side
from .analyses.drift import Drift, split_drift
from .analyses.leakage import EVAL_HIT_SCHEMA, SPLIT_HIT_SCHEMA, Leakage, eval_leakage, split_leakage
from .analyses.lengths import Lengths, measure_lengths, open_tokenizer
from .analyses.outliers import Outliers, find_outliers
from .analyses.quality import Quality, find_quality
from .analyses.representativeness import Representativeness, compare
from .io.load import Dataset, load
from .runtime.memory import release
from .runtime.parallel import LOCAL, Engine, StageRunner
from .runtime.progress import Progress, Stage, no_progress
from .settings import FAIL_KINDS, ScanSettings


@dataclass
class Analysis:
    """Whether one analysis ran, and if not, why not."""

    name: str
    ran: bool
    detail: str = ""


@dataclass
class ScanResult:
    settings: ScanSettings
    dataset: Dataset
    duplicates: Duplicates
    balance: Balance
    leakage: Leakage
    coverage: Coverage
    representativeness: Representativeness
    quality: Quality
    lengths: Lengths
    drift: Drift
    outliers: Outliers
    analyses: list[Analysis] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def findings(self) -> dict[str, int]:
        """How many of each kind of problem `--fail-on` can name."""
        return {check.kind: check.count(self) for check in CHECKS}

    def not_checked(self) -> dict[str, str]:
        """The `--fail-on` kinds whose analysis did not run on real rows, and why: a gate on
        one of them fails (a check that did not run is not a pass)."""
        return {check.kind: why for check in CHECKS if (why := check.skipped(self)) is not None}

    @property
    def notes(self) -> list[str]:
        return self.dataset.notes + self.duplicates.notes + self.leakage.notes

    def __getstate__(self) -> dict[str, Any]:
        # Pickled to the app by its analysis process: the duplicate analysis's copies of
        # the rows' texts stay behind and are linked to the rows again on arrival.
        return {**self.__dict__, "duplicates": self.duplicates.without_row_texts()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.duplicates.with_row_texts(self.dataset.rows)


@dataclass(frozen=True)
class Check:
    """One kind of problem `--fail-on` can name: how many the scan found, and why it was
    not checked (None when it was)."""

    kind: str
    count: Callable[[ScanResult], int]
    skipped: Callable[[ScanResult], str | None] = lambda r: None


def _unless(ran: bool, reason: str) -> str | None:
    return None if ran else reason


def _leakage_skipped(r: ScanResult) -> str | None:
    return _unless(
        bool(r.dataset.has_splits or r.settings.eval_paths), "no splits in the input and no --eval set"
    )


# One entry per kind, in FAIL_KINDS order: adding a check is one entry here.
CHECKS = (
    Check("bad-lines", lambda r: int(r.dataset.bad_lines["excluded"].sum())),
    Check("duplicates", lambda r: r.duplicates.rows_removable),
    Check(
        "conflicts",
        lambda r: r.duplicates.conflicts.height,
        lambda r: _unless(r.balance.applies, r.balance.reason),
    ),
    Check(
        "imbalance",
        lambda r: len(r.balance.imbalance),
        lambda r: _unless(r.balance.applies, r.balance.reason),
    ),
    Check("leakage", lambda r: r.leakage.total, _leakage_skipped),
    Check(
        "coverage",
        lambda r: len(r.coverage.warnings(split_series(r.dataset))),
        lambda r: _unless(r.coverage.ran, r.coverage.reason),
    ),
    Check("representativeness", lambda r: len(r.representativeness.warnings)),
    Check(
        "structure",
        lambda r: r.quality.structure.height,
        lambda r: _unless(r.quality.structure_ran, r.quality.structure_reason),
    ),
    Check(
        "templates",
        lambda r: r.quality.templates.height,
        lambda r: _unless(r.quality.templates_ran, r.quality.templates_reason),
    ),
    Check("artifacts", lambda r: r.quality.artifact_rows),
    Check(
        "too-long",
        lambda r: r.lengths.over.height,
        lambda r: _unless(r.lengths.max_tokens is not None, "no --max-tokens given"),
    ),
    Check("drift", lambda r: len(r.drift.warnings), lambda r: _unless(r.drift.ran, r.drift.reason)),
    Check("outliers", lambda r: r.outliers.count, lambda r: _unless(r.outliers.ran, r.outliers.reason)),
)
assert tuple(check.kind for check in CHECKS) == FAIL_KINDS


def run_scan(
    paths: list[str | os.PathLike[str]],
    settings: ScanSettings | None = None,
    progress: Progress = no_progress,
    explore_floor: float | None = None,
    engine: Engine = LOCAL,
) -> ScanResult:
    """Load the inputs and run every analysis that applies to them.

    `explore_floor` keeps near pairs down to that similarity (see find_duplicates).
    The engine runs the row-scale stages (load, duplicates, eval leakage); the rest
    works on aggregates or bounded samples, here.
    """
    settings = settings or ScanSettings()
    # Opened before the rows load, so a wrong path fails at once; then used as it is.
    tokenizer = open_tokenizer(settings.lengths.tokenizer) if settings.lengths.tokenizer is not None else None
    timings: dict[str, float] = {}
    start = time.perf_counter()
    dataset = (
        engine.load(paths, settings.load, progress)
        if isinstance(engine, StageRunner)
        else load(paths, settings.load, progress)
    )
    timings["load"] = time.perf_counter() - start
    release()

    start = time.perf_counter()
    progress(Stage.QUALITY, 0.0)
    quality = find_quality(dataset, settings.quality)
    outliers = find_outliers(dataset)
    progress(Stage.QUALITY, 1.0)
    timings["quality"] = time.perf_counter() - start

    start = time.perf_counter()
    lengths = measure_lengths(dataset, settings.lengths, progress, tokenizer)
    timings["lengths"] = time.perf_counter() - start

    start = time.perf_counter()
    duplicates = find_duplicates(
        dataset.rows, settings.normalize, settings.near, settings.keep, progress, explore_floor, engine
    )
    timings["duplicates"] = time.perf_counter() - start
    release()

    if has_input_side(dataset.rows):
        # Rows matched on their input alone: same prompt, different answer (see dedup).
        start = time.perf_counter()
        inputs = find_duplicates(
            dataset.rows,
            settings.normalize,
            settings.near,
            settings.keep,
            progress,
            explore_floor,
            engine,
            side="input",
        )
        duplicates = with_input_side(duplicates, inputs)
        timings["input"] = time.perf_counter() - start
        release()

    start = time.perf_counter()
    progress(Stage.BALANCE, 0.0)
    balance = measure_balance(dataset.rows, settings.balance)
    progress(Stage.BALANCE, 1.0)
    timings["balance"] = time.perf_counter() - start

    start = time.perf_counter()
    progress(Stage.LEAKAGE, 0.0)
    leakage = find_leakage(dataset, duplicates, settings, progress, engine)
    duplicates.signatures = None  # eval matching was their last use: 330 MB per million texts
    if duplicates.input is not None:
        duplicates.input.signatures = None
    progress(Stage.LEAKAGE, 1.0)
    timings["leakage"] = time.perf_counter() - start
    release()

    start = time.perf_counter()
    coverage = find_coverage(
        dataset, duplicates, settings.normalize, settings.near, settings.coverage, progress
    )
    timings["coverage"] = time.perf_counter() - start
    release()

    start = time.perf_counter()
    representativeness = compare(dataset, settings.coverage, settings.load, progress)
    drift = split_drift(dataset, settings.coverage)
    timings["representativeness"] = time.perf_counter() - start

    near = settings.near
    analyses = [
        Analysis("exact duplicates", True, "normalised text: " + _norm_steps(settings)),
        Analysis(
            "near duplicates",
            near.enabled and dataset.rows.height > 1,
            "; ".join(_describe_pass(p) for p in duplicates.passes)
            or ("switched off" if not near.enabled else "fewer than two rows"),
        ),
        Analysis(
            "label conflicts",
            balance.applies,
            "clusters whose members carry different labels" if balance.applies else balance.reason,
        ),
        Analysis(
            "class balance",
            balance.applies,
            (f"{len(balance.overall.counts)} labels" if balance.overall else "") or balance.reason,
        ),
        Analysis(
            "per-split balance",
            bool(balance.per_split),
            f"splits: {', '.join(balance.per_split)}"
            if balance.per_split
            else "no split column and no split in the file names",
        ),
    ]
    analyses += [
        Analysis(
            "leakage between splits",
            dataset.has_splits,
            "exact, near and same-group rows across the existing splits"
            if dataset.has_splits
            else "no existing splits to compare (no split field, no split in the file names)",
        ),
        Analysis(
            "eval-set contamination",
            bool(settings.eval_paths),
            f"exact, near and {settings.leakage.ngram}-gram overlap against "
            + ", ".join(Path(p).name for p in settings.eval_paths)
            if settings.eval_paths
            else "no --eval set given",
        ),
    ]
    analyses += coverage_analyses(coverage, representativeness, settings)
    analyses += [
        Analysis("conversation structure", quality.structure_ran, quality.structure_reason or _STRUCTURE_HOW),
        Analysis(
            "template replies",
            quality.templates_ran,
            quality.templates_reason
            or f"replies given to {quality.template_min}+ rows (stripped, lower-cased)",
        ),
        Analysis("text artifacts", True, _ARTIFACTS_HOW),
        Analysis("lengths in tokens", True, lengths.detail),
        Analysis(
            "outliers",
            outliers.ran,
            outliers.reason or "script, vocabulary, length, symbols and code against the rest of the rows",
        ),
        Analysis(
            "drift between splits",
            drift.ran,
            drift.reason or "each split's prompts against train's, as --reference compares production",
        ),
    ]
    return ScanResult(
        settings,
        dataset,
        duplicates,
        balance,
        leakage,
        coverage,
        representativeness,
        quality,
        lengths,
        drift,
        outliers,
        analyses,
        timings,
    )


_STRUCTURE_HOW = "turn roles in order: the last turn, the first, repeats, unknown roles, blank replies"
_ARTIFACTS_HOW = "placeholders, HTML leftovers (not in code or markup rows) and mojibake, by pattern"


def _describe_pass(p: NearPass) -> str:
    counted = f"{p.candidates:,} candidates -> " if p.candidates is not None else ""
    bands = f"{p.bands}x{p.rows_per_band} LSH bands"
    return f"{p.shingling} on {p.texts:,} texts, {bands}, {counted}{p.verified:,} verified"


def coverage_analyses(coverage: Coverage, rep: Representativeness, settings: ScanSettings) -> list[Analysis]:
    """What the hard-data and representativeness analyses did, or why they did not run."""
    if not coverage.ran:
        return [Analysis("hard data", False, coverage.reason)]
    refs = settings.coverage.reference_paths
    return [
        Analysis(
            "refusal / OOD / clarifying",
            True,
            "label names and response patterns (" + ", ".join(coverage.patterns) + ")",
        ),
        Analysis("hard negatives", coverage.hard_applies, coverage.hard_detail),
        Analysis("ambiguous rows and label suspects", coverage.model.ran, coverage.model.detail),
        Analysis(
            "representativeness",
            True,
            (rep.adversarial_detail or "compared with " + ", ".join(Path(p).name for p in refs))
            if refs
            else "profile of the training prompts alone (no --reference sample of production inputs)",
        ),
    ]


def find_leakage(
    dataset: Dataset,
    duplicates: Duplicates,
    settings: ScanSettings,
    progress: Progress = no_progress,
    engine: Engine = LOCAL,
) -> Leakage:
    """Leakage across the existing splits and against every eval set given."""
    rows = dataset.rows
    between = (
        split_leakage(rows, rows["split"], duplicates)
        if dataset.has_splits
        else pl.DataFrame(schema=SPLIT_HIT_SCHEMA)
    )
    eval_hits = pl.DataFrame(schema=EVAL_HIT_SCHEMA)
    inputs: list[dict] = []
    notes: list[str] = []
    eval_set = None
    if settings.eval_paths:
        progress(Stage.EVAL, 0.0)
        eval_set = load(list(settings.eval_paths), settings.load)
        inputs = [i.to_dict() for i in eval_set.inputs]
        eval_hits = eval_leakage(
            rows,
            rows["split"],
            eval_set,
            settings.normalize,
            settings.near,
            settings.leakage,
            engine,
            distinct=duplicates.distinct,
            signatures=duplicates.take_signatures(),
            inputs=duplicates.input.distinct if duplicates.input is not None else None,
            input_signatures=duplicates.input.take_signatures() if duplicates.input is not None else None,
            notes=notes,
        )
        progress(Stage.EVAL, 1.0)
    return Leakage(between, eval_hits, inputs, notes=notes, eval_set=eval_set)


def _norm_steps(settings: ScanSettings) -> str:
    n = settings.normalize
    steps = [
        name
        for name, on in (
            ("NFKC", n.nfkc),
            ("casefold", n.casefold),
            ("punctuation stripped", n.strip_punctuation),
            ("whitespace collapsed", n.collapse_whitespace),
        )
        if on
    ]
    return ", ".join(steps) or "none (raw text)"

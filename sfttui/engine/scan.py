"""One full scan: load, duplicates, balance; what ran, what was skipped and why."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from .balance import Balance, measure_balance
from .dedup import Duplicates, find_duplicates
from .load import Dataset, load
from .progress import Progress, no_progress
from .settings import ScanSettings

FAIL_KINDS = ("bad-lines", "duplicates", "conflicts", "imbalance")


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
    analyses: list[Analysis] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def findings(self) -> dict[str, int]:
        """How many of each kind of problem `--fail-on` can name."""
        imbalance_warnings = [w for w in self.balance.warnings if "imbalance ratio" in w or "too few" in w]
        return {
            "bad-lines": int(self.dataset.bad_lines["excluded"].sum()),
            "duplicates": self.duplicates.rows_removable,
            "conflicts": self.duplicates.conflicts.height,
            "imbalance": len(imbalance_warnings),
        }

    @property
    def notes(self) -> list[str]:
        return self.dataset.notes + self.duplicates.notes


def run_scan(
    paths: list[str | os.PathLike[str]],
    settings: ScanSettings | None = None,
    progress: Progress = no_progress,
) -> ScanResult:
    """Load the inputs and run every analysis that applies to them."""
    settings = settings or ScanSettings()
    timings: dict[str, float] = {}
    start = time.perf_counter()
    dataset = load(paths, settings.load, progress)
    timings["load"] = time.perf_counter() - start

    start = time.perf_counter()
    duplicates = find_duplicates(dataset.rows, settings.normalize, settings.near, settings.keep, progress)
    timings["duplicates"] = time.perf_counter() - start

    start = time.perf_counter()
    balance = measure_balance(dataset.rows, settings.balance)
    timings["balance"] = time.perf_counter() - start

    near = settings.near
    analyses = [
        Analysis("exact duplicates", True, "normalised text: " + _norm_steps(settings)),
        Analysis(
            "near duplicates",
            near.enabled and dataset.rows.height > 1,
            "; ".join(
                f"{p.shingling} on {p.texts:,} texts, {p.bands}x{p.rows_per_band} LSH bands, "
                f"{p.candidates:,} candidates -> {p.verified:,} verified"
                for p in duplicates.passes
            )
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
    return ScanResult(settings, dataset, duplicates, balance, analyses, timings)


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

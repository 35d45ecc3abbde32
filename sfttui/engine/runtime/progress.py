"""Progress reporting shared by long engine operations.

Long operations take a `Progress` callback and call it per chunk with their `Stage` and
the fraction done; the CLI prints nothing, the app turns the calls into messages. The
stages are one enum for engine and app, so a stage the app does not know cannot be
reported (a misspelt name used to drop its progress bar without a word).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum


class Stage(str, Enum):
    """A stage that reports progress. A str, so reports and pickles carry its name."""

    LOAD = "load"
    QUALITY = "quality"
    LENGTHS = "lengths"
    EXACT = "exact"
    NEAR = "near"
    INPUT = "input"
    BALANCE = "balance"
    LEAKAGE = "leakage"
    EVAL = "eval"
    COVERAGE = "coverage"
    REPRESENTATIVENESS = "representativeness"
    PLAN = "plan"
    WRITE = "write"

    def __str__(self) -> str:
        return self.value

    @property
    def title(self) -> str:
        """What the person reads while it runs."""
        return _TITLES[self]


_TITLES = {
    Stage.LOAD: "reading files",
    Stage.QUALITY: "row quality",
    Stage.LENGTHS: "token lengths",
    Stage.EXACT: "exact duplicates",
    Stage.NEAR: "near duplicates",
    Stage.INPUT: "same input",
    Stage.BALANCE: "balance",
    Stage.LEAKAGE: "leakage",
    Stage.EVAL: "eval sets",
    Stage.COVERAGE: "hard data",
    Stage.REPRESENTATIVENESS: "vs production",
    Stage.PLAN: "planning splits",
    Stage.WRITE: "writing and verifying",
}
# A scan's stages in the order they run, each with its share of a progress bar (about
# its share of the time on a million chat rows, docs/BENCHMARKS.md).
SCAN_STAGES: tuple[tuple[Stage, int], ...] = (
    (Stage.LOAD, 18),
    (Stage.QUALITY, 1),
    (Stage.LENGTHS, 1),
    (Stage.EXACT, 4),
    (Stage.NEAR, 26),
    (Stage.INPUT, 20),
    (Stage.BALANCE, 1),
    (Stage.LEAKAGE, 2),
    (Stage.EVAL, 17),
    (Stage.COVERAGE, 8),
    (Stage.REPRESENTATIVENESS, 2),
)

Progress = Callable[[Stage, float], None]


def no_progress(stage: Stage, fraction: float) -> None:
    """The default callback: report nothing."""

"""What an analysis declares to take part in a scan: a `Step` (how it runs, what it
reports, which `--fail-on` kinds it counts, how the summary shows it).

The steps themselves are listed in `registry.py`; `scan.run_scan` runs them and knows
none by name. Nothing here imports an analysis.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .io.load import Dataset
from .result import Analysis, ScanResult
from .runtime.parallel import Engine
from .runtime.progress import Progress, Stage
from .settings import ScanSettings


@dataclass(frozen=True)
class Check:
    """One kind of problem `--fail-on` can name: how many the scan found, and why it was
    not checked (None when it was)."""

    kind: str
    count: Callable[[ScanResult], int]
    skipped: Callable[[ScanResult], str | None] = lambda r: None


@dataclass(frozen=True)
class Line:
    """One line of the printed summary, as data: the CLI styles it.

    `kind` marks it from that `--fail-on` kind's count (ok, warn, FAIL, or n/c when not
    checked); a line with no kind is marked warn or ok by `flag`, or not at all. Its first
    `shown` warnings follow it, then how many more there are.
    """

    check: str
    text: str
    kind: str | None = None
    flag: bool | None = None
    warnings: tuple[str, ...] = ()
    more: str = "more"
    shown: int = 3


@dataclass
class Context:
    """What a step is given: the rows, the settings, the results of the steps before it."""

    dataset: Dataset
    settings: ScanSettings
    progress: Progress
    engine: Engine
    explore_floor: float | None = None
    tokenizer: Any = None
    results: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    # What a step worked out for a later one while its inputs were at hand (by name).
    handed: dict[str, Any] = field(default_factory=dict)
    _inner: list[float] = field(default_factory=list, repr=False)  # time of blocks timed within

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Adds the time the block takes to `timings[name]`, less that of blocks timed
        within it (a step's own pass timed under its own name is not counted twice)."""
        start = time.perf_counter()
        self._inner.append(0.0)
        try:
            yield
        finally:
            spent = time.perf_counter() - start
            self.timings[name] = self.timings.get(name, 0.0) + spent - self._inner.pop()
            if self._inner:
                self._inner[-1] += spent


def _nothing(result: ScanResult) -> list[Any]:
    return []


@dataclass(frozen=True)
class Step:
    """One analysis of a scan.

    `name` is its field of ScanResult. Steps run in the order of their `stage` (steps of
    one stage in registry order); a step that does not report progress itself has the
    runner report its stage at 0 before and 1 after (`bracket`), once for a run of steps
    of one stage. `timing` names its entry in ScanResult.timings (steps may share one).
    `release` gives the C heap's free pages back after it: the large stages leave
    hundreds of MB of freed arrays behind.

    Reading the result: `describe` says what ran and how (the report's "analyses"),
    `report` gives its sections of the JSON report (key: value, in order), `checks` the
    `--fail-on` kinds it counts, `summary` its lines of the printed summary. Registry
    order is the order of all four.
    """

    name: str
    stage: Stage
    run: Callable[[Context], Any]
    report: Callable[[ScanResult], dict[str, Any]]
    describe: Callable[[ScanResult], list[Analysis]] = _nothing
    checks: tuple[Check, ...] = ()
    summary: Callable[[ScanResult], list[Line]] = _nothing
    bracket: bool = False
    timing: str | None = None
    release: bool = False

    @property
    def timing_key(self) -> str:
        return self.timing or self.name

"""What a scan gives: the rows and every step's result (see registry.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .analyses.balance import Balance
from .analyses.coverage import Coverage
from .analyses.dedup import Duplicates
from .analyses.drift import Drift
from .analyses.leakage import Leakage
from .analyses.lengths import Lengths
from .analyses.outliers import Outliers
from .analyses.quality import Quality
from .analyses.representativeness import Representativeness
from .io.load import Dataset
from .settings import ScanSettings


@dataclass
class Analysis:
    """Whether one analysis ran, and if not, why not."""

    name: str
    ran: bool
    detail: str = ""


@dataclass
class ScanResult:
    """The rows and every step's result, by the step's name (see registry.STEPS)."""

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

    @property
    def notes(self) -> list[str]:
        return self.dataset.notes + self.duplicates.notes + self.leakage.notes

    def __getstate__(self) -> dict[str, Any]:
        # Pickled to the app by its analysis process: the duplicate analysis's copies of
        # the rows' texts stay behind and are linked to the rows again on arrival.
        return {**self.__dict__, "duplicates": self.duplicates.without_row_texts()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.duplicates.with_row_texts(self.dataset.rows, self.dataset.text_source())

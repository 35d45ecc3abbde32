"""Every custom message the app posts, in one place (workers post them from threads)."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from ..engine.export import ExportPlan, ExportResult
from ..engine.runtime.progress import Stage


class StageProgress(Message):
    """A long operation reached `fraction` of `stage`."""

    def __init__(self, stage: Stage, fraction: float) -> None:
        super().__init__()
        self.stage = Stage(stage)
        self.fraction = fraction


class AnalysisDone(Message):
    """Loading and every analysis finished; the session holds the results."""


class AnalysisFailed(Message):
    """The data could not be analysed: the one-line reason, and the error's title."""

    def __init__(self, error: str, title: str) -> None:
        super().__init__()
        self.error, self.title = error, title


class DecisionsChanged(Message):
    """The journal changed: tabs showing decision state refresh."""


class ThresholdChanged(Message):
    """Clusters were rebuilt at another near-duplicate threshold."""


class PlanReady(Message):
    """A split plan, numbered so a plan from before the latest decision is recognised."""

    def __init__(self, plan: ExportPlan, generation: int, basis: tuple[Any, int]) -> None:
        super().__init__()
        self.plan = plan
        self.generation = generation
        self.basis = basis  # the clustering and the number of journal entries it was made from


class ExportDone(Message):
    def __init__(self, result: ExportResult) -> None:
        super().__init__()
        self.result = result


class ExportFailed(Message):
    def __init__(self, error: str, done: list[str] | None = None) -> None:
        super().__init__()
        self.error = error
        self.done = done or []  # what the write did beside the output before it failed

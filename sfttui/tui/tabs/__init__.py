"""The app's tabs, in F-key order: one entry each, and the app builds everything a tab
needs (its pane and F-key, focus, redraws after decisions, the tab order) from here.

Adding a tab is a module with a widget class taking the session, and one entry below.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.widget import Widget

from .balance import BalanceTab
from .coverage import CoverageTab
from .duplicates import DuplicatesTab
from .leakage import LeakageTab
from .overview import OverviewTab
from .quality import QualityTab
from .splits import SplitsTab


@dataclass(frozen=True)
class Tab:
    """One tab: its pane id, the title after its F-key, its widget class (built with the
    session), the widget that takes the keys when it is shown, and whether it redraws
    from the session (`show(session)`) after each decision; one that does not is
    redrawn by what it shows (the Splits tab, by each new plan)."""

    name: str
    title: str
    widget: type[Widget]
    focus: str
    follows_decisions: bool = True
    short: str = ""  # the title where the full ones do not fit on one line (80 columns)

    @property
    def widget_id(self) -> str:
        return f"{self.name}-tab"

    def label(self, key: int, narrow: bool = False) -> str:
        return f"F{key} {self.short if narrow and self.short else self.title}"


TABS: tuple[Tab, ...] = (
    Tab("overview", "Overview", OverviewTab, "#bad-lines"),
    Tab("duplicates", "Duplicates", DuplicatesTab, "#clusters", short="Dupes"),
    Tab("balance", "Balance", BalanceTab, "#labels"),
    Tab("splits", "Splits", SplitsTab, "#split-table", follows_decisions=False),
    Tab("leakage", "Leakage", LeakageTab, "#hits"),
    Tab("coverage", "Coverage", CoverageTab, "#cov-list"),
    Tab("quality", "Quality", QualityTab, "#quality-list"),
)
BY_NAME = {tab.name: tab for tab in TABS}
# Columns the tab bar takes with full titles (each tab is padded by a space either side);
# narrower screens pad on the left only and use the short titles.
FULL_WIDTH = sum(len(tab.label(i)) + 2 for i, tab in enumerate(TABS, start=1))

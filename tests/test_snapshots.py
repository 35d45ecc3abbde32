"""Snapshot tests: every tab on the demo data at 80x24 and 120x40.

Regenerate after a deliberate UI change with `pytest tests/test_snapshots.py --snapshot-update`
and look at the SVGs (also in screenshots/).
"""

from __future__ import annotations

import pytest

from sfttui.tui.tabs import TABS as REGISTRY

from .app_factory import demo_copy, make_app, settle

# Every tab of the registry, by its F-key: a new tab gets its snapshots with its entry.
TABS = {tab.name: f"f{i}" for i, tab in enumerate(REGISTRY, start=1)}


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("tab", list(TABS))
def test_tab(snap_compare, tmp_path, monkeypatch, tab, size):
    monkeypatch.chdir(tmp_path)
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")

    async def ready(pilot) -> None:
        await settle(pilot)
        await pilot.press(TABS[tab])
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_row_browser(snap_compare, tmp_path, monkeypatch, size):
    monkeypatch.chdir(tmp_path)
    app = make_app([demo_copy(tmp_path)], tmp_path / "state")

    async def ready(pilot) -> None:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("slash", *"label:billing refund", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)

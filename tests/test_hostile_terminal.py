"""Hostile text on the terminal: markup and escape sequences in data and file names are
shown literally by `scan`, `split` and every tab of the app (issue 15, items 20-21).

Part of the hostile-input battery (tests/test_hostile_*.py): each test here failed on the
code before it was fixed (a label `[/]` raised in `scan` and crashed the app).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.app import App

from sfttui import cli
from sfttui.cli import main
from sfttui.display import visible
from sfttui.tui.app import SfttuiApp
from sfttui.tui.tabs.overview import OverviewTab

from .app_factory import make_app, redrawn, screen_text, settle

MARKUP = ["[/]", "[@click=app.undo]U[/]", "[link=https://example.com]x[/link]", "[bold]b[/bold]"]
ESCAPES = [
    *["\x1b[2J", "\x1b]0;pwned\x07", "\x9b31m", "a\rb", "two\nlines", "\u202eevil", "全角テキスト 🦊"],
    "\u200frlm \u061calm \u200elrm",  # direction marks reached the terminal as they were
    # Hidden text: tag characters spelling "IGNORE", a zero-width space, a mid-text BOM.
    "ok\U000e0049\U000e0047\U000e004e\U000e004f\U000e0052\U000e0045 zero\u200bwidth \ufeffbom",
    "soft\u00adhyphen \U0001f600\U000e0100\U000e0101 filler\u3164",  # bytes hidden in variation selectors
]
HOSTILE = MARKUP + ESCAPES
# What must never reach a terminal from data: ESC, BEL, CR, C1 controls, bidi overrides.
RAW = [
    "\x1b",
    "\x07",
    "\r",
    "\x9b",
    "\u202e",
    "\u200f",
    "\u061c",
    "\u200e",
    "\U000e0049",
    "\u200b",
    "\ufeff",
    "\u00ad",
    "\U000e0100",
    "\u3164",
]
FILE_NAME = "[link=https:example.com]f[-link]\x1b[2J.jsonl"  # no slash: it is one file name


def _rows() -> list[dict]:
    """Rows carrying every hostile string as a label, an id and in a text; with splits
    (a leak), duplicates, a label conflict and plenty of ordinary rows around them."""
    rows = []
    for i, bad in enumerate(HOSTILE):
        text = f"the customer asks about order {i} and {bad} in the message body again"
        rows.append({"id": f"id{bad}{i}", "text": text, "label": bad, "user": f"u{bad}", "split": "train"})
        rows.append({"id": f"copy{bad}{i}", "text": text, "label": "plain", "user": f"v{i}", "split": "test"})
    for i in range(40):
        rows.append(
            {"id": f"r{i}", "text": f"an ordinary question number {i} about shipping", "label": "plain"}
        )
    return rows


@pytest.fixture
def hostile_data(tmp_path: Path) -> Path:
    path = tmp_path / FILE_NAME
    lines = [json.dumps(r, ensure_ascii=False) for r in _rows()]
    lines.insert(3, "{not json " + "\x1b[2J")  # a bad line whose raw text is hostile too
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _assert_literal(output: str) -> None:
    for raw in RAW:
        assert raw not in output, f"{raw!r} reached the terminal"
    assert "\x1b]8;" not in output  # no OSC 8 hyperlink


def test_scan_and_split_print_data_literally(hostile_data, tmp_path):
    scan = CliRunner().invoke(main, ["scan", str(hostile_data), "--by", "user"])
    assert scan.exit_code == 0, scan.output
    _assert_literal(scan.output)
    flat = " ".join(scan.output.split())
    assert visible(FILE_NAME) in flat
    assert "[@click=app.undo]U[/]" in flat and "[/]" in flat and "␛[2J" in flat

    out = tmp_path / "out"
    split = CliRunner().invoke(
        main,
        ["split", str(hostile_data), "--by", "user", "--out", str(out), "--state-dir", str(tmp_path / "s")],
    )
    assert split.exit_code == 0, split.output
    _assert_literal(split.output)
    assert "[link=https://example.com]x[/link]" in " ".join(split.output.split())


def test_an_error_naming_a_hostile_file_is_literal(tmp_path):
    missing = tmp_path / FILE_NAME
    result = CliRunner().invoke(main, ["scan", str(missing)])
    assert result.exit_code == 2
    _assert_literal(result.output)
    assert result.output.strip() == f"error: {visible(missing)}: no such file"


async def test_every_tab_help_and_toast_show_hostile_data_literally(hostile_data, tmp_path):
    app = make_app([hostile_data], tmp_path / "state", out=tmp_path / "splits", group="user")
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        await settle(pilot)
        assert app.ready and app.return_code is None
        seen = []
        for key in ("f1", "f2", "f3", "f4", "f5", "f6"):
            await pilot.press(key)
            await settle(pilot)
            text = screen_text(app)
            _assert_literal(text)
            seen.append(text)
        everything = "\n".join(seen)
        assert "[@click=app.undo]U[/]" in everything and "[/]" in everything
        assert "␛[2J" in everything and "␛]0;pwned␇" in everything
        # The help screen, and a toast that names a hostile label (a cap on it).
        await pilot.press("question_mark")
        await pilot.pause()
        _assert_literal(screen_text(app))
        await pilot.press("escape")
        await pilot.press("f3")
        await settle(pilot)
        table = app.query_one("#labels")
        label_row = next(i for i, key in enumerate(table.rows) if key.value == "\x1b]0;pwned\x07")
        table.move_cursor(row=label_row)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("1", "enter")
        await settle(pilot)
        shown = screen_text(app)
        _assert_literal(shown)
        assert "'␛]0;pwned␇' capped at 1 row (journal)." in shown
        # The row browser: every row's label and text, and one opened in full.
        await pilot.press("b")
        await settle(pilot)
        for _ in range(3):
            await pilot.press("j")
        await pilot.press("enter")
        await redrawn(pilot)
        browsed = screen_text(app)
        _assert_literal(browsed)
        assert "␛" in browsed
        # The file name's start and the line numbers show, whole (the escape a glyph).
        assert "[link=https:…:10 " in browsed and "[link=https:…:11 " in browsed
        await pilot.press("escape", "escape")
        assert app.return_code is None


async def test_markup_in_a_label_is_never_a_live_button(tmp_path):
    # The majority label is a click action: drawn as markup it became a "U" in the
    # Overview that undid the last decision when clicked.
    rows = [
        {"text": f"a question about billing number {i}", "label": "[@click=app.undo]U[/]"} for i in range(30)
    ]
    rows += [{"text": f"something else entirely {i}", "label": "other"} for i in range(5)]
    rows += [{"text": "a question about billing number 0", "label": "other"}]  # a conflict to decide
    path = tmp_path / "click.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    app = make_app([path], tmp_path / "state", out=tmp_path / "splits", group="")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("x")  # one decision in the journal
        await settle(pilot)
        decisions = len(app.session.journal.effective())
        assert decisions == 1
        await pilot.press("f1")
        await settle(pilot)
        lines = screen_text(app).split("\n")
        y = next(i for i, line in enumerate(lines) if "[@click=app.undo]U[/]" in line)
        x = lines[y].index("[@click=app.undo]U[/]")
        for dx in range(len("[@click=app.undo]U[/]")):
            await pilot.click(offset=(x + dx, y))
        await settle(pilot)
        assert len(app.session.journal.effective()) == decisions


def test_the_app_exits_non_zero_after_a_crash(tmp_path, monkeypatch):
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"text": f"row {i} here", "label": "a"}) + "\n" for i in range(5)))

    def crash(self, session):
        raise RuntimeError("boom")

    monkeypatch.setattr(OverviewTab, "show", crash)
    monkeypatch.setattr(SfttuiApp, "run", _headless_run)
    monkeypatch.setattr("sfttui.cli.streams.need_a_terminal", lambda: None)  # headless: none needed
    opts = _app_opts(tmp_path)
    assert cli._open_app([str(path)], opts) == 1


def _headless_run(self, **kwargs):
    return App.run(self, headless=True, **kwargs)


def _app_opts(tmp_path: Path) -> dict:
    """The options `sfttui FILE` passes on, at their defaults."""
    ctx = main.make_context("sfttui", ["open", "x.jsonl", "--state-dir", str(tmp_path / "state")])
    sub = ctx.command.get_command(ctx, "open")
    opts = sub.make_context("open", ["x.jsonl", "--state-dir", str(tmp_path / "state")], parent=ctx).params
    opts.pop("files")
    return opts


def test_the_widgets_last_check_catches_every_character_visible_replaces():
    # The net under the widgets matched C0/C1 controls and the bidi overrides only:
    # a direction mark or a tag character missed at its source was drawn as it was.
    from rich.segment import Segment
    from textual.strip import Strip

    from sfttui.tui.widgets.literal import visible_strip

    for raw in [*RAW, "\u200e", "\t"]:
        drawn = visible_strip(Strip([Segment(f"a{raw}b")]))
        assert raw not in "".join(s.text for s in drawn), repr(raw)
    untouched = Strip([Segment("\U0001f468\u200d\U0001f469 \u1820\u180e\u1822")])  # emoji ZWJ, Mongolian
    assert visible_strip(untouched) is untouched

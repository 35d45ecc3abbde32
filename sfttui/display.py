"""Text from data and file names made safe to show on a terminal.

Data is never markup and never terminal code: a label `[@click=app.undo]U[/]` must
not become a button, and `\\x1b[2J` must not clear the screen. Rich's Text strips only
BEL, BS, VT, FF and CR, so every other control character would reach the terminal.

Each control character is replaced by one visible glyph of the same width, so a Rich
Text keeps its styled spans when its characters are swapped in place:
- C0 controls show as Unicode's control pictures (ESC as ␛, so `\\x1b[2J` reads ␛[2J);
- DEL as ␡; C1 controls (U+0080-U+009F, e.g. the one-byte CSI) and the invisible
  bidirectional overrides, isolates and marks (which reorder what is around them) as �;
- invisible characters that carry no shaping, as �: zero-width space, word joiner and
  the invisible operators, a byte order mark inside text, soft hyphen, combining
  grapheme joiner, Hangul fillers, Khmer inherent vowels, the tag characters
  (U+E0000-U+E007F), which spell hidden ASCII text ("ASCII smuggling"; their one
  other use, the England, Scotland and Wales flags, then shows as 🏴 and glyphs), and
  variation selectors 17-256, which can hide bytes after an emoji (their other use,
  CJK ideographic variants, then shows the base character and a glyph). Zero-width
  joiners and non-joiners, the Mongolian vowel separator and variation selectors 1-16
  shape emoji and scripts, and are left as they are;
- in one-line places (list cells, labels, keys, file names, toasts) newlines and tabs
  show as ␤ and ␉; multi-line bodies keep them.
Pure string work (str.translate), imported by the headless commands and the app alike.
"""

from __future__ import annotations

import errno
import os
import re
from typing import Any

from rich.table import Table
from rich.text import Text

from .engine.errors import SfttuiError

_REPLACEMENT = "\ufffd"
# Embeddings, overrides and isolates, and the marks that set a direction (LRM, RLM, ALM):
# each may reorder what a bidi-aware terminal shows around it.
_BIDI = [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C]

_BLOCK: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20) if c not in (0x09, 0x0A)}
_BLOCK[0x7F] = "\u2421"
_BLOCK.update({c: _REPLACEMENT for c in range(0x80, 0xA0)})
_BLOCK.update({c: _REPLACEMENT for c in _BIDI})
# Zero width and shown as nothing: two rows that differ only by these would look the same.
_HIDDEN = [
    *[
        0x00AD,
        0x034F,
        0x200B,
        *range(0x2060, 0x2065),
        0xFEFF,
        *range(0xFFF9, 0xFFFC),
    ],  # soft hyphen, CGJ, ...
    *[0x115F, 0x1160, 0x3164, 0xFFA0, 0x17B4, 0x17B5],  # Hangul fillers, Khmer inherent vowels
    *range(0xE0000, 0xE0080),  # tag characters
    *range(0xE0100, 0xE01F0),  # variation selectors 17-256: bytes hidden after an emoji
]
_BLOCK.update({c: _REPLACEMENT for c in _HIDDEN})
_BLOCK.update({0x2028: "\u2424", 0x2029: "\u2424"})  # line and paragraph separators
_LINE = {**_BLOCK, 0x09: "\u2409", 0x0A: "\u2424"}


def _character_class(points: list[int]) -> re.Pattern[str]:
    """A regex matching any of `points`, as ranges: one range per run, since a class of
    470 single characters is searched one by one (75 µs a 200-character line, not 1)."""
    runs: list[list[int]] = []
    for c in sorted(points):
        if runs and c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return re.compile("[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in runs) + "]")


# Any character `visible` replaces: the widgets' last check before a line is drawn.
_ANY_LINE = _character_class(list(_LINE))


def visible(text: object) -> str:
    """A one-line string safe to print: every control character, newlines included, as a glyph."""
    return str(text).translate(_LINE)


def needs_glyphs(text: str) -> bool:
    """Whether `visible` would change `text` (a control, bidi or hidden character)."""
    return _ANY_LINE.search(text) is not None


def visible_block(text: object) -> str:
    """Like `visible`, keeping newlines and tabs (for bodies shown over several lines)."""
    return str(text).translate(_BLOCK)


def literal(text: object, style: str = "") -> Text:
    """One-line text from data as a Rich Text: never parsed as markup, nothing raw."""
    return Text(visible(text), style=style)


def literal_block(text: object, style: str = "") -> Text:
    """Multi-line text from data as a Rich Text (see `literal`)."""
    return Text(visible_block(text), style=style)


def error_line(message: object) -> Text:
    """`error: <message>` for stderr, the message shown literally (it names files)."""
    return Text.assemble(("error:", "bold red"), " ", visible(message))


def stdout_console() -> Any:
    """A Rich console on standard output whose write to a closed pipe (`| head`) raises
    BrokenPipeError, as a full disk raises its OSError: Rich's own ends the process with
    exit 1, which `scan` uses for "a gate failed"."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    return _Console()


def failure(exc: SfttuiError | OSError, target: object = None) -> tuple[str, list[str], int]:
    """Why a command stops, in one line; what it did before stopping that stays done
    (the exception's notes: an earlier output restored beside --out, leftovers removed);
    and its exit code: the error's own for sfttui's errors, 2 for a file that cannot be
    written (`target`)."""
    if isinstance(exc, SfttuiError):
        message, code = str(exc), exc.exit_code
    elif exc.filename is not None and target is not None and not _about(str(exc.filename), str(target)):
        # Another path than the one written (an input, the state directory): named, so
        # the output is not blamed for it.
        message, code = f"cannot use {exc.filename}: {exc.strerror or exc}", 2
    else:
        message, code = f"cannot write {target}: {exc.strerror or exc}", 2
    return message, [str(note) for note in getattr(exc, "__notes__", ())], code


def exit_with_error(exc: SfttuiError | OSError, target: object = None) -> int:
    """Say on stderr why a command stops (see `failure`) and return its exit code."""
    from rich.console import Console

    message, done, code = failure(exc, target)
    console = Console(stderr=True)
    # soft_wrap: the lines name paths, which stay whole so they can be copied.
    console.print(error_line(message), soft_wrap=True)
    for line in done:
        console.print(literal(line, "yellow"), soft_wrap=True)
    return code


def _about(path: str, target: str) -> bool:
    """Whether `path` is `target`, lies in it, or is one of the siblings a write into the
    directory `target` makes beside it (.NAME.tmp-..., .NAME.old-...)."""
    # Resolved both: the write names its files by the resolved --out (through links).
    path, target = os.path.realpath(path), os.path.realpath(target)
    parent, name = os.path.split(target)
    return (
        path == target
        or path.startswith(target + os.sep)
        or path.startswith(os.path.join(parent, f".{name}."))
        or target.startswith(path + os.sep)  # a folder on the way to it
    )


def made_visible(text: Text, one_line: bool = False) -> Text:
    """The same Text with its control characters swapped for glyphs in place (the
    characters keep their positions, so the styled spans stay where they were)."""
    table = _LINE if one_line else _BLOCK
    plain = text.plain
    safe = plain.translate(table)
    if safe == plain:
        return text
    out = text.copy()
    out.plain = safe
    return out


def literal_cell(cell: Any) -> Any:
    """A table cell shown literally: a str becomes plain Text, a Text gets its control
    characters swapped for glyphs; other renderables pass as they are."""
    if isinstance(cell, str):
        return literal(cell)
    if isinstance(cell, Text):
        return made_visible(cell, one_line=True)
    return cell


class LiteralTable(Table):
    """A Rich table whose str cells are data, never markup (Rich parses str cells as
    markup when it renders them: a label `[/]` would raise, `[link=...]` would link)."""

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*(literal_cell(c) for c in renderables), **kwargs)

"""The table of the files a scan read, and what was set aside or left unread of each:
the same for the summary `sfttui scan` prints and for the app's Overview.

Eval sets and reference samples are read as inputs too, so they are listed with them:
an eval file whose reading stopped at a broken record read only a few of its items,
and a count of records set aside alone ("1") hid the rest of the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .display import LiteralTable
from .engine.findings import many
from .engine.io.load import InputFile

COLUMNS = ("file", "format", "rows", "set aside", "label", "split")


def set_aside_cell(info: InputFile) -> str:
    """Records set aside, and the lines after a record that stopped the reading."""
    if not info.unread_lines:
        return f"{info.bad:,}"
    return f"{info.bad:,} + {many(info.unread_lines, 'line')} unread"


def inputs_table(
    inputs: Iterable[InputFile],
    evals: Iterable[InputFile] = (),
    references: Iterable[InputFile] = (),
    **options: Any,
) -> LiteralTable:
    """One row per file: the training inputs, then each eval set and reference sample
    by its role. `options` go to the table (its box, edges and header style)."""
    table = LiteralTable(**options)
    for col in COLUMNS:
        table.add_column(col, justify="right" if col in ("rows", "set aside") else "left")
    for role, info in [
        *(("", i) for i in inputs),
        *(("eval: ", i) for i in evals),
        *(("reference: ", i) for i in references),
    ]:
        trained = not role  # only the training inputs have label and split fields here
        table.add_row(
            role + info.name,
            info.format + (f" ({info.compression})" if info.compression else ""),
            f"{info.rows:,}",
            set_aside_cell(info),
            (info.fields.get("label") or "-") if trained else "-",
            (info.fields.get("split") or "-") if trained else "-",
        )
    return table

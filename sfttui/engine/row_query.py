"""Which rows a person asked to see: words in the text, a label, a split, a file, a finding.

The row browser's search, kept apart from the screen so it runs in a worker and can be
tested on its own. A query is words plus `name:value` filters, e.g. `refund label:billing
split:test finding:leak`; `finding:bad` lists the lines that were not read as rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .session import Session

FINDINGS = ("duplicate", "conflict", "leak", "dropped", "bad")
FILTERS = ("label", "split", "file", "finding")


@dataclass(frozen=True)
class RowQuery:
    words: str = ""
    label: str | None = None
    split: str | None = None
    file: str | None = None
    finding: str | None = None

    @classmethod
    def parse(cls, query: str) -> RowQuery:
        """Words and `name:value` filters; raises ValueError naming what is not understood."""
        fields: dict[str, str] = {}
        words = []
        for token in query.split():
            name, sep, value = token.partition(":")
            if sep and name in FILTERS:
                fields[name] = value
            else:
                words.append(token)
        finding = fields.get("finding")
        if finding is not None and finding not in FINDINGS:
            raise ValueError(f"finding:{finding} is none of {', '.join(FINDINGS)}")
        return cls(" ".join(words), fields.get("label"), fields.get("split"), fields.get("file"), finding)

    def describe(self) -> str:
        parts = [f'"{self.words}"'] if self.words else []
        parts += [f"{name}:{getattr(self, name)}" for name in FILTERS if getattr(self, name) is not None]
        return " ".join(parts) or "every row"


@dataclass(frozen=True)
class RowMatches:
    """The rows that match (row numbers, in order), or the bad lines that do."""

    rows: pl.Series  # UInt32
    bad_lines: pl.DataFrame | None = None  # for finding:bad: file, line, reason, raw

    def __len__(self) -> int:
        return self.bad_lines.height if self.bad_lines is not None else len(self.rows)


def matching_rows(session: Session, query: RowQuery) -> RowMatches:
    """The rows of the session's data that `query` asks for."""
    ds = session.dataset
    if query.finding == "bad":
        bad = ds.bad_lines
        if query.file is not None:
            bad = bad.filter(pl.col("file").str.contains(query.file, literal=True))
        if query.words:
            # The line as read may not be UTF-8: its bytes are searched as bytes.
            words = query.words
            bad = bad.filter(
                pl.col("reason").str.to_lowercase().str.contains(words.lower(), literal=True)
                | pl.col("raw").fill_null(b"").bin.contains(words.encode())
                | pl.col("raw").fill_null(b"").bin.contains(words.lower().encode())
            )
        return RowMatches(pl.Series([], dtype=pl.UInt32), bad.select("file", "line", "reason", "raw"))
    frame = ds.rows.select("row", "text", "label", "split", "file")
    keep = pl.lit(True)
    if query.words:
        keep &= pl.col("text").str.to_lowercase().str.contains(query.words.lower(), literal=True)
    if query.label is not None:
        keep &= pl.col("label") == query.label
    if query.split is not None:
        keep &= pl.col("split") == query.split
    if query.file is not None:
        keep &= pl.col("file").str.contains(query.file, literal=True)
    if query.finding is not None:
        keep &= pl.col("row").is_in(_rows_with(session, query.finding).implode())
    return RowMatches(frame.filter(keep).get_column("row").cast(pl.UInt32))


def _rows_with(session: Session, finding: str) -> pl.Series:
    """Row numbers with a finding of this kind."""
    dup, rows = session.duplicates, session.dataset.rows
    if finding == "duplicate":
        return dup.membership.get_column("row")
    if finding == "conflict":
        conflicted = dup.clusters.filter(pl.col("conflict")).get_column("id")
        return dup.membership.filter(pl.col("cluster").is_in(conflicted.implode())).get_column("row")
    if finding == "leak":
        leak = session.leakage
        keys = pl.concat(
            [
                leak.between_splits.get_column("key_a"),
                leak.between_splits.get_column("key_b"),
                leak.eval_hits.get_column("key"),
            ]
        )
    else:  # dropped: what `w` would leave out (copies, decisions, caps, eval hits), as Splits counts
        keys = session.plan().dropped.get_column("key")
    return rows.filter(pl.col("key").is_in(keys.implode())).get_column("row")

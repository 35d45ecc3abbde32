"""Row quality: conversation structure, template replies, and text artifacts.

Three checks a fine-tune needs and no parse error reveals; each is a finding (the rows
stay, listed with why), never a reason to set a row aside:

- structure: chat rows that end on a user turn (nothing to learn), start with the
  assistant, hold two turns of one role in a row, use a role outside system / user /
  assistant / tool, or have a blank assistant reply (bits read at load, see
  formats.SHAPE_PROBLEMS);
- templates: one reply given to many different rows ("Thanks, I have opened case"),
  counted on the reply stripped and lower-cased;
- artifacts: unfilled placeholders (`{name}`, `{{date}}`, `<NAME>`, `[Your Name]`),
  HTML leftovers (`<br>`, `&amp;`) and mojibake (`Ã©`, `â€™`, U+FFFD). Brace placeholders
  and HTML are looked for only in rows that do not look like code or markup, where
  `{port}` and `<table>` are the answer, not a leftover.

Everything is a handful of Polars expressions over all rows at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

from ..findings import many
from ..io.formats import SHAPE_PROBLEMS
from ..io.load import Dataset
from ..io.texts import RowTexts, in_slices
from ..settings import QualitySettings

LISTED = 500  # entries each list in the report holds, most telling first
STRUCTURE_NAMES = {
    "ends-on-user": "ending on a user turn (no reply to learn)",
    "starts-with-assistant": "starting with the assistant",
    "repeated-role": "with two turns of one role in a row",
    "unknown-role": "with a role other than system, user, assistant or tool",
    "empty-reply": "with a blank assistant reply",
}
assert tuple(STRUCTURE_NAMES) == SHAPE_PROBLEMS
ARTIFACT_NAMES = {
    "placeholder": "unfilled placeholders",
    "html": "HTML leftovers",
    "mojibake": "mojibake (text decoded with the wrong encoding)",
}

# Rows whose text is (or is about) code or markup: braces and tags are their content.
# A tag that opens a line is markup written on purpose; a leftover sits inside prose.
# Code by its syntax alone: the outlier check uses this (a question about HTML is prose).
CODE_SYNTAX = (
    r"(?m)```|^#!|^\s*(?:def|class|import|from \S+ import|#include|public|private|function|const|let|var"
    r"|SELECT|CREATE|<!DOCTYPE|<html)\b|^\s*</?[A-Za-z]|;\s*$|\)\s*\{|=>|console\.log|print\(|\$\{|\\begin\{"
)
_CODE = CODE_SYNTAX + r"|(?i:\bhtml\b|\bcss\b|\bxml\b|\bmarkup\b|\bjsx\b)"
# (kind, pattern, capture group holding the evidence, also looked for in code rows)
_ARTIFACTS: tuple[tuple[str, str, int, bool], ...] = (
    # {name} or {{name}}, not ${name}, %{name}, \begin{name} or part of a longer brace run.
    ("placeholder", r"(?:^|[^$%#\w{}\\])(\{\{?[A-Za-z_][A-Za-z0-9_]{0,30}\}\}?)", 1, False),
    (
        "placeholder",
        r"<[A-Z][A-Z0-9_ ]{2,30}>|\[(?i:insert|your|enter|placeholder|name of|todo)\b[^\]\n]{0,40}\]",
        0,
        True,
    ),
    (
        "html",
        r"</?(?i:p|div|span|br|b|i|u|em|strong|li|ul|ol|table|tr|td|th|h[1-6]|a|img|font)(?:\s[^<>\n]{0,200})?/?>"
        r"|&(?:amp|lt|gt|quot|apos|nbsp|#\d{2,5}|#x[0-9a-fA-F]{2,4});",
        0,
        False,
    ),
    ("mojibake", r"Ã[\x{80}-\x{BF}]|Â[\x{80}-\x{BF}]|â€|ï»¿|\x{FFFD}", 0, True),
)
_ANY = "|".join(f"(?:{pattern})" for _, pattern, _, _ in _ARTIFACTS)
STRUCTURE_SCHEMA = {"row": pl.UInt32(), "key": pl.String(), "problems": pl.List(pl.String())}
TEMPLATE_SCHEMA = {
    "reply": pl.String(),
    "count": pl.UInt32(),
    "share": pl.Float64(),
    "rows": pl.List(pl.UInt32()),
}
ARTIFACT_SCHEMA = {"row": pl.UInt32(), "key": pl.String(), "kind": pl.String(), "evidence": pl.String()}


@dataclass
class Quality:
    """What the three checks found over the rows of one dataset."""

    conversations: int  # rows that are conversations (a reply, or a structure bit)
    structure: pl.DataFrame  # STRUCTURE_SCHEMA: rows with a structure problem, in row order
    replies: int  # rows with a reply, what template shares are of
    template_min: int
    templates: pl.DataFrame  # TEMPLATE_SCHEMA: replies given at least template_min times, most first
    artifacts: pl.DataFrame  # ARTIFACT_SCHEMA: one line per row and kind, in row order

    @property
    def structure_ran(self) -> bool:
        return self.conversations > 0

    @property
    def structure_reason(self) -> str:
        return "" if self.structure_ran else "no conversations: every row is a single text"

    @property
    def templates_ran(self) -> bool:
        # Fewer replies than a template needs: none could have been found.
        return self.replies >= max(self.template_min, 1)

    @property
    def templates_reason(self) -> str:
        if self.templates_ran:
            return ""
        if not self.replies:
            return "no replies: every row is a single text"
        replies = many(self.replies, "reply", "replies")
        return f"{replies}, fewer than the {self.template_min} a template is given to"

    @property
    def artifact_rows(self) -> int:
        """Rows with at least one artifact (a row can have several kinds)."""
        return self.artifacts["row"].n_unique()

    def structure_counts(self) -> dict[str, int]:
        return tally(self.structure["problems"].explode(), SHAPE_PROBLEMS)

    def artifact_counts(self) -> dict[str, int]:
        return tally(self.artifacts["kind"], ARTIFACT_NAMES)

    def structure_detail(self) -> str:
        found = [(n, STRUCTURE_NAMES[k]) for k, n in self.structure_counts().items() if n]
        if not found:
            if self.conversations == 1:
                return "the one conversation well formed"
            return f"every one of {self.conversations:,} conversations well formed"
        return f"{many(self.structure.height, 'row')}: " + "; ".join(f"{n:,} {what}" for n, what in found)

    def template_detail(self) -> str:
        if not self.templates.height:
            return f"no reply given {self.template_min} times or more"
        top = self.templates.row(0, named=True)
        replies = many(self.templates.height, "reply", "replies")
        return (
            f"{replies} given {self.template_min}+ times; top ×{top['count']:,} "
            f"({top['share']:.1%} of replies): {_short(top['reply'])}"
        )

    def artifact_detail(self) -> str:
        found = [(n, ARTIFACT_NAMES[k]) for k, n in self.artifact_counts().items() if n]
        if not found:
            return "no placeholders, HTML leftovers or mojibake"
        return "; ".join(f"{many(n, 'row')} with {what}" for n, what in found)

    def to_dict(self, keys: pl.Series) -> dict[str, Any]:
        templates = self.templates.head(LISTED)
        return {
            "structure": {
                "ran": self.structure_ran,
                "conversations": self.conversations,
                "rows": self.structure.height,
                "counts": self.structure_counts(),
                "listed": self.structure.head(LISTED).select("key", "problems").to_dicts(),
            },
            "templates": {
                "ran": self.templates_ran,
                "replies": self.replies,
                "min_count": self.template_min,
                "count": self.templates.height,
                "listed": [
                    {
                        "reply": t["reply"],
                        "count": t["count"],
                        "share": t["share"],
                        "keys": keys.gather(t["rows"][:20]).to_list(),
                    }
                    for t in templates.iter_rows(named=True)
                ],
            },
            "artifacts": {
                "rows": self.artifact_rows,
                "counts": self.artifact_counts(),
                "listed": self.artifacts.head(LISTED).select("key", "kind", "evidence").to_dicts(),
            },
        }


def tally(values: pl.Series, names: Iterable[str]) -> dict[str, int]:
    """How often each of `names` occurs in `values`, every name present (0 if absent)."""
    found = dict(values.value_counts().iter_rows())
    return {name: int(found.get(name, 0)) for name in names}


def _short(text: str, width: int = 60) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= width else one_line[: width - 1] + "…"


def find_quality(dataset: Dataset, settings: QualitySettings | None = None) -> Quality:
    """Structure problems, template replies and artifacts over every row of `dataset`."""
    settings = settings or QualitySettings()
    rows = dataset.rows
    bits = pl.col("shape")
    problems = pl.concat_list(
        [pl.when((bits & (1 << i)) > 0).then(pl.lit(name)) for i, name in enumerate(SHAPE_PROBLEMS)]
    ).list.drop_nulls()
    structure = (
        rows.filter(bits > 0).select("row", "key", problems=problems).cast(STRUCTURE_SCHEMA)  # type: ignore[arg-type]
    )
    conversations = int(rows.select(((pl.col("reply") > 0) | (bits > 0)).sum()).item())
    replies, templates = _templates(rows, settings.template_min, dataset.texts)
    return Quality(
        conversations=conversations,
        structure=structure,
        replies=replies,
        template_min=settings.template_min,
        templates=templates,
        artifacts=_artifacts(rows, dataset.texts),
    )


def _templates(rows: pl.DataFrame, least: int, texts: RowTexts | None = None) -> tuple[int, pl.DataFrame]:
    """Rows with a reply, and the replies given at least `least` times (stripped, lower-cased)."""
    text = pl.col("text")
    reply = text.str.slice(text.str.len_chars() - pl.col("reply")).str.strip_chars()
    given = in_slices(
        rows.filter(pl.col("reply") > 0),
        texts,
        lambda part: (
            part.lazy()
            .select("row", r=reply)
            .filter(pl.col("r") != "")
            .with_columns(h=pl.col("r").str.to_lowercase().hash())
            .collect()
        ),
    )
    # Counted first, then listed only for the replies given often enough: most replies
    # are given once, and a list per reply cost twice the rest (1M chat rows: 0.39-0.43
    # -> 0.17-0.19 s). Filtering keeps the rows' order, so `first` is the same reply.
    often = given.group_by("h").agg(pl.len()).filter(pl.col("len") >= least)["h"]
    counted = (
        given.filter(pl.col("h").is_in(often.implode()))
        .group_by("h")
        .agg(pl.len().alias("count"), pl.col("row").sort().alias("rows"), pl.col("r").first().alias("reply"))
    )
    replies = int(rows.select((pl.col("reply") > 0).sum()).item())
    listed = counted.select(
        "reply",
        "count",
        share=pl.col("count") / max(replies, 1),
        rows="rows",
        first=pl.col("rows").list.first(),
    )
    # Most given first; equal counts in the order their first row comes.
    listed = listed.sort(["count", "first"], descending=[True, False]).drop("first")
    return replies, listed.cast(TEMPLATE_SCHEMA)  # type: ignore[arg-type]


def _artifacts(rows: pl.DataFrame, texts: RowTexts | None = None) -> pl.DataFrame:
    """One line per row and kind of artifact, with the first match as evidence."""
    text = pl.col("text")
    # One pass over every text for any pattern at all; the few rows that match are then
    # looked at kind by kind (five passes over every text took 4x as long).
    suspects = in_slices(
        rows,
        texts,
        lambda part: part.lazy().filter(text.str.contains(_ANY)).select("row", "key", "text").collect(),
    )
    code = text.str.contains(_CODE)
    found = []
    for kind, pattern, group, in_code in _ARTIFACTS:
        hit = text.str.contains(pattern) if in_code else (~code & text.str.contains(pattern))
        found.append(
            suspects.lazy()
            .filter(hit)
            .select(
                "row", "key", kind=pl.lit(kind), evidence=text.str.extract(pattern, group).str.slice(0, 80)
            )
        )
    return (
        pl.concat(found)
        .unique(["row", "kind"], keep="first", maintain_order=True)
        .sort("row", maintain_order=True)
        .collect()
        .cast(ARTIFACT_SCHEMA)  # type: ignore[arg-type]
    )

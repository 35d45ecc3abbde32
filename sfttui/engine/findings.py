"""Findings as data: what a check found, with a kind that code reads and a message a
person reads.

A `Finding` is the message string itself (so summaries, reports and manifests print it
as before, byte for byte) carrying its `kind`, the labels it is about and the split it
concerns. `--fail-on` and the app's tabs decide by kind and labels, never by searching
the English text.
"""

from __future__ import annotations

from collections.abc import Iterable


class Finding(str):
    """A message with its kind, the labels it concerns and, where one applies, its split."""

    __slots__ = ("kind", "labels", "split")
    kind: str
    labels: tuple[str, ...]
    split: str | None

    def __new__(
        cls, message: str, kind: str, labels: Iterable[str] = (), split: str | None = None
    ) -> Finding:
        self = super().__new__(cls, message)
        self.kind, self.labels, self.split = kind, tuple(labels), split
        return self

    def __reduce__(self) -> tuple:
        # Findings travel from the analysis process to the app in a pickle.
        return (Finding, (str(self), self.kind, self.labels, self.split))

    def __repr__(self) -> str:
        return f"Finding({str(self)!r}, kind={self.kind!r})"


def of_kind(findings: Iterable[str], *kinds: str) -> list[Finding]:
    """The findings of these kinds (plain strings have no kind and are left out)."""
    return [f for f in findings if isinstance(f, Finding) and f.kind in kinds]


def many(n: int, noun: str, plural: str | None = None) -> str:
    """A count and its noun, agreeing: "1 row", "0 rows", "2,671 rows" (`plural` for the
    nouns that do not add an s: "reply", "replies")."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"

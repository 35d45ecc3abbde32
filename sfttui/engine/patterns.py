"""What marks a refusal, an out-of-scope answer or a clarifying question: response
patterns and label names, with the person's own additions.

Patterns are Rust regular expressions (what Polars runs, so matching is vectorised),
matched case-insensitively against the opening of the response (its first
`RESPONSE_HEAD` characters, where a refusal or a question back is made; a long helpful
answer that mentions "I can't" halfway through is not a refusal), with curly
apostrophes straightened. A response whose first sentence is a question counts as a
clarifying question too. A patterns file holds one `category: regex` per line; blank
lines and lines starting with `#` are ignored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from .errors import InputError

CATEGORIES = ("refusal", "ood", "clarifying")
RESPONSE_HEAD = 400

_CANT = r"(?:can ?not|can't|won't|will not|am unable to|'m unable to|am not able to|'m not able to)"
_HELP = r"(?:help|assist|provide|comply|do that|fulfil|fulfill|support|create|generate|write|share|give)"

DEFAULT_PATTERNS: dict[str, tuple[str, ...]] = {
    "refusal": (
        rf"\b(?:i'm|i am) (?:sorry|afraid),? (?:but )?(?:i )?{_CANT}",
        rf"\bi {_CANT} {_HELP}\b",
        r"\bas an? (?:ai|language model|assistant)\b[^.]{0,80}\b(?:can ?not|can't|unable|not able)\b",
        r"\bi (?:must|have to) (?:decline|refuse)\b",
        r"\bi (?:won't|will not) be able to (?:help|assist|do|share|provide)\b",
        r"\b(?:not|never) (?:able|allowed|permitted) to (?:help|assist|provide|share|discuss)\b",
        r"\b(?:it|this|that) (?:would be|is) (?:inappropriate|unethical|illegal|harmful)\b",
    ),
    "ood": (
        r"\bi (?:don't|do not) know\b",
        r"\b(?:outside|beyond|out of) (?:of )?(?:my|the) (?:scope|expertise|area|domain)\b",
        r"\b(?:not|isn't) something i (?:can )?(?:help|handle|assist|answer|do)\b",
        r"\bi (?:can )?only (?:help|assist|answer|handle|talk about|discuss)\b",
        r"\bi (?:don't|do not) have (?:access|information|enough information|any information)\b",
    ),
    "clarifying": (
        r"\b(?:could|can|would) you (?:please )?(?:clarify|specify|elaborate|provide more|give me more"
        r"|tell me more|share more|be more specific)\b",
        r"\b(?:do|did) you mean\b",
        r"\bwhat do you mean\b",
        r"\bcan you (?:confirm|clarify)\b",
        r"\bi need (?:a bit |some )?more (?:information|details|context)\b",
        r"^[^.!?\n]{3,160}\?",  # the first sentence is a question
    ),
}

# Label names (lower case, spaces and hyphens as underscores) that mark a category.
DEFAULT_LABELS: dict[str, frozenset[str]] = {
    "refusal": frozenset({"refusal", "refuse", "refused", "decline", "declined", "cannot_help"}),
    "ood": frozenset(
        {
            "oos",
            "out_of_scope",
            "outofscope",
            "out_of_domain",
            "ood",
            "other",
            "unknown",
            "none",
            "no_intent",
            "fallback",
            "unsupported",
            "irrelevant",
            "off_topic",
        }
    ),
    "clarifying": frozenset(
        {"clarify", "clarification", "clarifying", "needs_clarification", "ask_clarification"}
    ),
}


@dataclass(frozen=True)
class Patterns:
    """Response patterns and label names per category."""

    regex: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_PATTERNS))
    labels: dict[str, frozenset[str]] = field(default_factory=lambda: dict(DEFAULT_LABELS))
    sources: tuple[str, ...] = ("built-in",)

    def combined(self, category: str) -> str:
        """One case-insensitive alternation of every pattern of a category."""
        return "(?i)" + "|".join(f"(?:{p})" for p in self.regex.get(category, ()))


def label_name(label: str) -> str:
    """A label as the built-in names spell it: lower case, underscores."""
    return label.strip().lower().replace("-", "_").replace(" ", "_")


def _check(pattern: str) -> str | None:
    """The regex engine's complaint about a pattern, or None when it compiles."""
    try:
        pl.Series([""], dtype=pl.String).str.contains(pattern)
    except pl.exceptions.ComputeError as exc:
        return str(exc).strip().splitlines()[-1] if str(exc).strip() else "invalid regular expression"
    return None


def load_patterns(
    path: str | os.PathLike[str] | None = None,
    refusal_labels: tuple[str, ...] = (),
    ood_labels: tuple[str, ...] = (),
) -> Patterns:
    """The built-in patterns, extended by a patterns file and extra label names."""
    regex = {c: list(DEFAULT_PATTERNS[c]) for c in CATEGORIES}
    labels = {c: set(DEFAULT_LABELS[c]) for c in CATEGORIES}
    labels["refusal"] |= {label_name(x) for x in refusal_labels}
    labels["ood"] |= {label_name(x) for x in ood_labels}
    sources = ["built-in"]
    if path is not None:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read the patterns file ({exc})") from None
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            category, sep, pattern = line.partition(":")
            category, pattern = category.strip().lower(), pattern.strip()
            if not sep or category not in CATEGORIES:
                raise InputError(
                    f"{path}:{number}: expected 'category: regex' with a category of "
                    f"{', '.join(CATEGORIES)}, got {line[:60]!r}"
                )
            if not pattern:
                raise InputError(f"{path}:{number}: empty pattern for {category}")
            problem = _check(pattern)
            if problem:
                raise InputError(f"{path}:{number}: invalid pattern {pattern!r}: {problem}")
            regex[category].append(pattern)
        sources.append(str(path))
    return Patterns(
        regex={c: tuple(v) for c, v in regex.items()},
        labels={c: frozenset(v) for c, v in labels.items()},
        sources=tuple(sources),
    )

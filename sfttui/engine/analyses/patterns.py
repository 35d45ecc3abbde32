"""What marks a refusal, an out-of-scope answer or a clarifying question: response
patterns and label names, with the person's own additions.

Patterns are Rust regular expressions (what Polars runs, so matching is vectorised),
matched case-insensitively against the opening of the response (its first
`RESPONSE_HEAD` characters, where a refusal or a question back is made; a long helpful
answer that mentions "I can't" halfway through is not a refusal), with curly
apostrophes straightened. Clarifying questions are looked for only in short responses,
where a first sentence that asks the person something counts too. The regex engine has
no look-around, so the built-in patterns exclude helpful phrasings ("I can't help but
notice") by anchoring instead; they were checked against the bundled real datasets.
A patterns file holds one `category: regex` per line; blank
lines and lines starting with `#` are ignored.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..errors import InputError
from ..io.load import regular_file

CATEGORIES = ("refusal", "ood", "clarifying")
RESPONSE_HEAD = 400

_CANT = r"(?:can ?not|can't|won't|will not|am unable to|'m unable to|am not able to|'m not able to)"
# What is declined; "help" only when it is the thing refused ("I can't help but notice" is not).
_HELP = (
    r"(?:help(?: you| with| on| here| there|[.,!]|$)|assist|provide|comply|do (?:that|this)|fulfil"
    r"|support that|create (?:that|this)|generate (?:that|this)|write (?:that|this)"
    r"|share (?:that|this|it|personal|other|another|someone|their)|give (?:you|out|that))"
)
CLARIFY_MAX_REPLY = 400  # a question back is short; a long answer that opens with a question is not one

_BUILT_IN: dict[str, tuple[str, ...]] = {
    "refusal": (
        rf"\b(?:i'm|i am) (?:sorry|afraid),? (?:but )?(?:i ?)?{_CANT}",
        rf"\bi ?{_CANT} {_HELP}",
        r"\bas an? (?:ai|language model|assistant)\b[^.]{0,80}\b(?:can ?not|can't|unable|not able)\b",
        r"\bi (?:must|have to) (?:decline|refuse)\b",
        r"\bi (?:won't|will not) be able to (?:help|assist|do that|share|provide)\b",
        r"\bi(?:'m| am) (?:not|never) (?:able|allowed|permitted) to (?:help|assist|provide|share|discuss)\b",
        # Only as a sentence of its own: "a problem that is harmful to fish" is no refusal.
        r"(?:^|[.!?]\s+)(?:that|this|it) (?:would be|is) (?:inappropriate|unethical|illegal|harmful)\b",
    ),
    "ood": (
        r"^(?:(?:i'm )?sorry,? )?i (?:don't|do not) know(?:[.,!;]|$| the answer| enough"
        r"| about (?:that|this))",
        r"\b(?:outside|beyond|out of) (?:of )?my (?:scope|expertise|area|domain)\b",
        r"\b(?:outside|beyond) (?:the )?scope of what i\b",
        r"\b(?:not|isn't) something i (?:can )?(?:help|handle|assist|answer|do)\b",
        r"\bi (?:can )?only (?:help|assist|answer|handle|talk about|discuss)\b",
        r"\bi (?:don't|do not) have (?:access|information|enough information|any information)\b",
    ),
    # Matched only in responses of at most CLARIFY_MAX_REPLY characters.
    "clarifying": (
        r"\b(?:could|can|would) you (?:please )?(?:clarify|specify|elaborate|provide more|give me more"
        r"|tell me more|share more|be more specific)\b",
        r"^(?:[^.!?\n]{0,60}[.!]\s+)?(?:do|did) you mean\b",
        r"\bwhat do you mean\b",
        r"\bcan you (?:confirm|clarify)\b",
        r"\bi need (?:a bit |some )?more (?:information|details|context)\b",
        # The first sentence is a question to the person, and not code.
        r"^[^.!?\n=(){};<>]{0,160}\byour?\b[^.!?\n=(){};<>]{0,160}\?",
    ),
}
# ASCII word boundaries: Unicode \b makes the regex engine give up its fast path on any
# non-ASCII text (40x slower); the words matched here are ASCII anyway.
DEFAULT_PATTERNS: dict[str, tuple[str, ...]] = {
    c: tuple(p.replace(r"\b", r"(?-u:\b)") for p in ps) for c, ps in _BUILT_IN.items()
}
LABEL_SEPARATORS = r"[\s\-]+"  # runs of these become one "_" when label names are compared

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
            "no_intent",
            "fallback",
            "off_topic",
        }
    ),
    "clarifying": frozenset(
        {"clarify", "clarification", "clarifying", "needs_clarification", "ask_clarification"}
    ),
}


# Names that often mean something else ("other" is just another topic in many label
# sets): they count only when most of the label's rows also answer like the category.
DEFAULT_WEAK_LABELS: dict[str, frozenset[str]] = {
    "refusal": frozenset(),
    "ood": frozenset({"other", "unknown", "none", "unsupported", "irrelevant"}),
    "clarifying": frozenset(),
}


@dataclass(frozen=True)
class Patterns:
    """Response patterns and label names per category: names that count on their own,
    names that need their rows' responses to agree (`weak`), and names the person gave
    (`named`, --refusal-label / --ood-label), which count on their own."""

    regex: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_PATTERNS))
    labels: dict[str, frozenset[str]] = field(default_factory=lambda: dict(DEFAULT_LABELS))
    sources: tuple[str, ...] = ("built-in",)
    weak: dict[str, frozenset[str]] = field(default_factory=lambda: dict(DEFAULT_WEAK_LABELS))
    named: dict[str, frozenset[str]] = field(default_factory=dict)

    def combined(self, category: str) -> str:
        """One case-insensitive alternation of every pattern of a category, as group 1
        (what matched is the evidence shown to the person)."""
        return "(?i)(" + "|".join(f"(?:{p})" for p in self.regex.get(category, ())) + ")"


def label_name(label: str) -> str:
    """A label as the built-in names spell it: lower case, underscores (as coverage compares them)."""
    return re.sub(LABEL_SEPARATORS, "_", label.strip().lower())


def _check(pattern: str) -> str | None:
    """The regex engine's complaint about a pattern, or None when it compiles."""
    try:
        pl.Series([""], dtype=pl.String).str.contains(pattern)
    except pl.exceptions.ComputeError as exc:
        lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
        # The engine's own words ("error: unclosed group"), not the expression it was in.
        cause = [x for x in lines if x.startswith("error:")]
        return (cause or lines or ["invalid regular expression"])[0]
    return None


def load_patterns(
    path: str | os.PathLike[str] | None = None,
    refusal_labels: tuple[str, ...] = (),
    ood_labels: tuple[str, ...] = (),
) -> Patterns:
    """The built-in patterns, extended by a patterns file and extra label names."""
    regex = {c: list(DEFAULT_PATTERNS[c]) for c in CATEGORIES}
    labels = {c: set(DEFAULT_LABELS[c]) for c in CATEGORIES}
    named = {c: set[str]() for c in CATEGORIES}
    named["refusal"] |= {label_name(x) for x in refusal_labels}
    named["ood"] |= {label_name(x) for x in ood_labels}
    sources = ["built-in"]
    if path is not None:
        try:
            regular_file(Path(path))  # a FIFO would block the scan for ever
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
        weak={c: DEFAULT_WEAK_LABELS[c] - named[c] for c in CATEGORIES},
        named={c: frozenset(v) for c, v in named.items()},
    )

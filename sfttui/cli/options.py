"""Command-line options bound to the settings dataclasses: each declared once, with its
default read from the dataclass, so a default lives in one place (engine/settings.py).

Imports click and the settings only: `--help` stays fast.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

import click

from ..engine.settings import FORMATS, LOWEST_THRESHOLD, ScanSettings, SplitSettings


class _Size(click.ParamType):
    """A size in bytes, with an optional K, M, G or T suffix (powers of 1024)."""

    name = "SIZE"
    _UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().upper().removesuffix("B").removesuffix("I")
        unit = text[-1:] if text[-1:] in self._UNITS else ""
        try:
            number = float(text[: len(text) - len(unit)])
        except ValueError:
            self.fail(f"{value!r} is not a size such as 500M or 16G", param, ctx)
        if not math.isfinite(number) or int(number * self._UNITS[unit]) < 1:
            self.fail(f"{value!r} is not a positive size", param, ctx)
        return int(number * self._UNITS[unit])


SIZE = _Size()


class _Number(click.FloatRange):
    """A float range that refuses NaN: no comparison with NaN fails, so a range check lets
    it through, and a limit of NaN turned its gate off (--max-imbalance nan: "ok")."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


class _Threshold(_Number):
    """A near-duplicate threshold no lower than the engine runs at (LOWEST_THRESHOLD)."""

    LOWEST = LOWEST_THRESHOLD

    def __init__(self) -> None:
        super().__init__(self.LOWEST, 1.0)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        with contextlib.suppress(TypeError, ValueError):
            if 0 <= float(value) < self.LOWEST:
                self.fail(
                    f"{value!r} is below {self.LOWEST}: at that similarity most texts are near one "
                    "another, and the pairs to check grow with the square of the rows",
                    param,
                    ctx,
                )
        return super().convert(value, param, ctx)


class _FieldPath(click.ParamType):
    """A field name or dotted path (meta.user): no blank name and no empty part, which
    read as no field at all ("200 rows have no value for ; each is its own group")."""

    name = "PATH"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if not text.strip() or any(not part.strip() for part in text.split(".")):
            self.fail(
                f"{value!r} names no field (an empty name, or an empty part of a dotted path)", param, ctx
            )
        return text


FIELD = _FieldPath()


def _size_text(n: int) -> str:
    for unit, size in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


@dataclass(frozen=True)
class Setting:
    """One option bound to one field of ScanSettings (`path`, e.g. "near.threshold")."""

    path: str
    flags: tuple[str, ...]
    help: str
    dest: str | None = None  # the parameter's name; by default the field's
    type: Any = None
    off: bool = False  # a flag that turns a setting that is on by default off
    many: bool = False  # repeatable; the values are kept as a tuple
    metavar: str | None = None
    show: Callable[[Any], str] | None = None  # the default as a person writes it (4G)

    @property
    def name(self) -> str:
        return self.dest or self.path.rsplit(".", 1)[-1]

    def option(self, defaults: ScanSettings) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        if self.off:
            return click.option(*self.flags, self.name, is_flag=True, help=self.help)
        if self.many:
            return click.option(
                *self.flags, self.name, multiple=True, type=self.type, metavar=self.metavar, help=self.help
            )
        default = _get(defaults, self.path)
        if default is None:  # an optional field: --help says what leaving it out means
            return click.option(*self.flags, self.name, type=self.type, metavar=self.metavar, help=self.help)
        return click.option(
            *self.flags,
            self.name,
            type=self.type,
            metavar=self.metavar,
            # Shown as written (4G), and turned back into the value by the type.
            default=self.show(default) if self.show else default,
            show_default=True,
            help=self.help,
        )

    def value(self, opts: dict[str, Any]) -> Any:
        given = opts[self.name]
        if self.off:
            return not given
        return tuple(given) if self.many else given


SCAN_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "load.format",
        ("--format",),
        "Record format (default: detect per file).",
        "fmt",
        click.Choice(FORMATS),
    ),
    Setting(
        "load.text_field",
        ("--text-field",),
        "Field holding the text, e.g. body or meta.text.",
        type=FIELD,
        metavar="PATH",
    ),
    Setting(
        "load.label_field",
        ("--label-field",),
        "Field holding the label (default: label).",
        type=FIELD,
        metavar="PATH",
    ),
    Setting(
        "load.id_field",
        ("--id-field",),
        "Field holding a unique row id (default: id).",
        type=FIELD,
        metavar="PATH",
    ),
    Setting(
        "load.group_fields",
        ("--group-field", "--by"),
        "Field naming a group (user, document, source); repeatable. Rows sharing a value stay together.",
        type=FIELD,
        many=True,
        metavar="PATH",
    ),
    Setting(
        "load.max_row_bytes",
        ("--max-row-bytes",),
        "Rows larger than this are reported, not analysed.",
        type=click.IntRange(1),
    ),
    Setting(
        "load.max_decompressed_bytes",
        ("--max-decompressed",),
        "Refuse a compressed input that expands past this size (e.g. 500M, 16G).",
        "max_decompressed",
        SIZE,
        show=_size_text,
    ),
    Setting(
        "load.max_expansion",
        ("--max-expansion",),
        "Refuse a compressed input that expands past this many times its size.",
        type=_Number(1.0),
    ),
    Setting(
        "near.threshold",
        ("--threshold",),
        "Jaccard similarity at which two texts are near duplicates.",
        type=_Threshold(),
    ),
    Setting("near.num_perm", ("--num-perm",), "MinHash permutations.", type=click.IntRange(16, 1024)),
    Setting("near.enabled", ("--no-near",), "Find exact duplicates only.", "no_near", off=True),
    Setting(
        "keep",
        ("--keep",),
        "Which member of a duplicate cluster is proposed as the keeper.",
        type=click.Choice(["first", "longest"]),
    ),
    Setting(
        "normalize.nfkc", ("--no-nfkc",), "Match without Unicode NFKC normalisation.", "no_nfkc", off=True
    ),
    Setting(
        "normalize.casefold", ("--case-sensitive",), "Match without casefolding.", "case_sensitive", off=True
    ),
    Setting(
        "normalize.strip_punctuation",
        ("--keep-punctuation",),
        "Match without stripping punctuation.",
        "keep_punctuation",
        off=True,
    ),
    Setting(
        "normalize.collapse_whitespace",
        ("--keep-whitespace",),
        "Match without collapsing whitespace.",
        "keep_whitespace",
        off=True,
    ),
    Setting(
        "balance.max_imbalance_ratio",
        ("--max-imbalance",),
        "Warn when the largest label has more than this many times the smallest.",
        "max_imbalance",
        _Number(1.0),
    ),
    Setting(
        "eval_paths",
        ("--eval",),
        "An evaluation or gold set to check for contamination; repeatable.",
        type=click.Path(dir_okay=False),
        many=True,
        metavar="FILE",
    ),
    Setting(
        "leakage.ngram",
        ("--ngram-overlap",),
        "Word n-gram length for eval contamination.",
        "ngram_overlap",
        click.IntRange(4, 100),
    ),
    Setting(
        "coverage.reference_paths",
        ("--reference",),
        "A sample of real production inputs to compare the training prompts with; repeatable.",
        type=click.Path(dir_okay=False),
        many=True,
        metavar="FILE",
    ),
    Setting(
        "coverage.refusal_labels",
        ("--refusal-label",),
        "A label that marks refusal examples (besides refusal, decline, ...); repeatable.",
        many=True,
        metavar="LABEL",
    ),
    Setting(
        "coverage.ood_labels",
        ("--ood-label",),
        "A label that marks out-of-scope examples (besides oos, out_of_scope, other, ...); repeatable.",
        many=True,
        metavar="LABEL",
    ),
    Setting(
        "coverage.patterns_path",
        ("--patterns",),
        "Extra response patterns, one 'refusal|ood|clarifying: regex' per line.",
        type=click.Path(dir_okay=False),
        metavar="FILE",
    ),
    Setting(
        "coverage.model",
        ("--no-model",),
        "Skip the label model (ambiguous rows, label suspects).",
        "no_model",
        off=True,
    ),
    Setting("coverage.enabled", ("--no-coverage",), "Skip the hard-data analysis.", "no_coverage", off=True),
    Setting(
        "balance.min_label_count",
        ("--min-label-count",),
        "Warn about labels with fewer rows than this.",
        type=click.IntRange(1),
    ),
    Setting(
        "lengths.tokenizer",
        ("--tokenizer",),
        "The model's local tokenizer.json (or its folder) for lengths in tokens; without it, approximate.",
        metavar="PATH",
    ),
    Setting(
        "lengths.max_tokens",
        ("--max-tokens",),
        "The model's context: rows longer than this many tokens are listed (never truncated).",
        type=click.IntRange(1),
    ),
    Setting(
        "quality.template_min",
        ("--template-min",),
        "List a reply given to this many rows or more as a template answer.",
        type=click.IntRange(2),
    ),
)


def _get(settings: Any, path: str) -> Any:
    for part in path.split("."):
        settings = getattr(settings, part)
    return settings


def data_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options of every command that reads data (scan, split, demo, the app)."""
    defaults = ScanSettings()
    for setting in reversed(SCAN_SETTINGS):
        func = setting.option(defaults)(func)
    return func


def settings_from(opts: dict[str, Any]) -> ScanSettings:
    """The ScanSettings the options given (and the defaults) describe."""
    if opts.get("fmt") and opts.get("text_field"):
        # --text-field reads the text its own way: the format would be dropped unseen.
        raise click.UsageError("--format and --text-field both say where the text is: give one")
    return _with(ScanSettings(), {s.path: s.value(opts) for s in SCAN_SETTINGS})


def _with(settings: Any, values: dict[str, Any]) -> Any:
    """A copy of a (nested) settings dataclass with the dotted paths set."""
    changes: dict[str, Any] = {}
    for f in fields(settings):
        inner = {p.split(".", 1)[1]: v for p, v in values.items() if p.startswith(f.name + ".")}
        if f.name in values:
            changes[f.name] = values[f.name]
        elif inner and is_dataclass(getattr(settings, f.name)):
            changes[f.name] = _with(getattr(settings, f.name), inner)
    return replace(settings, **changes)


SPLIT_DEFAULTS = SplitSettings()


def ratios_text(ratios: tuple[float, float, float]) -> str:
    """80/10/10 for (0.8, 0.1, 0.1)."""
    return "/".join(f"{r * 100:g}" for r in ratios)

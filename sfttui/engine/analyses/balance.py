"""Class balance: counts, shares, the majority-class baseline and warnings."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..findings import Finding, of_kind
from ..settings import BalanceSettings

# The kinds of balance finding `--fail-on imbalance` fails on (a label mix between
# splits, a label missing from a split or a single label are warned about, not gated).
IMBALANCE_KINDS = ("imbalance_ratio", "rare_label")
# The kinds a person silences by marking a label's imbalance deliberate (a label mix that
# differs between splits is another problem, and stays).
SKEW_KINDS = ("one_label", "imbalance_ratio", "rare_label")


@dataclass
class LabelStats:
    """Label counts of one set of rows and the figures derived from them."""

    counts: dict[str, int]
    total: int
    majority_label: str | None
    majority_baseline: float | None
    imbalance_ratio: float | None
    entropy: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.total,
            "labels": self.counts,
            "shares": {k: v / self.total for k, v in self.counts.items()} if self.total else {},
            "majority_label": self.majority_label,
            "majority_baseline": self.majority_baseline,
            "imbalance_ratio": self.imbalance_ratio,
            "normalized_entropy": self.entropy,
        }


@dataclass
class Balance:
    """Balance overall and per existing split, with warnings; `applies` is False without labels."""

    applies: bool
    overall: LabelStats | None = None
    per_split: dict[str, LabelStats] = field(default_factory=dict)
    warnings: list[Finding] = field(default_factory=list)
    rare_labels: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def mix_warnings(self) -> list[Finding]:
        """The label-mix findings among `warnings`."""
        return of_kind(self.warnings, "label_mix")

    @property
    def imbalance(self) -> list[Finding]:
        """What `--fail-on imbalance` fails on."""
        return of_kind(self.warnings, *IMBALANCE_KINDS)

    def to_dict(self) -> dict[str, Any]:
        if not self.applies or self.overall is None:
            return {"applies": False, "reason": self.reason}
        return {
            "applies": True,
            **self.overall.to_dict(),
            "per_split": {name: s.to_dict() for name, s in self.per_split.items()},
            "rare_labels": self.rare_labels,
            "label_mix_warnings": self.mix_warnings,
            "warnings": self.warnings,
        }


def label_stats(labels: pl.Series) -> LabelStats:
    """Counts (largest first, ties by name), baseline, imbalance ratio and normalised entropy."""
    counted = labels.drop_nulls().value_counts(name="n").sort(["n", labels.name], descending=[True, False])
    counts = dict(zip(counted[labels.name].to_list(), counted["n"].to_list()))
    total = sum(counts.values())
    if not counts:
        return LabelStats({}, 0, None, None, None, None)
    majority = next(iter(counts))
    values = list(counts.values())
    shares = [v / total for v in values]
    entropy = -sum(p * math.log(p) for p in shares)
    return LabelStats(
        counts=counts,
        total=total,
        majority_label=majority,
        majority_baseline=values[0] / total,
        imbalance_ratio=values[0] / values[-1],
        entropy=entropy / math.log(len(values)) if len(values) > 1 else 0.0,
    )


def measure_balance(
    rows: pl.DataFrame, settings: BalanceSettings | None = None, label_field: str = "label"
) -> Balance:
    """Balance of the `label` column of loaded rows, overall and per `split`;
    `label_field` is the field the labels were read from, named when there are none."""
    settings = settings or BalanceSettings()
    labelled = rows.filter(pl.col("label").is_not_null())
    if labelled.height == 0:
        return Balance(
            applies=False, reason=f"no label field '{label_field}' in the data (instruction data?)"
        )
    overall = label_stats(labelled["label"])
    per_split: dict[str, LabelStats] = {}
    if labelled["split"].null_count() < labelled.height:
        for name in sorted(labelled["split"].drop_nulls().unique().to_list()):
            per_split[name] = label_stats(labelled.filter(pl.col("split") == name)["label"])
    warnings: list[Finding] = []
    if len(overall.counts) == 1:
        one = overall.majority_label or ""
        warnings.append(Finding(f"only one label ('{one}'): nothing to classify", "one_label", [one]))
    elif overall.imbalance_ratio and overall.imbalance_ratio > settings.max_imbalance_ratio:
        smallest = list(overall.counts)[-1]
        largest = overall.majority_label or ""
        message = (
            f"imbalance ratio {overall.imbalance_ratio:.1f} ('{largest}' vs "
            f"'{smallest}') is over {settings.max_imbalance_ratio:g}"
        )
        warnings.append(Finding(message, "imbalance_ratio", [largest, smallest]))
    fair = 1 / len(overall.counts)
    floor = settings.min_fair_share * fair
    rare = [
        label
        for label, n in overall.counts.items()
        if n < settings.min_label_count or n / overall.total < floor
    ]
    for label in rare:
        n = overall.counts[label]
        k = len(overall.counts)
        limit = (
            f"under {settings.min_label_count} rows"
            if n < settings.min_label_count
            else f"under {settings.min_fair_share:.0%} of its fair share "
            f"({floor:.2%}: 1/{k} of rows for {k} labels)"
        )
        message = f"label '{label}' has too few rows: {n} ({n / overall.total:.1%}), {limit}"
        warnings.append(Finding(message, "rare_label", [label]))
    for name, stats in per_split.items():
        missing = [label for label in overall.counts if label not in stats.counts]
        if missing:
            message = f"split '{name}' has no rows of: {', '.join(missing)}"
            warnings.append(Finding(message, "missing_in_split", missing, name))
    mix = label_mix_warnings({name: s.counts for name, s in per_split.items()}, settings)
    return Balance(True, overall, per_split, warnings + mix, rare)


def label_mix_warnings(per_split: dict[str, dict[str, int]], settings: BalanceSettings) -> list[Finding]:
    """Labels whose share in a split is far from their share in train (or, without a
    train split, in all rows): a test set with 18% of a class that is 0.7% of train
    measures something the model was hardly taught."""
    if len(per_split) < 2:
        return []
    totals = {name: sum(counts.values()) for name, counts in per_split.items()}
    if "train" in per_split:
        base, base_name = per_split["train"], "train"
    else:
        base, base_name = {}, "all rows"
        for counts in per_split.values():
            for label, n in counts.items():
                base[label] = base.get(label, 0) + n
    base_total = max(sum(base.values()), 1)
    warnings = []
    for name, counts in per_split.items():
        if name == base_name or not totals[name]:
            continue
        for label in sorted(set(base) | set(counts)):
            here, there = counts.get(label, 0) / totals[name], base.get(label, 0) / base_total
            low, high = min(here, there), max(here, there)
            if high - low >= settings.min_mix_gap and high >= settings.max_mix_ratio * low:
                message = (
                    f"label '{label}' is {here:.1%} of {name} but {there:.1%} of {base_name}: "
                    "the splits do not hold the same mix"
                )
                warnings.append(Finding(message, "label_mix", [label], name))
    return warnings

"""Drift between splits: does each split the input brings look like its train split?

The comparison `--reference` makes with production, made between train and every other
split of the input (validation, test): prompt lengths (PSI over train's deciles, the
two-sample KS statistic), the character profile, the multi-turn share, vocabulary (the
split's words never seen in train), the label mix, and adversarial validation (a
classifier cross-validated to tell the split's prompts from train's; AUC near 0.5: alike).
A test split of questions beside a train split of commands is named, with the prompts
the classifier is surest are not train's.

Splits sfttui makes are seeded and stratified, so they match by construction; this
checks the ones people bring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..findings import many
from ..io.load import Dataset
from ..io.texts import RowTexts
from ..runtime.progress import Progress, Stage, no_progress
from ..settings import CoverageSettings
from .labelmodel import sample_positions
from .representativeness import (
    FEATURES,
    MIN_REFERENCE,
    Difference,
    Profile,
    measure_difference,
    profile,
    prompts_of,
    vocabulary,
)

# What counts as drift: the thresholds the production comparison uses.
MAX_AUC = 0.8
MAX_PSI = 0.25
MAX_UNSEEN = 0.1
MAX_FEATURE_GAP = 0.2


@dataclass
class SplitDrift:
    """One split compared with train: the measures of `difference`, or why there are none
    (too few prompts: `detail`)."""

    split: str
    profile: Profile
    difference: Difference | None = None
    # The unseen-word share of a sample of train's own rows against the rest of train:
    # new words a split of this size brings by chance (names, typos, rare words).
    unseen_by_chance: float | None = None
    detail: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def psi(self) -> float | None:
        return self.difference.psi if self.difference else None

    @property
    def ks(self) -> float | None:
        return self.difference.ks if self.difference else None

    @property
    def unseen_token_share(self) -> float | None:
        return self.difference.unseen[0] if self.difference else None

    @property
    def top_unseen(self) -> list[tuple[str, int]]:
        return self.difference.unseen[2] if self.difference else []

    @property
    def auc(self) -> float | None:
        return self.difference.adversarial[0] if self.difference else None

    @property
    def least_like(self) -> pl.DataFrame | None:
        """key, p_reference (here: of not being train), text."""
        return self.difference.adversarial[3] if self.difference else None

    @property
    def label_mix(self) -> dict[str, dict[str, float]]:
        """label -> {"train": share, <split>: share}."""
        mix = self.difference.label_mix if self.difference else {}
        return {k: {"train": v["train"], self.split: v["reference"]} for k, v in mix.items()}

    @property
    def length_edges(self) -> list[float]:
        return self.difference.length_edges if self.difference else []

    @property
    def length_shares(self) -> dict[str, list[float]]:
        if not self.difference:
            return {}
        return {"train": self.difference.shares[0], self.split: self.difference.shares[1]}

    def to_dict(self) -> dict[str, Any]:
        r = lambda v: None if v is None else round(v, 6)  # noqa: E731
        return {
            "rows": self.profile.rows,
            "profile": self.profile.to_dict(),
            "psi": r(self.psi),
            "ks": r(self.ks),
            "unseen_token_share": r(self.unseen_token_share),
            "unseen_by_chance": r(self.unseen_by_chance),
            "top_unseen": [{"word": w, "count": n} for w, n in self.top_unseen],
            "auc": r(self.auc),
            "detail": self.detail,
            "least_like_train": []
            if self.least_like is None
            else self.least_like.rename({"p_reference": "p_split"})
            .with_columns(pl.col("p_split").round(6))
            .to_dicts(),
            "label_mix": {
                k: {s: round(v, 6) for s, v in sides.items()} for k, sides in self.label_mix.items()
            },
            "warnings": self.warnings,
        }


@dataclass
class Drift:
    """Every split of the input compared with train, or why none was."""

    ran: bool
    reason: str
    train: Profile | None = None
    splits: list[SplitDrift] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [w for s in self.splits for w in s.warnings]

    @property
    def unchecked(self) -> str | None:
        """Why a gate on drift cannot pass: none ran, or a split was too small to compare
        and no other split drifted (a 19-row test split of tweets against a train split
        of questions said "each split alike train")."""
        if not self.ran:
            return self.reason
        small = [f"{s.split}: {s.detail}" for s in self.splits if s.difference is None]
        return "; ".join(small) if small and not self.warnings else None

    def summary(self) -> str:
        if not self.ran:
            return f"not checked: {self.reason}"
        parts = [
            f"{s.split}: AUC {s.auc:.2f}" if s.auc is not None else f"{s.split}: too few rows"
            for s in self.splits
        ]
        compared = [s for s in self.splits if s.difference is not None]
        if self.warnings:
            verdict = many(len(self.warnings), "warning")
        elif len(compared) == len(self.splits):
            verdict = "each split alike train"
        else:
            verdict = "compared splits alike train" if compared else "no split compared"
        return f"{verdict} ({', '.join(parts)}; 0.5 = alike)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ran": self.ran,
            "reason": self.reason,
            "train": self.train.to_dict() if self.train else None,
            "splits": {s.split: s.to_dict() for s in self.splits},
            "warnings": self.warnings,
        }


def split_drift(dataset: Dataset, settings: CoverageSettings, progress: Progress = no_progress) -> Drift:
    """Each existing split other than train, compared with train."""
    rows = dataset.rows
    if not dataset.has_splits:
        return Drift(False, "no splits in the input")
    names = [s for s in rows["split"].drop_nulls().unique().sort().to_list() if s != "train"]
    if "train" not in set(rows["split"].drop_nulls().unique().to_list()) or not names:
        return Drift(False, "the input has no train split and another to compare with it")
    train_rows = rows.filter(pl.col("split") == "train")
    train = prompts_of(train_rows, settings.seed, dataset.texts)
    result = Drift(True, "", train=profile(train, train_rows.height))
    for i, name in enumerate(names):
        split_rows = rows.filter(pl.col("split") == name)
        result.splits.append(
            _compare(name, train, split_rows, result.train, settings, progress, dataset.texts)
        )
        progress(Stage.REPRESENTATIVENESS, (i + 1) / len(names))
    return result


def _compare(
    name: str,
    train: pl.DataFrame,
    split_rows: pl.DataFrame,
    train_profile: Profile,
    settings: CoverageSettings,
    progress: Progress,
    texts: RowTexts | None = None,
) -> SplitDrift:
    other = prompts_of(split_rows, settings.seed + 1, texts)
    drift = SplitDrift(name, profile(other, split_rows.height))
    if other.height < MIN_REFERENCE or train.height < MIN_REFERENCE:
        drift.detail = f"too few prompts to compare ({other.height:,} {name}, {train.height:,} train)"
        return drift
    drift.difference = measure_difference(train, other, settings)
    drift.unseen_by_chance = _unseen_by_chance(train, other.height, settings.seed)
    drift.detail = drift.difference.adversarial[2]
    drift.warnings = _warnings(drift, train_profile)
    return drift


def _unseen_by_chance(train: pl.DataFrame, size: int, seed: int) -> float:
    """Unseen-word share of `size` of train's prompts (at most half) against the rest."""
    take = min(size, train.height // 2)
    if take == 0:
        return 0.0
    picked = sample_positions(train.height, take, seed + 2)
    held = pl.Series(picked, dtype=pl.UInt32)
    index = train.with_row_index("_i")
    sample = index.filter(pl.col("_i").is_in(held.implode())).drop("_i")
    rest = index.filter(~pl.col("_i").is_in(held.implode())).drop("_i")
    return vocabulary(rest, sample)[0]


def _warnings(d: SplitDrift, train: Profile) -> list[str]:
    out = []
    split = f"the {d.split} split"
    if d.auc is not None and d.auc >= MAX_AUC:
        out.append(
            f"a classifier tells {split}'s prompts from train's apart (AUC {d.auc:.2f}): "
            f"{split} does not look like train"
        )
    if d.psi is not None and d.psi > MAX_PSI:
        out.append(f"prompt lengths in {split} differ from train (PSI {d.psi:.2f} > {MAX_PSI})")
    chance = d.unseen_by_chance or 0.0
    if d.unseen_token_share is not None and d.unseen_token_share > chance + MAX_UNSEEN:
        out.append(
            f"{d.unseen_token_share:.0%} of {split}'s words never appear in train's prompts "
            f"({chance:.0%} for as many of train's own)"
        )
    for key, (desc, _) in FEATURES.items():
        t, s = train.shares[key], d.profile.shares[key]
        if abs(t - s) >= MAX_FEATURE_GAP:
            out.append(f"'{desc}': {s:.0%} of {split}'s prompts, {t:.0%} of train's")
    missing = [k for k, v in d.label_mix.items() if v["train"] == 0 and v[d.split] > 0]
    if missing:
        out.append(f"labels in {split} that train never has: " + ", ".join(missing[:5]))
    return out

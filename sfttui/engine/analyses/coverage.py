"""Hard data: refusal, out-of-scope and clarifying examples, hard negatives, ambiguous rows.

A dataset of ordinary examples teaches the average case; a robust fine-tune also needs
examples that pressure its decisions. This module finds them and scores the dataset,
and each split, against a rule of thumb (about 20 hard negatives, about 20 ambiguous
cases, a handful of refusal, out-of-scope and clarifying examples):

- refusal / OOD / clarifying rows, by label name or by the opening of the response
  (patterns.py), vectorised in Polars;
- hard negatives: pairs of prompts that look alike (Jaccard of the near-duplicate
  shingles at least `hard_floor`, found with the same MinHash/LSH machinery run at the
  lower threshold) but carry different labels, and are not duplicates of each other
  (a duplicate cluster with mixed labels is a label conflict, shown with duplicates).
  For chat data two prompts can be near-identical while the conversations are not:
  those are the hardest negatives of all;
- ambiguous rows and label suspects from a cross-validated label model (labelmodel.py).

Matching uses the prompt side of each row (what the model is asked): for chat data the
response would give the label away.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from ..io.load import PROMPT_SIDE, Dataset
from ..io.texts import RowTexts, in_slices, with_texts
from ..runtime.progress import Progress, Stage, no_progress
from ..settings import SPLITS, CoverageSettings, NearSettings, NormalizeSettings
from ..text.minhash import lsh_params
from ..text.normalize import normalize_texts
from .dedup import Duplicates, NearPass, near_pairs
from .labelmodel import LabelModel, fit_label_model, sample_positions
from .patterns import CATEGORIES, CLARIFY_MAX_REPLY, LABEL_SEPARATORS, RESPONSE_HEAD, Patterns, load_patterns

CATEGORY_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.UInt32(),
    "key": pl.String(),
    "category": pl.String(),  # refusal | ood | clarifying
    "via": pl.String(),  # label | named label | label and responses | response
    "evidence": pl.String(),  # the label, or the words of the response that matched
    "label": pl.String(),
    "split": pl.String(),
}
HARD_SCHEMA: dict[str, pl.DataType] = {
    "row_a": pl.UInt32(),
    "row_b": pl.UInt32(),
    "key_a": pl.String(),
    "key_b": pl.String(),
    "label_a": pl.String(),
    "label_b": pl.String(),
    "similarity": pl.Float64(),
    "split_a": pl.String(),
    "split_b": pl.String(),
}
SCORE_KINDS = ("hard_negatives", "ambiguous", "refusal", "ood", "clarifying")
_HARD_MAX_BUCKET = 16  # a lower threshold makes bigger LSH buckets; chain them sooner


@dataclass
class ScoreLine:
    """One line of the scorecard: a kind of hard data, its target and what was found."""

    kind: str
    target: int
    applies: bool
    detail: str  # how it is counted, or why it does not apply
    total: int
    per_split: dict[str, int]

    def status(self, count: int) -> str:
        if not self.applies:
            return "n/a"
        return "ok" if count >= self.target else ("low" if count else "missing")

    def shortfalls(self) -> list[str]:
        """Warnings for the dataset and each split that falls short of the target."""
        if not self.applies:
            return []
        out = []
        if self.total < self.target:
            out.append(f"{counted(self.total, self.kind)} in the dataset (target about {self.target})")
        for split, n in self.per_split.items():
            if n == 0:
                use = "learn from" if split == "train" else "measure"
                out.append(f"the {split} split has no {KIND_NAMES[self.kind]}: it cannot {use} them")
            elif n < self.target:
                out.append(f"the {split} split has {counted(n, self.kind)} (target about {self.target})")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "applies": self.applies,
            "detail": self.detail,
            "total": self.total,
            "status": self.status(self.total),
            "per_split": {s: {"count": n, "status": self.status(n)} for s, n in self.per_split.items()},
        }


def grouped_shortfalls(scorecard: list[dict[str, Any]]) -> list[str]:
    """The scorecard's shortfalls (as ScoreLine.to_dict gives them) for a person to read:
    the kinds a split has none of, one line per split, and the kinds the whole dataset
    has none of, one line; shortfalls that are counts of their own, one line each. The
    same facts as the warnings, without a note per kind and split (12 on one dataset)."""
    applies = [line for line in scorecard if line["applies"]]
    out: list[str] = []
    none = [line for line in applies if line["total"] == 0]
    if none:
        targets = [line["target"] for line in none]
        target = (
            f"target about {targets[0]}"
            if len(set(targets)) == 1
            else f"targets about {', '.join(map(str, targets))}"
        )
        out.append(f"no {_names([line['kind'] for line in none])} in the dataset ({target})")
    for line in applies:
        if 0 < line["total"] < line["target"]:
            out.append(
                f"{counted(line['total'], line['kind'])} in the dataset (target about {line['target']})"
            )
    splits = dict.fromkeys(split for line in applies for split in line["per_split"])
    for split in splits:
        missing = [line["kind"] for line in applies if line["per_split"].get(split, {}).get("count", 1) == 0]
        if missing:
            use = "learn from" if split == "train" else "measure"
            out.append(f"the {split} split has no {_names(missing, 'or')}: it cannot {use} them")
        for line in applies:
            n = line["per_split"].get(split, {}).get("count", 0)
            if 0 < n < line["target"]:
                out.append(
                    f"the {split} split has {counted(n, line['kind'])} (target about {line['target']})"
                )
    return out


def _names(kinds: list[str], joiner: str = "and") -> str:
    """ "refusal, out-of-scope and clarifying-question examples" (one noun at the end)."""
    names = [KIND_NAMES[k] for k in kinds]
    if len(names) == 1:
        return names[0]
    nouns = {n.rsplit(" ", 1)[1] for n in names}
    if len(nouns) == 1:
        heads = [n.rsplit(" ", 1)[0] for n in names]
        return f"{', '.join(heads[:-1])} {joiner} {heads[-1]} {nouns.pop()}"
    return f"{', '.join(names[:-1])} {joiner} {names[-1]}"


def counted(n: int, kind: str) -> str:
    """ "1 refusal example", "3 refusal examples"."""
    name = KIND_NAMES[kind]
    return f"{n:,} {name.replace('rows', 'row').replace('examples', 'example') if n == 1 else name}"


KIND_SHORT = {
    "hard_negatives": "hard negatives",
    "ambiguous": "ambiguous",
    "refusal": "refusal",
    "ood": "OOD",
    "clarifying": "clarifying",
}
KIND_NAMES = {
    "hard_negatives": "hard-negative rows",
    "ambiguous": "ambiguous rows",
    "refusal": "refusal examples",
    "ood": "out-of-scope examples",
    "clarifying": "clarifying-question examples",
}


@dataclass
class Coverage:
    """Everything the hard-data analysis found, by row number and row key."""

    ran: bool
    reason: str
    settings: CoverageSettings
    categories: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CATEGORY_SCHEMA))
    hard_pairs: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=HARD_SCHEMA))
    # Every pair searched with different labels: the hard pairs again at another
    # threshold (at_threshold).
    hard_candidates: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=HARD_SCHEMA), repr=False
    )
    hard_detail: str = ""
    hard_applies: bool = False
    model: LabelModel = field(default_factory=lambda: LabelModel(False, "not run"))
    has_responses: bool = False
    patterns: tuple[str, ...] = ("built-in",)
    # Worked out once, where the analysis runs: the app's lists read them on its UI
    # thread, where a Polars query would wait whenever a re-plan holds Polars' threads.
    ambiguous: pl.DataFrame = field(init=False, repr=False)
    suspects: pl.DataFrame = field(init=False, repr=False)
    hard_by_labels: pl.DataFrame = field(init=False, repr=False)  # pairs per label pair, most first

    def __post_init__(self) -> None:
        self.ambiguous = self.model.ambiguous(self.settings.ambiguous_margin)
        self.suspects = self.model.suspects()
        pairs = self.hard_pairs.select(
            a=pl.min_horizontal("label_a", "label_b"), b=pl.max_horizontal("label_a", "label_b")
        )
        self.hard_by_labels = (
            pairs.group_by("a", "b").len("pairs").sort(["pairs", "a", "b"], descending=[True, False, False])
        )

    def at_threshold(self, threshold: float, duplicates: Duplicates) -> Coverage:
        """The same findings with the hard negatives of the clusters at `threshold`."""
        if not self.hard_applies:
            return self
        return replace(
            self, hard_pairs=hard_negatives_at(self.hard_candidates, example_clusters(duplicates), threshold)
        )

    def hard_rows(self, marked: pl.Series | None = None) -> pl.Series:
        """Row numbers that take part in at least one hard-negative pair, with the rows of
        near conflicts the person marked as hard negatives (`marked`)."""
        parts = [self.hard_pairs["row_a"], self.hard_pairs["row_b"]]
        if marked is not None:
            parts.append(marked.cast(pl.UInt32))
        return pl.concat(parts).unique().sort()

    def scorecard(self, splits: pl.Series | None = None, marked: pl.Series | None = None) -> list[ScoreLine]:
        """Counts per kind against the targets, overall and per split.

        `splits` gives each row's split by row number (the input's own splits, or a
        planned assignment); rows without one count only overall. `marked` are rows the
        person marked as hard negatives (see Session.mark_hard_negative).
        """
        split_names = split_order(splits.unique().to_list()) if splits is not None else []
        rows_of: dict[str, pl.Series] = {
            "hard_negatives": self.hard_rows(marked),
            "ambiguous": self.ambiguous["row"],
            **{c: self.categories.filter(pl.col("category") == c)["row"].unique().sort() for c in CATEGORIES},
        }
        applies = {
            "hard_negatives": (self.hard_applies, self.hard_detail),
            "ambiguous": (
                self.model.ran,
                f"top-two probability gap under {self.settings.ambiguous_margin:g}"
                if self.model.ran
                else self.model.detail,
            ),
            "refusal": self._response_kind("refusal"),
            "ood": self._ood_applies(),
            "clarifying": self._response_kind("clarifying"),
        }
        targets = dict(self.settings.targets)
        lines = []
        for kind in SCORE_KINDS:
            found = rows_of[kind]
            per_split: dict[str, int] = {}
            if splits is not None and found.len():
                at = splits.gather(found).value_counts()
                per_split = dict(zip(at[at.columns[0]].to_list(), at["count"].to_list()))
            ok, reason = applies[kind]
            lines.append(
                ScoreLine(
                    kind,
                    targets.get(kind, 0),
                    ok and self.ran,
                    reason if self.ran else self.reason,
                    found.len(),
                    {s: per_split.get(s, 0) for s in split_names},
                )
            )
        return lines

    def _counted_here(self, category: str) -> bool:
        """Whether the data can hold this kind: it has responses, or a label names the kind."""
        by_label = (pl.col("category") == category) & (pl.col("via") != "response")
        return self.has_responses or bool(self.categories.filter(by_label).height)

    def _how(self, category: str) -> str:
        """How the rows of a kind were counted: by which label names, by responses."""
        mine = self.categories.filter(pl.col("category") == category)
        parts = []
        for via, frame in mine.group_by("via", maintain_order=True):
            labels = sorted(frame["label"].drop_nulls().unique().to_list()) if via[0] != "response" else []
            named = f" ({', '.join(repr(x) for x in labels[:3])})" if labels else ""
            parts.append(f"{frame['row'].n_unique():,} by {via[0]}{named}")
        return "; ".join(parts) or "none found"

    def _response_kind(self, category: str) -> tuple[bool, str]:
        if self._counted_here(category):
            return True, f"by label name or the opening of the response: {self._how(category)}"
        return False, "no responses in this data (classification text), and no label names one"

    def _ood_applies(self) -> tuple[bool, str]:
        if self._counted_here("ood"):
            return True, (
                f"by label name or an out-of-scope response: {self._how('ood')} (a name such as "
                "'other' counts only when most of its rows answer out of scope, or with --ood-label)"
            )
        # A sentiment set has no "out of scope"; an intent classifier facing real traffic does.
        return False, (
            "classification data without an out-of-scope label; if inputs outside the label set "
            "reach this model, add such a class (and name it with --ood-label)"
        )

    def card(
        self, splits: pl.Series | None = None, marked: pl.Series | None = None
    ) -> tuple[list[ScoreLine], list[str]]:
        """The scorecard and its shortfall warnings, from one computation."""
        lines = self.scorecard(splits, marked)
        return lines, [w for line in lines for w in line.shortfalls()]

    def card_dict(self, splits: pl.Series | None = None, marked: pl.Series | None = None) -> dict[str, Any]:
        """`scorecard` and `warnings` as the report and the manifest hold them."""
        lines, warnings = self.card(splits, marked)
        return {"scorecard": [line.to_dict() for line in lines], "warnings": warnings}

    def warnings(self, splits: pl.Series | None = None) -> list[str]:
        return self.card(splits)[1]

    def to_dict(self, splits: pl.Series | None = None) -> dict[str, Any]:
        listed = self.settings.listed
        hard = self.hard_pairs.drop("row_a", "row_b")
        ambiguous = self.ambiguous.drop("row", "suggested", "p_suggested")
        suspects = self.suspects.select("key", "label", "suggested", "p_label", "p_suggested")
        return {
            "ran": self.ran,
            "detail": self.reason,
            "patterns": list(self.patterns),
            **self.card_dict(splits),
            "categories": {
                c: self.categories.filter(pl.col("category") == c)
                .select("key", "via", "evidence", "label", "split")
                .head(listed)
                .to_dicts()
                for c in CATEGORIES
            },
            "category_counts": {
                c: int(self.categories.filter(pl.col("category") == c)["row"].n_unique()) for c in CATEGORIES
            },
            "hard_negatives": {
                "applies": self.hard_applies,
                "detail": self.hard_detail,
                "pairs": self.hard_pairs.height,
                "rows": self.hard_rows().len(),
                "by_labels": self.hard_by_labels.rename({"a": "label_a", "b": "label_b"}).to_dicts(),
                "listed": _rounded(hard.head(listed)).to_dicts(),
            },
            "model": self.model.to_dict(),
            "ambiguous": {
                "margin": self.settings.ambiguous_margin,
                "count": self.ambiguous.height,
                "listed": _rounded(ambiguous.head(listed)).to_dicts(),
            },
            "label_suspects": {
                "count": suspects.height,
                "listed": _rounded(suspects.head(listed)).to_dicts(),
            },
        }


def split_order(names: list[str | None]) -> list[str]:
    """Split names train, validation, test first, then any others alphabetically."""
    known = SPLITS
    present = [n for n in names if n is not None]
    return [n for n in known if n in present] + sorted(n for n in present if n not in known)


def _rounded(frame: pl.DataFrame) -> pl.DataFrame:
    """Probabilities to 6 places, so the report's bytes do not depend on float noise."""
    return frame.with_columns(pl.col(pl.Float64).round(6))


_VIA_SCHEMA = {"label_name": pl.String(), "via": pl.String()}


def _confirmed(frame: pl.DataFrame, weak: frozenset[str], answers: pl.Expr) -> dict[str, str]:
    """The weak label names (e.g. "other") whose rows mostly answer like the category:
    only those count by their name; the rest of their rows count only by response."""
    if not weak:
        return {}
    share = (
        frame.filter(pl.col("label_name").is_in(list(weak)) & (pl.col("reply") > 0))
        .group_by("label_name")
        .agg(answers.mean().alias("share"))
    )
    return {n: "label and responses" for n, s in share.iter_rows() if s > 0.5}


def find_categories(rows: pl.DataFrame, patterns: Patterns, texts: RowTexts | None = None) -> pl.DataFrame:
    """Rows that are refusal, out-of-scope or clarifying examples, by label or by response
    (`texts`: the rows' texts where `rows` holds none)."""
    label_name = pl.col("label").str.strip_chars().str.to_lowercase().str.replace_all(LABEL_SEPARATORS, "_")
    response = (
        pl.when(pl.col("reply") > 0)
        .then(
            pl.col("text")
            .str.slice(pl.col("text").str.len_chars() - pl.col("reply"), RESPONSE_HEAD)
            .str.replace_all("[\u2018\u2019\u02bc\u00b4\uff07]", "'")
        )
        .otherwise(None)
    )
    columns = ("row", "key", "label", "split", "reply")
    frame = in_slices(
        rows, texts, lambda part: part.select(*columns, label_name=label_name, response=response)
    )
    found: list[pl.DataFrame] = []
    for category in CATEGORIES:
        regex = patterns.combined(category) if patterns.regex.get(category) else None
        short = pl.col("reply") <= CLARIFY_MAX_REPLY if category == "clarifying" else pl.lit(True)
        answers = pl.col("response").str.contains(regex) & short if regex else pl.lit(False)
        names = {n: "label" for n in patterns.labels.get(category, ())}
        names |= {n: "named label" for n in patterns.named.get(category, ())}
        names |= _confirmed(frame, patterns.weak.get(category, frozenset()), answers)
        by_name = pl.DataFrame({"label_name": list(names), "via": list(names.values())}, schema=_VIA_SCHEMA)
        found.append(
            frame.join(by_name, on="label_name").select(
                "row",
                "key",
                category=pl.lit(category),
                via="via",
                evidence="label",
                label="label",
                split="split",
            )
        )
        if regex:
            found.append(
                frame.filter(answers)
                .select(
                    "row",
                    "key",
                    category=pl.lit(category),
                    via=pl.lit("response"),
                    evidence=pl.col("response").str.extract(regex, 1),
                    label="label",
                    split="split",
                )
                .join(found[-1].select("row"), on="row", how="anti")  # by label already
            )
    return pl.concat(found).cast(CATEGORY_SCHEMA).sort(["category", "row"])


def find_hard_negatives(
    rows: pl.DataFrame,
    clusters: pl.DataFrame,
    normalize: NormalizeSettings,
    near: NearSettings,
    settings: CoverageSettings,
    progress: Progress = no_progress,
) -> tuple[pl.DataFrame, str]:
    """Pairs of labelled prompts at least `hard_floor` alike with different labels, in no
    duplicate cluster together (`clusters`: row, cluster of every clustered row), below
    the near threshold; and how they were searched."""
    candidates, detail = find_hard_candidates(rows, normalize, near, settings, progress)
    return hard_negatives_at(candidates, clusters, near.threshold), detail


def hard_negatives_at(candidates: pl.DataFrame, clusters: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """The hard negatives among `candidates` (see find_hard_candidates) at a near threshold,
    with the duplicate clusters made at it (`clusters`: row, cluster)."""
    return (
        # At or above the duplicate threshold a pair is a near duplicate with two labels (a
        # label conflict), not a hard negative, whichever clusters its rows ended up in.
        candidates.filter(pl.col("similarity") < threshold - 1e-12)
        .join(clusters.select(row_a="row", ca="cluster"), on="row_a", how="left")
        .join(clusters.select(row_b="row", cb="cluster"), on="row_b", how="left")
        .filter(pl.col("ca").is_null() | pl.col("cb").is_null() | (pl.col("ca") != pl.col("cb")))
        .drop("ca", "cb")
        .sort(["similarity", "row_a", "row_b"], descending=[True, False, False])
    )


def find_hard_candidates(
    rows: pl.DataFrame,
    normalize: NormalizeSettings,
    near: NearSettings,
    settings: CoverageSettings,
    progress: Progress = no_progress,
    texts: RowTexts | None = None,
) -> tuple[pl.DataFrame, str]:
    """Pairs of labelled prompts at least `hard_floor` alike with different labels, at
    any similarity (hard_negatives_at keeps those below a threshold); and how they were
    searched.

    Distinct normalised prompts are compared (each stands for its first row); beyond
    `hard_rows` labelled rows a seeded sample of them is searched, sampled before any
    text is normalised so memory stays bounded. LSH is tuned for `hard_recall` at the
    floor, so pairs higher up are found almost surely.
    """
    labelled = rows.filter(pl.col("label").is_not_null())
    total = labelled.height
    if total > settings.hard_rows:
        labelled = labelled[sample_positions(total, settings.hard_rows, settings.seed)]
    labelled = with_texts(labelled, texts).select("row", "key", "label", "split", input=PROMPT_SIDE)
    frame = labelled.with_columns(norm=normalize_texts(labelled["input"], normalize))
    # A text whose copies carry different labels is a label conflict (the Duplicates
    # tab's business); letting one copy's label stand for it would invent hard negatives.
    mixed = frame.group_by("norm").agg(pl.col("label").n_unique() > 1).filter(pl.col("label"))
    frame = frame.join(mixed.select("norm"), on="norm", how="anti", maintain_order="left")
    distinct = frame.unique("norm", keep="first", maintain_order=True)
    bands, per_band = lsh_params(settings.hard_floor, near.num_perm, target=settings.hard_recall)
    hard = replace(
        near,
        threshold=settings.hard_floor,
        bands=bands,
        rows_per_band=per_band,
        max_bucket=_HARD_MAX_BUCKET,
        max_candidates=settings.hard_candidates,
    )
    pairs, passes = near_pairs(
        distinct["norm"], hard, lambda _stage, f: progress(Stage.COVERAGE, 0.05 + 0.15 * f)
    )
    a, b = distinct[pairs["a"]], distinct[pairs["b"]]
    found = pl.DataFrame(
        {
            "row_a": a["row"],
            "row_b": b["row"],
            "key_a": a["key"],
            "key_b": b["key"],
            "label_a": a["label"],
            "label_b": b["label"],
            "similarity": pairs["jaccard"],
            "split_a": a["split"],
            "split_b": b["split"],
        },
        schema=HARD_SCHEMA,
    ).filter(pl.col("label_a") != pl.col("label_b"))
    sample = (
        f" in a seeded sample of {settings.hard_rows:,} of {total:,} labelled rows"
        if total > settings.hard_rows
        else ""
    )
    detail = (
        f"labelled prompts with Jaccard ≥ {settings.hard_floor:g}, different labels and not "
        f"duplicates of each other, among {distinct.height:,} distinct prompts without a label "
        f"conflict{sample} ("
        + "; ".join(f"{p.shingling}, {p.bands}x{p.rows_per_band} bands{_sampled(p)}" for p in passes)
        + ")"
    )
    return found, detail


def _sampled(p: NearPass) -> str:
    if not p.sampled:
        return ""
    # `candidates` counts every pair found, `estimated` those of the seeded sample whose
    # MinHash estimate came close enough to be verified ("155,730 kept" read as the sample).
    return (
        f", {p.candidates:,} candidate pairs (low-variety texts: too many to check all), a seeded "
        f"sample of them estimated and {p.estimated:,} verified"
    )


def find_coverage(
    dataset: Dataset,
    duplicates: Duplicates,
    normalize: NormalizeSettings,
    near: NearSettings,
    settings: CoverageSettings,
    progress: Progress = no_progress,
) -> Coverage:
    """Every hard-data measure that applies to the dataset."""
    if not settings.enabled:
        return Coverage(False, "switched off (--no-coverage)", settings)
    patterns = load_patterns(settings.patterns_path, settings.refusal_labels, settings.ood_labels)
    rows = dataset.rows
    if rows.height == 0:
        return Coverage(False, "no rows", settings, patterns=patterns.sources)
    progress(Stage.COVERAGE, 0.0)
    texts = dataset.texts  # where the rows hold none: read a slice or a sample at a time
    categories = find_categories(rows, patterns, texts)
    has_responses = bool((rows["reply"] > 0).any())
    inputs = rows.select(
        c for c in ("row", "key", "label", "split", "prompt", "text", "reply") if c in rows.columns
    )
    labels = rows["label"].drop_nulls().n_unique()
    if labels >= 2 and near.num_perm >= 16:
        candidates, hard_detail = find_hard_candidates(inputs, normalize, near, settings, progress, texts)
        hard = hard_negatives_at(candidates, example_clusters(duplicates), near.threshold)
        hard_applies = True
    else:
        hard = candidates = pl.DataFrame(schema=HARD_SCHEMA)
        hard_detail = "needs at least two labels" if labels < 2 else "needs MinHash"
        hard_applies = False
    model = (
        fit_label_model(inputs, settings, progress, texts)
        if labels >= 2
        else LabelModel(False, "needs at least two labels", labelled_rows=rows["label"].drop_nulls().len())
    )
    progress(Stage.COVERAGE, 1.0)
    return Coverage(
        True,
        "refusal, out-of-scope and clarifying examples; hard negatives; ambiguous rows and label suspects",
        settings,
        categories=categories,
        hard_pairs=hard,
        hard_candidates=candidates,
        hard_detail=hard_detail,
        hard_applies=hard_applies,
        model=model,
        has_responses=has_responses,
        patterns=patterns.sources,
    )


def example_clusters(duplicates: Duplicates) -> pl.DataFrame:
    """Row and cluster of every row in a duplicate cluster of whole examples."""
    return duplicates.membership.filter(pl.col("side") == "example").select("row", "cluster")


def split_series(dataset: Dataset) -> pl.Series | None:
    """Each row's split as given in the input, or None when it has none."""
    return dataset.rows["split"] if dataset.has_splits else None

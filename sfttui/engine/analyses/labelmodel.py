"""Out-of-fold label probabilities from a fast text classifier: ambiguous rows and label suspects.

A TF-IDF + multinomial logistic regression model is cross-validated over the labelled
rows (a seeded sample when there are many), so every scored row gets class
probabilities from a model that never saw it. From those:

- ambiguous rows: the gap between the two most likely classes is small, so the text
  alone hardly decides the label (the cases a labelling rule must settle);
- label suspects, in the spirit of confident learning (Northcutt et al., 2021): each
  class gets a threshold, the mean probability the model gives it on rows carrying it;
  a row whose most probable class among those reaching their threshold is not its own
  label is a suspect, ranked by how little probability its own label gets.

Nothing is relabelled: the lists are for the person to read. The model is capped in
work (a seeded sample of rows, fewer when there are many classes), so the same input
gives the same report on any machine; as a safety net it is also capped in seconds
(folds stop once the next would pass the budget, and the report says so). The TF-IDF
vocabulary comes from every sampled row (labels play no part in it); the classifier is
fitted per fold. A model no better than always guessing the majority class lists nothing.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from ..io.load import PROMPT_CHARS, PROMPT_SIDE
from ..io.texts import RowTexts, in_slices, with_texts
from ..runtime.progress import Progress, Stage, no_progress
from ..settings import CoverageSettings
from ..text.minhash import THREADS, threaded_map
from ..text.tfidf import word_tfidf

SCORE_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.UInt32(),
    "key": pl.String(),
    "label": pl.String(),
    "predicted": pl.String(),  # most probable class
    "runner_up": pl.String(),  # second most probable class
    "p_label": pl.Float64(),  # probability of the given label
    "p_predicted": pl.Float64(),
    "margin": pl.Float64(),  # top-two probability gap
    "suggested": pl.String(),  # confident-learning suggestion; null when the label looks right
    "p_suggested": pl.Float64(),
}


@dataclass
class LabelModel:
    """What the cross-validated model found; `scores` has one row per scored row."""

    ran: bool
    detail: str
    scores: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SCORE_SCHEMA))
    labelled_rows: int = 0
    folds_done: int = 0
    folds: int = 0
    accuracy: float | None = None
    majority_baseline: float | None = None
    thresholds: dict[str, float] = field(default_factory=dict)

    def ambiguous(self, margin: float) -> pl.DataFrame:
        """Scored rows whose top-two probability gap is under `margin`, closest calls first."""
        return self.scores.filter(pl.col("margin") < margin).sort(["margin", "row"])

    def suspects(self) -> pl.DataFrame:
        """Rows whose label the model doubts, least supported label first."""
        return self.scores.filter(pl.col("suggested").is_not_null()).sort(["p_label", "row"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "ran": self.ran,
            "detail": self.detail,
            "labelled_rows": self.labelled_rows,
            "scored_rows": self.scores.height,
            "folds": self.folds,
            "folds_done": self.folds_done,
            "accuracy": None if self.accuracy is None else round(self.accuracy, 6),
            "majority_baseline": None if self.majority_baseline is None else round(self.majority_baseline, 6),
            "thresholds": {k: round(v, 6) for k, v in self.thresholds.items()},
        }


def vectorizer(rows: int) -> Any:
    """TF-IDF over words; one-character words count (numbers, CJK, "a"), and tiny inputs
    keep words seen once. Bigrams were measured too: 4x slower to build (the vocabulary is
    a Python dict), for accuracy within a few points either way on four real datasets."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        sublinear_tf=True,
        token_pattern=r"(?u)\b\w+\b",
        min_df=2 if rows >= 1000 else 1,
        max_features=1 << 18,
        dtype=np.float32,
    )


def classifier(seed: int) -> Any:
    """Multinomial logistic regression; saga is ~20x faster than lbfgs on sparse TF-IDF
    with many classes, and a loose tolerance is enough to rank rows."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(solver="saga", max_iter=100, tol=1e-3, random_state=seed)


def sample_positions(n: int, cap: int, seed: int) -> np.ndarray:
    """Positions of a seeded sample of `cap` out of `n` (all of them when n <= cap), sorted."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=cap, replace=False))


def fit_label_model(
    rows: pl.DataFrame,
    settings: CoverageSettings,
    progress: Progress = no_progress,
    row_texts: RowTexts | None = None,
) -> LabelModel:
    """Cross-validated class probabilities for labelled rows (columns row, key, label,
    prompt, text and reply, of which the prompt side is used; `row_texts` are the rows'
    texts where they hold none)."""
    labelled = rows.filter(pl.col("label").is_not_null())
    if not settings.model:
        return LabelModel(False, "switched off (--no-model)", labelled_rows=labelled.height)
    counts = labelled["label"].value_counts()
    usable = _usable(counts, settings)
    left_out = _left_out(counts.filter(pl.col("count") < settings.min_class_rows), settings.min_class_rows)
    if usable.len() < 2:
        return LabelModel(
            False,
            f"needs at least two labels with {settings.min_class_rows} or more rows each{left_out}",
            labelled_rows=labelled.height,
        )
    modelled = labelled.filter(pl.col("label").is_in(usable.implode()))
    mean_chars = float(
        in_slices(modelled, row_texts, lambda part: part.select(PROMPT_CHARS)).to_series().rechunk().mean()
        or 1.0
    )
    cap = min(
        settings.model_rows,
        max(settings.model_work // usable.len(), 100),
        max(int(settings.model_chars / max(mean_chars, 1.0)), 100),
    )
    picked = modelled[sample_positions(modelled.height, cap, settings.seed)]
    classes = sorted(picked["label"].unique().to_list())
    y = picked["label"].replace_strict(classes, list(range(len(classes))), return_dtype=pl.Int64).to_numpy()
    n_splits = int(max(2, min(settings.folds, np.bincount(y).max())))
    texts = with_texts(picked, row_texts).select(PROMPT_SIDE).to_series().to_list()

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold

    try:
        features = word_tfidf(texts, vectorizer(len(texts)))
    except ValueError:  # not one word in any text (symbols or emoji only)
        return LabelModel(False, "no words to learn from in the texts", labelled_rows=labelled.height)
    start = time.perf_counter()
    probs = np.full((len(texts), len(classes)), np.nan, dtype=np.float64)
    done = 0
    cuts = list(
        StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=settings.seed).split(features, y)
    )

    def fold(cut: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        train, test = cut
        model = classifier(settings.seed).fit(features[train], y[train])
        return test, model.classes_, model.predict_proba(features[test])

    # The first fold alone says what one costs; then folds run side by side (saga
    # releases the GIL), a round of THREADS at a time, while the time cap allows another
    # round. Each fold is seeded as before: the probabilities do not depend on the order.
    rounds = [cuts[:1]] + [cuts[i : i + THREADS] for i in range(1, n_splits, THREADS)]
    with warnings.catch_warnings():
        # Rare classes with fewer rows than folds, and the capped iterations, are expected.
        # The filter is process-wide, so it is set here, around every thread's fit.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        for taken, batch in enumerate(rounds, start=1):
            for test, seen, p in threaded_map(fold, batch):
                # A class absent from a training fold gets probability 0 for that fold.
                probs[np.ix_(test, seen)] = p
                probs[np.ix_(test, np.setdiff1d(np.arange(len(classes)), seen))] = 0.0
                done += 1
            progress(Stage.COVERAGE, 0.2 + 0.5 * done / n_splits)
            elapsed = time.perf_counter() - start
            if done < n_splits and elapsed + elapsed / taken > settings.model_seconds:
                break
    scored = ~np.isnan(probs[:, 0])
    probs, y, picked = probs[scored], y[scored], picked.filter(pl.Series(scored))
    scores, thresholds = _score(picked, probs, y, classes)
    accuracy = float((probs.argmax(axis=1) == y).mean())
    baseline = float(np.bincount(y).max() / y.size)
    sampled = f"a seeded sample of {cap:,} of " if modelled.height > cap else ""
    detail = (
        f"TF-IDF + logistic regression, {n_splits}-fold out-of-fold probabilities on "
        f"{sampled}{modelled.height:,} labelled rows: {scores.height:,} scored"
        + (
            f", stopped after {done} of {n_splits} folds (time cap {settings.model_seconds:g} s)"
            if done < n_splits
            else ""
        )
        + f"; accuracy {accuracy:.1%} vs majority baseline {baseline:.1%}{left_out}"
    )
    useful = accuracy > baseline
    return LabelModel(
        useful,
        # Probabilities from a model that learnt nothing would make every row look doubtful.
        detail if useful else detail + ": no better than the baseline, so no rows are listed",
        scores=scores if useful else pl.DataFrame(schema=SCORE_SCHEMA),
        labelled_rows=labelled.height,
        folds_done=done,
        folds=n_splits,
        accuracy=accuracy,
        majority_baseline=baseline,
        thresholds=thresholds if useful else {},
    )


def _usable(counts: pl.DataFrame, settings: CoverageSettings) -> pl.Series:
    return counts.filter(pl.col("count") >= settings.min_class_rows)["label"]


def model_would_run(labels: pl.Series, settings: CoverageSettings) -> bool:
    """Whether the model, switched on, would score rows with these labels: two labels or
    more with `min_class_rows` rows each."""
    return _usable(labels.drop_nulls().value_counts(), settings).len() >= 2


def _left_out(rare: pl.DataFrame, minimum: int) -> str:
    """Names the labels too rare to model (the Balance tab warns about them too)."""
    if not rare.height:
        return ""
    rare = rare.sort(["count", "label"])
    named = ", ".join(f"{label} ({n})" for label, n in rare.head(5).rows())
    more = f" and {rare.height - 5} more" if rare.height > 5 else ""
    return f"; labels under {minimum} rows left out: {named}{more}"


def _score(
    picked: pl.DataFrame, probs: np.ndarray, y: np.ndarray, classes: list[str]
) -> tuple[pl.DataFrame, dict[str, float]]:
    """Per-row margins and confident-learning suggestions from out-of-fold probabilities."""
    n, k = probs.shape
    if n == 0:
        return pl.DataFrame(schema=SCORE_SCHEMA), {}
    idx = np.arange(n)
    order = np.argsort(-probs, axis=1, kind="stable")
    top, second = order[:, 0], order[:, 1]
    # Per-class threshold: the mean probability of a class on the rows labelled with it.
    sums = np.bincount(y, weights=probs[idx, y], minlength=k)
    seen = np.bincount(y, minlength=k)
    thresholds = np.where(seen > 0, sums / np.maximum(seen, 1), 1.0)
    above = probs >= thresholds[None, :]
    best = np.where(above, probs, -1.0).argmax(axis=1)
    # A rare class's threshold is low enough for almost any row to reach it: a class is
    # suggested only when the model also finds it more likely than the row's own label.
    suspect = above.any(axis=1) & (best != y) & (probs[idx, best] > probs[idx, y])
    names = np.array(classes, dtype=object)
    scores = pl.DataFrame(
        {
            "row": picked["row"],
            "key": picked["key"],
            "label": picked["label"],
            "predicted": names[top].tolist(),
            "runner_up": names[second].tolist(),
            "p_label": probs[idx, y],
            "p_predicted": probs[idx, top],
            "margin": probs[idx, top] - probs[idx, second],
            "suggested": np.where(suspect, names[best], None).tolist(),
            "p_suggested": np.where(suspect, probs[idx, best], np.nan),
        },
        schema=SCORE_SCHEMA,
    ).with_columns(pl.col("p_suggested").fill_nan(None))
    return scores, {c: float(t) for c, t in zip(classes, thresholds) if seen[classes.index(c)]}

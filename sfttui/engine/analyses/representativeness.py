"""Does the training data look like what production sends?

Compares the training prompts with samples of real production inputs (`--reference`,
labelled or not): length distribution (PSI and the two-sample KS statistic), a
character profile (casing, punctuation, digits, URLs, emoji, non-ASCII), the multi-turn
share, vocabulary coverage (the share of reference words never seen in training) and
adversarial validation: a classifier cross-validated to tell training rows from
reference rows. An AUC near 0.5 means it cannot, so the two look alike; near 1 means
the training data is recognisably different, and the reference rows it is surest about
are listed, so the person sees what is missing.

Without a reference, the same profile of the training data alone shows a dataset that
is too tidy (every prompt cased and punctuated, one length, one turn).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from ..findings import many
from ..io.load import PROMPT_SIDE, Dataset, InputFile, load
from ..io.texts import RowTexts, with_texts
from ..runtime.progress import Progress, Stage, no_progress
from ..settings import CoverageSettings, LoadSettings
from ..text.minhash import threaded_results
from ..text.tfidf import char_wb_tfidf, word_tfidf
from .labelmodel import sample_positions

# Character features: name -> (description, Polars expression over the prompt "p").
_P = pl.col("p")
FEATURES: dict[str, tuple[str, pl.Expr]] = {
    "capitalised": ("starts with a capital letter", _P.str.contains(r"^\s*\p{Lu}")),
    "final_punctuation": ("ends with . ! ? or a quote", _P.str.contains(r"[.!?…\"')\]]\s*$")),
    "all_lowercase": ("no capital letter at all", ~_P.str.contains(r"\p{Lu}")),
    "question_mark": ("contains a question mark", _P.str.contains("?", literal=True)),
    "digits": ("contains digits", _P.str.contains(r"\d")),
    "url": ("contains a URL", _P.str.contains(r"(?i)https?://|www\.")),
    "emoji": ("contains emoji", _P.str.contains(r"[\x{1F000}-\x{1FAFF}\x{2600}-\x{27BF}]")),
    "non_ascii": ("contains non-ASCII characters", _P.str.len_bytes() != _P.str.len_chars()),
}
_LENGTH_BINS = 10
PROFILE_ROWS = 200_000
MIN_REFERENCE = 20  # prompts per side below which nothing is compared
_LISTED = 50  # reference rows least like training, in the report and the app
TIDY_MIN_ROWS = 50  # prompts the profile's rules need (tidy_warnings) without a reference
_TOP_UNSEEN = 20
# Passes over the data per fold. Sides a classifier can tell apart converge in a few
# (the demo's in 14-16); sides it cannot (the ideal) never meet the tolerance: 100
# passes over 21,000 low-variety prompts took 10-20 s, for an AUC that 30 passes give
# to within 0.002.
_ADVERSARIAL_PASSES = 30


@dataclass
class Profile:
    """Shape of one side's prompts: feature shares, lengths in words, multi-turn share."""

    rows: int
    shares: dict[str, float]
    words: dict[str, float]  # p10, median, p90, mean
    multi_turn: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "features": {k: round(v, 6) for k, v in self.shares.items()},
            "words": {k: round(v, 3) for k, v in self.words.items()},
            "multi_turn": round(self.multi_turn, 6),
        }


@dataclass
class Representativeness:
    """The profile of the training prompts, and their comparison with the reference when given."""

    train: Profile
    reference: Profile | None = None
    reference_bad_lines: int = 0
    reference_set_aside: list[dict[str, Any]] = field(default_factory=list)  # file, line, reason, excluded
    reference_files: list[InputFile] = field(default_factory=list)  # as read (what was not, too)
    length_edges: list[float] = field(default_factory=list)  # word-count bin edges (training deciles)
    length_shares: dict[str, list[float]] = field(default_factory=dict)  # side -> share per bin
    psi: float | None = None
    ks: float | None = None
    ks_pvalue: float | None = None
    unseen_token_share: float | None = None
    unseen_type_share: float | None = None
    top_unseen: list[tuple[str, int]] = field(default_factory=list)
    auc: float | None = None
    adversarial_rows: int = 0
    adversarial_detail: str = ""
    least_like: pl.DataFrame | None = None  # key, p_reference, text
    label_mix: dict[str, dict[str, float]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        r = lambda v: None if v is None else round(v, 6)  # noqa: E731
        return {
            "reference_given": self.reference is not None,
            "reference_inputs": [i.to_dict() for i in self.reference_files],
            "reference_bad_lines": self.reference_bad_lines,
            "reference_set_aside": self.reference_set_aside,
            "feature_names": {k: d for k, (d, _) in FEATURES.items()},
            "train": self.train.to_dict(),
            "reference": self.reference.to_dict() if self.reference else None,
            "length": {
                "edges": self.length_edges,
                "shares": {k: [round(x, 6) for x in v] for k, v in self.length_shares.items()},
                "psi": r(self.psi),
                "ks": r(self.ks),
                "ks_pvalue": r(self.ks_pvalue),
            },
            "vocabulary": {
                "unseen_token_share": r(self.unseen_token_share),
                "unseen_type_share": r(self.unseen_type_share),
                "top_unseen": [{"word": w, "count": n} for w, n in self.top_unseen],
            },
            "adversarial": {
                "auc": r(self.auc),
                "rows": self.adversarial_rows,
                "detail": self.adversarial_detail,
                "least_like_training": []
                if self.least_like is None
                else self.least_like.with_columns(pl.col("p_reference").round(6)).to_dicts(),
            },
            "label_mix": {
                k: {side: round(v, 6) for side, v in sides.items()} for k, sides in self.label_mix.items()
            },
            "warnings": self.warnings,
        }


def prompts_of(rows: pl.DataFrame, seed: int = 0, texts: RowTexts | None = None) -> pl.DataFrame:
    """key, prompt text `p`, prompt turns and label of the rows, or of a seeded sample of
    PROFILE_ROWS of them: a share estimated from 200,000 rows is within 0.2 points (95%),
    and nothing here needs more, so large inputs cost no full-size copy. `texts`: the
    rows' texts, where they hold none."""
    sample = rows[sample_positions(rows.height, PROFILE_ROWS, seed)] if rows.height > PROFILE_ROWS else rows
    return with_texts(sample, texts).select("key", "label", "turns", p=PROMPT_SIDE)


def profile(prompts: pl.DataFrame, rows: int | None = None) -> Profile:
    """Feature shares and word-count quantiles of `prompts` (a sample of `rows` rows)."""
    rows = prompts.height if rows is None else rows
    if prompts.height == 0:
        return Profile(0, {k: 0.0 for k in FEATURES}, {"p10": 0, "median": 0, "p90": 0, "mean": 0}, 0.0)
    shares = prompts.select(**{k: expr.mean() for k, (_, expr) in FEATURES.items()}).row(0, named=True)
    words = word_counts(prompts)
    return Profile(
        rows,
        {k: float(v or 0.0) for k, v in shares.items()},
        {
            "p10": float(np.quantile(words, 0.1)),
            "median": float(np.median(words)),
            "p90": float(np.quantile(words, 0.9)),
            "mean": float(words.mean()),
        },
        float((prompts["turns"] > 1).mean() or 0.0),
    )


def word_counts(prompts: pl.DataFrame) -> np.ndarray:
    return prompts["p"].str.count_matches(r"\S+").to_numpy().astype(np.float64)


def length_shift(
    train: np.ndarray, reference: np.ndarray
) -> tuple[list[float], list[float], list[float], float]:
    """Bins from the training deciles; each side's share per bin; the population stability index."""
    edges = np.unique(np.quantile(train, np.linspace(0, 1, _LENGTH_BINS + 1)[1:-1]))

    def shares(values: np.ndarray) -> np.ndarray:
        return np.bincount(np.searchsorted(edges, values, side="right"), minlength=edges.size + 1) / max(
            values.size, 1
        )

    expected, actual = shares(train), shares(reference)
    e, a = np.maximum(expected, 1e-4), np.maximum(actual, 1e-4)
    psi = float(((a - e) * np.log(a / e)).sum())
    return edges.tolist(), expected.tolist(), actual.tolist(), psi


def vocabulary(train: pl.DataFrame, reference: pl.DataFrame) -> tuple[float, float, list[tuple[str, int]]]:
    """Share of reference word occurrences, and of distinct words, never seen in training."""

    def words(frame: pl.DataFrame) -> pl.Series:
        return frame["p"].str.to_lowercase().str.extract_all(r"\w+").explode().drop_nulls()

    seen = words(train).unique()
    ref = words(reference)
    if ref.len() == 0:
        return 0.0, 0.0, []
    counts = ref.value_counts(name="n")
    unseen = counts.filter(~pl.col(ref.name).is_in(seen.implode()))
    token_share = float(unseen["n"].sum() / ref.len())
    type_share = float(unseen.height / counts.height)
    top = unseen.sort(["n", ref.name], descending=[True, False]).head(_TOP_UNSEEN)
    return token_share, type_share, list(zip(top[ref.name].to_list(), top["n"].to_list()))


def adversarial(
    train: pl.DataFrame, reference: pl.DataFrame, settings: CoverageSettings, progress: Progress
) -> tuple[float | None, int, str, pl.DataFrame | None]:
    """Cross-validated AUC of a classifier telling training prompts from reference prompts."""
    from scipy.sparse import hstack
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from .labelmodel import classifier, vectorizer

    cap = settings.reference_rows
    a = train[sample_positions(train.height, cap, settings.seed)]
    b = reference[sample_positions(reference.height, cap, settings.seed + 1)]
    if a.height < 5 or b.height < 5:
        return None, 0, "needs at least 5 prompts on each side", None
    texts = a["p"].to_list() + b["p"].to_list()
    y = np.r_[np.zeros(a.height, dtype=np.int64), np.ones(b.height, dtype=np.int64)]
    # Words say what is asked about; case-sensitive characters say how it is typed
    # (casing, punctuation, emoji), which is where tidy training data differs most.
    chars = char_wb_tfidf(texts, max_features=1 << 16)
    try:
        features = hstack([word_tfidf(texts, vectorizer(len(texts))), chars]).tocsr()
    except ValueError:  # no words at all (emoji, symbols): how it is typed is all there is
        features = chars
    probs = np.zeros(len(texts))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=settings.seed)

    def fold(cut: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, bool]:
        fit, test = cut
        model = classifier(settings.seed).set_params(max_iter=_ADVERSARIAL_PASSES)
        model.fit(features[fit], y[fit])
        return test, model.predict_proba(features[test])[:, 1], model.n_iter_.max() >= _ADVERSARIAL_PASSES

    capped = 0
    # The solver (saga) releases the GIL: folds side by side, each seeded as before, give
    # the same probabilities in about half the time on two cores. The filter is
    # process-wide, so it is set here, around every thread's fit.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, (test, p, hit) in enumerate(threaded_results(fold, folds.split(features, y))):
            probs[test] = p
            capped += int(hit)
            progress(Stage.REPRESENTATIVENESS, 0.3 + 0.6 * (i + 1) / 5)
    auc = float(roc_auc_score(y, probs))
    ref_p = probs[a.height :]
    order = np.lexsort((np.arange(ref_p.size), -ref_p))[:_LISTED]
    least = pl.DataFrame(
        {
            "key": b["key"].gather(order),
            "p_reference": ref_p[order],
            "text": b["p"].gather(order).str.slice(0, 300),
        }
    )
    detail = (
        f"TF-IDF (words and case-sensitive characters) + logistic regression, 5-fold, "
        f"{a.height:,} training vs {b.height:,} reference prompts"
    )
    if capped:
        detail += f"; {capped} of 5 folds stopped at {_ADVERSARIAL_PASSES} passes before converging"
    return auc, a.height + b.height, detail, least


@dataclass
class Difference:
    """How one side's prompts differ from training's (see measure_difference)."""

    length_edges: list[float]
    shares: tuple[list[float], list[float]]  # share of prompts per length bin: training, other
    psi: float
    ks: float
    ks_pvalue: float
    unseen: tuple[float, float, list[tuple[str, int]]]  # see vocabulary
    adversarial: tuple[float | None, int, str, pl.DataFrame | None]  # see adversarial
    label_mix: dict[str, dict[str, float]]  # label -> {"train", "reference"} shares


def measure_difference(
    train: pl.DataFrame, other: pl.DataFrame, settings: CoverageSettings, progress: Progress = no_progress
) -> Difference:
    """Lengths (PSI, KS), vocabulary, adversarial validation and label mix of `other`'s
    prompts against training's: production's (--reference) or another split's (drift)."""
    from scipy.stats import ks_2samp

    t_words, o_words = word_counts(train), word_counts(other)
    edges, t_share, o_share, psi = length_shift(t_words, o_words)
    ks = ks_2samp(t_words, o_words)
    unseen = vocabulary(train, other)
    progress(Stage.REPRESENTATIVENESS, 0.3)
    return Difference(
        edges,
        (t_share, o_share),
        psi,
        float(ks.statistic),
        float(ks.pvalue),
        unseen,
        adversarial(train, other, settings, progress),
        label_mix(train, other),
    )


def compare(
    dataset: Dataset,
    settings: CoverageSettings,
    load_settings: LoadSettings,
    progress: Progress = no_progress,
) -> Representativeness:
    """The training profile, compared with every reference file given."""
    progress(Stage.REPRESENTATIVENESS, 0.0)
    train = prompts_of(dataset.rows, settings.seed, dataset.texts)
    result = Representativeness(train=profile(train, dataset.rows.height))
    if not settings.reference_paths:
        result.warnings = tidy_warnings(result.train, dataset)
        progress(Stage.REPRESENTATIVENESS, 1.0)
        return result
    ref_set = load(list(settings.reference_paths), _reference_load(load_settings))
    reference = prompts_of(ref_set.rows, settings.seed + 1)
    result.reference = profile(reference, ref_set.rows.height)
    result.reference_files = ref_set.inputs
    result.reference_bad_lines = int(ref_set.bad_lines["excluded"].sum())
    result.reference_set_aside = ref_set.bad_lines.drop("raw").to_dicts()
    progress(Stage.REPRESENTATIVENESS, 0.1)
    if reference.height < MIN_REFERENCE or train.height < MIN_REFERENCE:  # samples hold >= 20 if rows do
        # Shares and a classifier over a handful of prompts would be noise dressed as findings.
        aside = ref_set.bad_lines.filter(pl.col("excluded"))  # not the notices (a byte order mark)
        first = aside.row(0, named=True) if aside.height else None
        n, unread = result.reference_bad_lines, sum(i.unread_lines for i in ref_set.inputs)
        more = f" and {unread:,} more not read after a record that stopped the reading" if unread else ""
        aside = (
            f"; {many(n, 'reference line')} set aside{more}, first {first['file']}:"
            f"{first['line']}: {first['reason']}"
            if first
            else ""
        )
        result.warnings = [
            f"too few prompts to compare with the reference ({reference.height:,} reference, "
            f"{train.height:,} training; at least {MIN_REFERENCE} each){aside}"
        ]
        progress(Stage.REPRESENTATIVENESS, 1.0)
        return result
    d = measure_difference(train, reference, settings, progress)
    result.length_edges, result.length_shares = (
        d.length_edges,
        {"train": d.shares[0], "reference": d.shares[1]},
    )
    result.psi, result.ks, result.ks_pvalue = d.psi, d.ks, d.ks_pvalue
    result.unseen_token_share, result.unseen_type_share, result.top_unseen = d.unseen
    result.auc, result.adversarial_rows, result.adversarial_detail, result.least_like = d.adversarial
    result.label_mix = d.label_mix
    result.warnings = comparison_warnings(result)
    progress(Stage.REPRESENTATIVENESS, 1.0)
    return result


def _reference_load(settings: LoadSettings) -> LoadSettings:
    """Reference samples are read with the data's fields, but their own format (production
    logs are often plain prompts), and need no id, group or label; the data's caps on
    row size and decompression hold for them too."""
    return replace(settings, format=None, id_field=None, group_fields=())


def label_mix(train: pl.DataFrame, reference: pl.DataFrame) -> dict[str, dict[str, float]]:
    if reference["label"].null_count() == reference.height or train["label"].null_count() == train.height:
        return {}

    def shares(frame: pl.DataFrame) -> dict[str, float]:
        counts = frame["label"].drop_nulls().value_counts()
        total = counts["count"].sum()
        return {k: n / total for k, n in zip(counts["label"].to_list(), counts["count"].to_list())}

    t, r = shares(train), shares(reference)
    return {k: {"train": t.get(k, 0.0), "reference": r.get(k, 0.0)} for k in sorted(set(t) | set(r))}


def _share(x: float) -> str:
    """A share as a percentage that never reads 100% unless it is: 0.9975 is 99.8%,
    not 100% (TREC's 39 unpunctuated prompts of 5,452 were said to be none)."""
    return f"{x:.1%}" if 0.995 <= x < 1 else f"{x:.0%}"


def tidy_warnings(p: Profile, dataset: Dataset) -> list[str]:
    """What makes a training set look tidier than real inputs, from its profile alone."""
    out = []
    s = p.shares
    if p.rows >= TIDY_MIN_ROWS and s["capitalised"] >= 0.98 and s["final_punctuation"] >= 0.98:
        out.append(
            f"{_share(s['capitalised'])} of prompts start with a capital and "
            f"{_share(s['final_punctuation'])} end with punctuation: real inputs are often lower case, "
            "unpunctuated, with typos"
        )
    if p.rows >= TIDY_MIN_ROWS and s["non_ascii"] == 0:
        out.append("no prompt has a non-ASCII character (accents, names, emoji)")
    chat = any(i.format in ("chat", "sharegpt") for i in dataset.inputs)
    if chat and p.rows >= TIDY_MIN_ROWS and p.multi_turn == 0:
        out.append("every conversation has a single user turn: no multi-turn examples")
    if p.rows >= TIDY_MIN_ROWS and p.words["p10"] > 0 and p.words["p90"] / p.words["p10"] < 2:
        out.append(
            f"prompt lengths are narrow ({p.words['p10']:.0f} to {p.words['p90']:.0f} words "
            "from p10 to p90): short and long inputs are missing"
        )
    return out


def comparison_warnings(r: Representativeness) -> list[str]:
    out = []
    if r.auc is not None and r.auc >= 0.8:
        out.append(
            f"a classifier tells training prompts from reference prompts apart (AUC {r.auc:.2f}): "
            "the training data does not look like production"
        )
    if r.psi is not None and r.psi > 0.25:
        out.append(f"prompt lengths differ from the reference (PSI {r.psi:.2f} > 0.25)")
    if r.unseen_token_share is not None and r.unseen_token_share > 0.1:
        out.append(f"{r.unseen_token_share:.0%} of reference words never appear in the training prompts")
    if r.reference is not None:
        for name, (desc, _) in FEATURES.items():
            t, ref = r.train.shares[name], r.reference.shares[name]
            if abs(t - ref) >= 0.2:
                out.append(f"'{desc}': {ref:.0%} of reference prompts, {t:.0%} of training prompts")
        if abs(r.train.multi_turn - r.reference.multi_turn) >= 0.2:
            out.append(
                f"multi-turn: {r.reference.multi_turn:.0%} of reference conversations, "
                f"{r.train.multi_turn:.0%} of training"
            )
    missing = [k for k, v in r.label_mix.items() if v["train"] == 0 and v["reference"] > 0]
    if missing:
        out.append("labels in the reference that training never has: " + ", ".join(missing[:5]))
    return out

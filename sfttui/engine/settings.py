"""Settings for loading and analysing a dataset, with the defaults the report records."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FORMATS = ("chat", "sharegpt", "alpaca", "prompt_completion", "text")
# What `scan --fail-on` can fail on (see scan.ScanResult.failures).
FAIL_KINDS = (
    "bad-lines",
    "duplicates",
    "conflicts",
    "imbalance",
    "leakage",
    "coverage",
    "representativeness",
    "structure",
    "templates",
    "artifacts",
    "too-long",
    "drift",
    "outliers",
)
# The lowest near-duplicate threshold (and hard-negative floor): below it most pairs of
# short texts in one language share that much (character 3-grams), so nearly every pair
# is verified and kept: 6k TREC questions took 18 s and 894 MB at 0.1, 4.6 s at 0.3.
LOWEST_THRESHOLD = 0.3
SPLITS = ("train", "validation", "test")  # the splits sfttui writes, in this order
ENGINES = ("local", "dask")  # where the row-scale stages run (see parallel.py)


@dataclass(frozen=True)
class LoadSettings:
    """How input files are read and which fields hold the text, label, id and group."""

    format: str | None = None  # one of FORMATS; None = detect per file
    text_field: str | None = None  # dotted path, e.g. "meta.body"
    label_field: str | None = None
    id_field: str | None = None
    group_fields: tuple[str, ...] = ()  # rows sharing a value of any of these stay together
    # False for eval sets: an item is matched whatever its label, so a missing or odd
    # label must not set it aside (a contamination would go unseen).
    labels: bool = True
    max_row_bytes: int = 1 << 20  # rows larger than 1 MiB are reported, not analysed
    # A compressed input is refused past either cap (decompression bombs): 4 GiB, or 200x
    # its compressed size (JSONL compresses 5-30x; a bomb, thousands of times).
    max_decompressed_bytes: int = 4 << 30
    max_expansion: float = 200.0


@dataclass(frozen=True)
class NormalizeSettings:
    """Which normalisation steps make two texts "the same" for matching."""

    nfkc: bool = True
    casefold: bool = True
    strip_punctuation: bool = True
    collapse_whitespace: bool = True


@dataclass(frozen=True)
class NearSettings:
    """MinHash/LSH near-duplicate detection.

    Texts with at least `short_words` words are shingled as word `word_ngram`-grams;
    texts with fewer than `2 * short_words` words are (also) shingled as character
    `char_ngram`-grams, because one changed word in a short text destroys most of its
    word n-grams. A pair's similarity is the higher of the two where both apply. Pairs
    across the character pass's edge (a 23-word and a 24-word text) are compared by
    characters too, when their word counts are within the ratio the threshold allows
    with a word to spare (see kernels.cross_candidates), so no pair is lost at the
    boundary.
    """

    enabled: bool = True
    threshold: float = 0.8
    num_perm: int = 128
    seed: int = 1
    word_ngram: int = 3
    char_ngram: int = 3
    short_words: int = 12
    bands: int | None = None  # None = chosen for recall at the threshold (see lsh_params)
    rows_per_band: int | None = None
    # Permutations, bands and rows per band of the character pass, where they differ from
    # the word pass's (None: the same). Short texts of one language share many character
    # 3-grams, so their chance candidates fall steeply with each row a band has.
    char_lsh: tuple[int, int, int] | None = None
    max_bucket: int = 64  # larger LSH buckets pair each member with its next max_bucket
    # At most this many LSH candidate pairs per text are examined (a seeded sample beyond
    # it); None = all. Only for searches that are samples by nature (hard negatives).
    max_candidates: float | None = None

    def __post_init__(self) -> None:
        _similarity("near threshold", self.threshold)


@dataclass(frozen=True)
class BalanceSettings:
    """Thresholds for the class-balance warnings."""

    max_imbalance_ratio: float = 10.0
    min_label_count: int = 20
    # A label is rare under this fraction of its fair share (1/K of the rows for K labels):
    # a fixed 2% would call every class of a balanced 150-intent set rare.
    min_fair_share: float = 0.2
    # Label mix between splits: a label whose share in a split differs from its share in
    # train by this factor and by at least this many points is named.
    max_mix_ratio: float = 2.0
    min_mix_gap: float = 0.02


@dataclass(frozen=True)
class LeakageSettings:
    """Eval-set decontamination: long n-gram overlap, 13 words as in LLM evaluation."""

    ngram: int = 13
    min_words: int = 8  # shorter eval items are checked by exact and near matching only
    # An eval n-gram held by more training texts, or more eval items, than this is
    # boilerplate (a template answer, a disclaimer, a textbook idiom), not evidence about
    # one eval item, and is left out.
    boilerplate_rows: int = 20


@dataclass(frozen=True)
class CoverageSettings:
    """Hard data (hard negatives, ambiguous rows, refusal, OOD, clarifying questions) and
    representativeness against production inputs.

    The targets are the rule of thumb a robust fine-tune wants per dataset and per split:
    about 20 hard negatives, about 20 ambiguous cases, and a handful of refusal, OOD and
    clarifying-question examples.
    """

    enabled: bool = True
    refusal_labels: tuple[str, ...] = ()  # added to the built-in label names
    ood_labels: tuple[str, ...] = ()
    patterns_path: str | None = None  # extra response patterns, "category: regex" per line
    # Hard negatives: pairs of prompts at least this similar (Jaccard of the same shingles
    # as near duplicates) but below the duplicate threshold, with different labels.
    hard_floor: float = 0.5  # at least LOWEST_THRESHOLD
    hard_recall: float = 0.9  # LSH recall at hard_floor; hard negatives are a sample, not a proof
    hard_rows: int = 200_000  # distinct prompts searched at most (a seeded sample beyond that)
    # LSH candidate pairs examined per prompt at most (a seeded sample beyond it; a third
    # of that verified): real data has up to ~35 (12 verified), low-variety short texts
    # hundreds (see lsh_pass.near_pass).
    hard_candidates: float = 48.0
    listed: int = 500  # rows or pairs kept per list in the report and the app
    model: bool = True  # the cross-validated label model behind ambiguous rows and label suspects
    model_rows: int = 20_000  # rows scored at most (a seeded sample beyond that)
    # Fitting costs rows x classes: past this product fewer rows are sampled. A cap on
    # work, unlike one on seconds, gives the same rows and the same report on every machine.
    model_work: int = 1_000_000
    model_chars: int = 3_000_000  # and past this many characters of text (long prompts, fewer rows)
    min_class_rows: int = 5  # rarer labels are left out of the model (Balance warns about them)
    model_seconds: float = 120.0  # a safety net only: folds stop once the next would pass it
    folds: int = 5
    ambiguous_margin: float = 0.1  # top-two probability gap under which a row is ambiguous
    seed: int = 0
    targets: tuple[tuple[str, int], ...] = (
        ("hard_negatives", 20),
        ("ambiguous", 20),
        ("refusal", 5),
        ("ood", 5),
        ("clarifying", 5),
    )
    reference_paths: tuple[str, ...] = ()  # samples of production inputs to compare with
    reference_rows: int = 20_000  # rows per side used by the adversarial classifier

    def __post_init__(self) -> None:
        _similarity("hard-negative floor", self.hard_floor)


def _similarity(name: str, value: float) -> None:
    """ValueError for a Jaccard bound the near-pair search cannot run at (see LOWEST_THRESHOLD)."""
    if not LOWEST_THRESHOLD <= value <= 1.0:  # NaN fails too
        raise ValueError(f"{name} {value!r} is outside {LOWEST_THRESHOLD}-1.0")


@dataclass(frozen=True)
class QualitySettings:
    """Row quality checks: conversation structure, template replies, text artifacts."""

    template_min: int = 5  # a reply given to this many rows or more is listed as a template


@dataclass(frozen=True)
class LengthSettings:
    """Lengths in tokens: the model's own tokenizer, and its context limit."""

    tokenizer: str | None = None  # a local tokenizer.json (or its folder); None = approximate
    max_tokens: int | None = None  # rows whose total passes this are listed (never truncated)


@dataclass(frozen=True)
class ScanSettings:
    """Everything one scan needs; recorded in the report so a result can be reproduced."""

    load: LoadSettings = field(default_factory=LoadSettings)
    normalize: NormalizeSettings = field(default_factory=NormalizeSettings)
    near: NearSettings = field(default_factory=NearSettings)
    balance: BalanceSettings = field(default_factory=BalanceSettings)
    leakage: LeakageSettings = field(default_factory=LeakageSettings)
    coverage: CoverageSettings = field(default_factory=CoverageSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    lengths: LengthSettings = field(default_factory=LengthSettings)
    keep: Literal["first", "longest"] = "first"
    eval_paths: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SplitSettings:
    """How new splits are made: shares, seed, stratification, and whether to remake given ones."""

    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 1234
    stratify: bool = True
    resplit: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "ratios": list(self.ratios),
            "seed": self.seed,
            "stratify": self.stratify,
            "resplit": self.resplit,
        }

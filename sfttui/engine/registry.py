"""Every analysis of a scan, as one `Step` each (see steps.py), in the order the report,
the `--fail-on` kinds and the summary show them.

Adding an analysis: its module under analyses/, a field of ScanResult, and one entry
here saying how it runs and what it reports.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from .analyses.balance import measure_balance
from .analyses.coverage import KIND_SHORT, Coverage, find_coverage, grouped_shortfalls, split_series
from .analyses.dedup import Duplicates, NearPass, find_duplicates, has_input_side, with_input_side
from .analyses.drift import split_drift
from .analyses.labelmodel import model_would_run
from .analyses.leakage import (
    EVAL_HIT_SCHEMA,
    Leakage,
    eval_hits_at,
    eval_near_pairs,
    find_eval_hits,
    given_split_leakage,
)
from .analyses.lengths import measure_lengths
from .analyses.outliers import find_outliers
from .analyses.quality import find_quality
from .analyses.representativeness import TIDY_MIN_ROWS, Representativeness, compare
from .errors import InputError
from .findings import many
from .io.load import BAD_SCHEMA, BLANK_LINE, Dataset, load
from .result import Analysis, ScanResult
from .runtime.memory import release
from .runtime.progress import Stage
from .settings import FAIL_KINDS, NearSettings, ScanSettings
from .steps import Check, Context, Line, Step
from .text.normalize import normalize_texts


def _unless(ran: bool, reason: str) -> str | None:
    return None if ran else reason


# --- duplicates --------------------------------------------------------------------
def _run_duplicates(ctx: Context) -> Duplicates:
    s, rows, texts = ctx.settings, ctx.dataset.rows, ctx.dataset.text_source()

    def matched_on(side: str) -> Duplicates:
        # The band keys are kept only for eval matching: ~200 MB per million rows
        # otherwise held, both sides, from each pass to the leakage step for nothing.
        return find_duplicates(
            rows, s.normalize, s.near, s.keep, ctx.progress, ctx.explore_floor, ctx.engine,
            side=side, texts=texts, keep_keys=bool(s.eval_paths),
        )  # fmt: skip

    duplicates = matched_on("example")
    if has_input_side(rows):
        _match_eval_examples(ctx, duplicates)
        release()
        # Rows matched on their input alone: same prompt, different answer (see dedup).
        with ctx.timed("input"):  # on its own, out of this step's time
            duplicates = with_input_side(duplicates, matched_on("input"))
    return duplicates


def _match_eval_examples(ctx: Context, duplicates: Duplicates) -> None:
    """Eval items matched nearly against the whole examples now, while the band keys of
    the example side are at hand, for the leakage step; the keys then go before the
    input side signs its own. Held until the leakage step, both sides' keys were the
    largest part of a 5M-row scan's peak (585 MB of example keys beside the input pass).
    An eval set that cannot be loaded is left to the leakage step to report."""
    s = ctx.settings
    if not s.eval_paths or duplicates.signatures is None or duplicates.distinct is None:
        return
    with ctx.timed("leakage"):  # the leakage step's time (its name)
        try:
            eval_set = _load_eval(s)
        except InputError:
            return
        eval_text = normalize_texts(eval_set.rows["text"], s.normalize)
        signatures = duplicates.take_signatures()
        pairs = eval_near_pairs(duplicates.distinct.texts, eval_text, _explored(ctx), ctx.engine, signatures)
        ctx.handed["eval"] = (eval_set, pairs)


def _load_eval(settings: ScanSettings) -> Dataset:
    """The eval sets, read as the training rows are, without labels. An item whose text
    is empty once normalised (punctuation only, with punctuation stripped) can match
    nothing: it is set aside with the reason, so leakage says it was not checked."""
    eval_set = load(list(settings.eval_paths), replace(settings.load, labels=False))
    empty = normalize_texts(eval_set.rows["text"], settings.normalize) == ""
    if not empty.any():
        return eval_set
    gone = eval_set.rows.filter(empty)
    aside = pl.DataFrame(
        {
            "file": gone["file"],
            "line": gone["line"],
            "reason": "the text is empty once normalised (punctuation and spaces only): it can match nothing",
            "excluded": True,
            "raw": eval_set.raw_lines(gone["row"]),
        },
        schema=BAD_SCHEMA,
    )
    fewer = dict(gone["file"].value_counts().iter_rows())  # rows name their input by its name
    for item in eval_set.inputs:
        n = fewer.get(item.name, 0)
        item.rows, item.bad = item.rows - n, item.bad + n
    kept = eval_set.rows.filter(~empty).with_columns(row=pl.int_range(pl.len(), dtype=pl.UInt32))
    return replace(eval_set, rows=kept, bad_lines=pl.concat([eval_set.bad_lines, aside]), _key_index=None)


def _count(clusters: pl.DataFrame, side: str, kind: str | None = None) -> int:
    mine = clusters.filter(pl.col("side") == side)
    return mine.height if kind is None else int((mine["kind"] == kind).sum())


def _report_duplicates(r: ScanResult) -> dict[str, Any]:
    dup = r.duplicates
    clusters = dup.clusters.select(
        "id",
        "side",
        "kind",
        "size",
        "members",
        "similarities",
        "keeper",
        "similarity",
        "max_similarity",
        "labels",
        "conflict",
        "removable",
        "same_response",
    ).to_dicts()
    return {
        "duplicates": {
            "clusters": clusters,
            "exact_clusters": _count(dup.clusters, "example", "exact"),
            "near_clusters": _count(dup.clusters, "example", "near"),
            "same_input_clusters": _count(dup.clusters, "input"),
            "rows_in_clusters": int(dup.clusters["size"].sum()) if dup.clusters.height else 0,
            "rows_removable": dup.rows_removable,
            "exact_copy_rows": dup.exact_copies[0],
            "exact_copy_groups": dup.exact_copies[1],
            "near_pairs": dup.pairs.rename({"a": "key_a", "b": "key_b"}).to_dicts(),
            "passes": [p.to_dict() for p in dup.passes],
        },
        "conflicts": [
            {"cluster": c["id"], "side": c["side"], "labels": c["labels"], "members": c["members"]}
            for c in dup.conflicts.select("id", "side", "labels", "members").to_dicts()
        ],
    }


def _norm_steps(settings: ScanSettings) -> str:
    n = settings.normalize
    steps = [
        name
        for name, on in (
            ("NFKC", n.nfkc),
            ("casefold", n.casefold),
            ("punctuation stripped", n.strip_punctuation),
            ("whitespace collapsed", n.collapse_whitespace),
        )
        if on
    ]
    return ", ".join(steps) or "none (raw text)"


def _describe_pass(p: NearPass) -> str:
    counted = f"{many(p.candidates, 'candidate')} -> " if p.candidates is not None else ""
    bands = f"{p.bands}x{p.rows_per_band} LSH bands"
    return f"{p.shingling} on {many(p.texts, 'text')}, {bands}, {counted}{p.verified:,} verified"


def _describe_duplicates(r: ScanResult) -> list[Analysis]:
    near = r.settings.near
    return [
        Analysis("exact duplicates", True, "normalised text: " + _norm_steps(r.settings)),
        Analysis(
            "near duplicates",
            near.enabled and bool(r.duplicates.passes),
            "; ".join(_describe_pass(p) for p in r.duplicates.passes)
            or ("switched off" if not near.enabled else "fewer than two distinct texts to compare"),
        ),
    ]


def _summarise_duplicates(r: ScanResult) -> list[Line]:
    dup = r.duplicates
    by_side = dup.clusters.group_by("side", "kind").len()
    count = {(side, kind): n for side, kind, n in by_side.iter_rows()}
    exact, near = count.get(("example", "exact"), 0), count.get(("example", "near"), 0)
    copies, groups = dup.exact_copies
    # Clusters are "exact" only when every member is a copy; a near cluster can hold
    # copies as well, which --drop exact removes: the copies are counted on their own.
    copy = "copies" if copies == 1 else "copy"
    copied = f"; {many(copies, 'row')} {copy} another exactly, in {many(groups, 'group')}" if copies else ""
    lines = [
        Line(
            "duplicates",
            f"{many(dup.rows_removable, 'row')} removable in {many(exact + near, 'cluster')} "
            + (
                f"({exact:,} of exact copies only, {near:,} with near duplicates at Jaccard "
                f"≥ {r.settings.near.threshold:g}{copied})"
                if r.settings.near.enabled
                else f"({exact:,} exact; near duplicates not searched)"
            ),
            kind="duplicates",
        )
    ]
    if dup.input is not None:
        on_input = dup.clusters.filter(pl.col("side") == "input")
        same = int(on_input["same_response"].sum())
        differ = on_input.filter(~pl.col("same_response"))
        exact_inputs = int((differ["kind"] == "exact").sum())
        also = (
            f"; {same:,} more whose responses match too (the same example reworded, which the "
            "whole-example search did not join)"
            if same
            else ""
        )
        lines.append(
            Line(
                "same input",
                f"{many(differ.height, 'cluster')} of rows whose inputs match "
                f"({exact_inputs:,} exact, {differ.height - exact_inputs:,} near) but whose responses differ"
                + also,
                flag=bool(on_input.height),
            )
        )
    return lines


def _exact_only(r: ScanResult, found: int, none: str) -> str | None:
    """Under --no-near, a check that found nothing among exact copies (`none` says so)
    did not look at near ones: not checked. What it did find stands."""
    if r.settings.near.enabled or found:
        return None
    return f"near duplicates were not searched (--no-near); exact copies were, and {none}"


def _duplicates_unchecked(r: ScanResult) -> str | None:
    return _exact_only(r, r.duplicates.rows_removable, "none was found")


DUPLICATES = Step(
    "duplicates",
    Stage.EXACT,
    _run_duplicates,
    _report_duplicates,
    _describe_duplicates,
    (Check("duplicates", lambda r: r.duplicates.rows_removable, _duplicates_unchecked),),
    _summarise_duplicates,
    release=True,
)


# --- balance -----------------------------------------------------------------------
def _describe_balance(r: ScanResult) -> list[Analysis]:
    balance = r.balance
    return [
        Analysis(
            "label conflicts",
            balance.applies,
            "clusters whose members carry different labels" if balance.applies else balance.reason,
        ),
        Analysis(
            "class balance",
            balance.applies,
            (many(len(balance.overall.counts), "label") if balance.overall else "") or balance.reason,
        ),
        Analysis(
            "per-split balance",
            bool(balance.per_split),
            f"splits: {', '.join(balance.per_split)}"
            if balance.per_split
            else "no split column and no split in the file names",
        ),
    ]


def _summarise_balance(r: ScanResult) -> list[Line]:
    bal = r.balance
    if not bal.applies:
        return [Line("labels", f"not checked: {bal.reason}", kind="imbalance")]
    conflicts = r.duplicates.conflicts
    example = ""
    if conflicts.height:
        first = conflicts.row(0, named=True)
        example = f"; largest {first['id']}: {' / '.join(first['labels'])} ×{first['size']}"
    on_input = int((conflicts["side"] == "input").sum())
    sides = f" ({on_input:,} on the input alone)" if on_input else ""
    if not r.settings.near.enabled:
        sides += " (exact copies only; near duplicates not searched)"
    o = bal.overall
    assert o is not None
    lines = [
        Line(
            "label conflicts",
            f"{many(conflicts.height, 'cluster')} with mixed labels{sides}{example}",
            "conflicts",
        ),
        Line(
            "balance",
            f"{many(len(o.counts), 'label')}; always guessing '{o.majority_label}' scores "
            f"{o.majority_baseline:.1%}; imbalance ratio {o.imbalance_ratio:.1f}; "
            f"entropy {o.entropy:.2f}",
            "imbalance",
            warnings=tuple(w for w in bal.warnings if w not in bal.mix_warnings),
            more="more warnings",
        ),
    ]
    if bal.per_split:
        mix = bal.mix_warnings
        lines.append(
            Line(
                "label mix",
                f"{many(len(mix), 'label')} far from {'its' if len(mix) == 1 else 'their'} share in train"
                if mix
                else f"each label's share alike across {', '.join(bal.per_split)}",
                flag=bool(mix),
                warnings=tuple(mix),
            )
        )
    return lines


def _conflicts_unchecked(r: ScanResult) -> str | None:
    if not r.balance.applies:
        return r.balance.reason
    return _exact_only(r, r.duplicates.conflicts.height, "none carries another label")


def _imbalance_unchecked(r: ScanResult) -> str | None:
    bal = r.balance
    if not bal.applies:
        return bal.reason
    # One label is no balance to measure: "ok" there would pass a gate on nothing.
    if bal.overall is not None and len(bal.overall.counts) < 2:
        return f"only one label ('{bal.overall.majority_label}'): no balance between labels to measure"
    return None


BALANCE = Step(
    "balance",
    Stage.BALANCE,
    lambda ctx: measure_balance(
        ctx.dataset.rows, ctx.settings.balance, ctx.settings.load.label_field or "label"
    ),
    lambda r: {"balance": r.balance.to_dict()},
    _describe_balance,
    (
        Check("conflicts", lambda r: r.duplicates.conflicts.height, _conflicts_unchecked),
        Check("imbalance", lambda r: len(r.balance.imbalance), _imbalance_unchecked),
    ),
    _summarise_balance,
    bracket=True,
)


# --- leakage -----------------------------------------------------------------------
def find_leakage(ctx: Context) -> Leakage:
    """Leakage across the existing splits and against every eval set given."""
    dataset, settings, duplicates = ctx.dataset, ctx.settings, ctx.results["duplicates"]
    rows = dataset.rows
    # Eval matching is the signatures' last use (117 MB per million texts on the example
    # side): taken, so they go with this step whether or not an eval set was given.
    signatures = duplicates.take_signatures()
    eval_set, example_near = ctx.handed.pop("eval", (None, None))
    input_signatures = duplicates.input.take_signatures() if duplicates.input is not None else None
    between = given_split_leakage(dataset, duplicates)
    eval_hits = found = pl.DataFrame(schema=EVAL_HIT_SCHEMA)
    notes: list[str] = []
    if settings.eval_paths:
        ctx.progress(Stage.EVAL, 0.0)
        if eval_set is None:  # else it is the set the early pairs were made against
            eval_set = _load_eval(settings)
        found = find_eval_hits(
            rows,
            rows["split"],
            eval_set,
            settings.normalize,
            _explored(ctx),
            settings.leakage,
            ctx.engine,
            distinct=duplicates.distinct,
            signatures=signatures,
            inputs=duplicates.input.distinct if duplicates.input is not None else None,
            input_signatures=input_signatures,
            notes=notes,
            example_near=example_near,
            texts=dataset.text_source(),
        )
        eval_hits = eval_hits_at(found, settings.near.threshold)
        ctx.progress(Stage.EVAL, 1.0)
    return Leakage(between, eval_hits, notes=notes, eval_set=eval_set, eval_found=found)


def _explored(ctx: Context) -> NearSettings:
    """The near settings down to the floor the duplicates were explored to (the app's
    slider): eval items are matched as far, so their hits follow the threshold too, and
    the band keys of the duplicate analysis (made for that floor) serve them."""
    near = ctx.settings.near
    if ctx.explore_floor is None or ctx.explore_floor >= near.threshold:
        return near
    return replace(near, threshold=ctx.explore_floor)


def splits_to_compare(r: ScanResult) -> bool:
    """Two splits or more: one split alone (a file named train.jsonl) compares nothing."""
    return r.dataset.rows["split"].drop_nulls().n_unique() >= 2


def _eval_set_aside(r: ScanResult) -> list[dict[str, Any]]:
    """Each record of the eval sets set aside, with its file, line and reason."""
    eval_set = r.leakage.eval_set
    return eval_set.bad_lines.drop("raw").to_dicts() if eval_set is not None else []


def leakage_unchecked(r: ScanResult) -> str | None:
    # Eval records set aside (not the notices, a byte order mark; not blank lines, which
    # hold nothing): never checked.
    if unread := [b for b in _eval_set_aside(r) if b["excluded"] and b["reason"] != BLANK_LINE]:
        first = unread[0]
        # A record that stopped the reading holds the rest of its file (a CSV quote left open).
        rest = sum(i.unread for i in r.leakage.eval_set.inputs) if r.leakage.eval_set is not None else 0
        more = f" and about {rest:,} more after a record that stopped the reading" if rest else ""
        return (
            f"{len(unread):,} eval record{'s were' if len(unread) != 1 else ' was'} set aside{more}, so "
            "they were not checked for contamination; "
            f"first {first['file']}:{first['line']}: {first['reason']}"
        )
    if not (splits_to_compare(r) or r.settings.eval_paths):
        return "fewer than two splits and no --eval set"
    if splits_to_compare(r) and not r.leakage.total:
        if not r.settings.near.enabled:
            return (
                "near duplicates across the splits were not searched (--no-near); exact copies and "
                "shared groups were, and none was found"
            )
        fields = r.settings.load.group_fields
        if fields and not (r.dataset.rows["groups"].list.len() > 0).any():
            # A misspelt --group-field: no group could be shared, whatever the data holds.
            return (
                f"no row has a value for the group field {', '.join(fields)}, so groups shared across "
                "the splits were not checked"
            )
    return None


def _describe_leakage(r: ScanResult) -> list[Analysis]:
    has_splits, evals = splits_to_compare(r), r.settings.eval_paths
    return [
        Analysis(
            "leakage between splits",
            has_splits,
            ("exact, near and same-group rows" if r.settings.near.enabled else "exact and same-group rows")
            + " across the existing splits"
            + ("" if r.settings.near.enabled else " (near duplicates not searched: --no-near)")
            if has_splits
            else "fewer than two existing splits to compare (a split field, or splits in the file names)",
        ),
        Analysis(
            "eval-set contamination",
            bool(evals),
            f"exact, near and {r.settings.leakage.ngram}-gram overlap against "
            + ", ".join(Path(p).name for p in evals)
            if evals
            else "no --eval set given",
        ),
    ]


def _summarise_leakage(r: ScanResult) -> list[Line]:
    leak = r.leakage
    unchecked = leakage_unchecked(r)
    if unchecked and not leak.total:
        return [Line("leakage", f"not checked: {unchecked}", "leakage")]
    detail = ", ".join(f"{n:,} {kind}" for kind, n in leak.counts().items()) or "none found"
    more = f" ({unchecked})" if unchecked else ""
    return [Line("leakage", f"{many(leak.total, 'hit')}: {detail}{more}", "leakage")]


LEAKAGE = Step(
    "leakage",
    Stage.LEAKAGE,
    find_leakage,
    lambda r: {
        "leakage": {
            "counts": r.leakage.counts(),
            "between_splits": r.leakage.between_splits.to_dicts(),
            "eval_inputs": r.leakage.eval_inputs,
            "eval_set_aside": _eval_set_aside(r),
            "eval": r.leakage.eval_hits.to_dicts(),
        }
    },
    _describe_leakage,
    (
        Check(
            "leakage",
            lambda r: r.leakage.total,
            leakage_unchecked,
        ),
    ),
    _summarise_leakage,
    bracket=True,
    release=True,
)


# --- coverage ----------------------------------------------------------------------
def coverage_analyses(coverage: Coverage, rep: Representativeness, settings: ScanSettings) -> list[Analysis]:
    """What the hard-data and representativeness analyses did, or why they did not run."""
    refs = settings.coverage.reference_paths
    # Representativeness runs (and gates) whether or not the hard-data search does.
    compared = Analysis(
        "representativeness",
        True,
        (rep.adversarial_detail or "compared with " + ", ".join(Path(p).name for p in refs))
        if refs
        else "profile of the training prompts alone (no --reference sample of production inputs)",
    )
    if not coverage.ran:
        return [Analysis("hard data", False, coverage.reason), compared]
    return [
        Analysis(
            "refusal / OOD / clarifying",
            True,
            "label names and response patterns (" + ", ".join(coverage.patterns) + ")",
        ),
        Analysis("hard negatives", coverage.hard_applies, coverage.hard_detail),
        Analysis("ambiguous rows and label suspects", coverage.model.ran, coverage.model.detail),
        compared,
    ]


def _summarise_coverage(r: ScanResult) -> list[Line]:
    cov = r.coverage
    if not cov.ran:
        return [Line("hard data", f"not checked: {cov.reason}", "coverage")]
    lines, _ = cov.card(split_series(r.dataset))
    # Ambiguous rows apply to labelled data the label model could have read: not measured
    # there is "not checked", not "n/a" (which reads as "does not apply").
    unmeasured = not cov.model.ran and model_would_run(r.dataset.rows["label"], r.settings.coverage)

    def shown(line: Any) -> str:
        if line.applies:
            return f"{line.total:,} {line.status(line.total)}"
        return "not checked" if line.kind == "ambiguous" and unmeasured else "n/a"

    card = " · ".join(f"{KIND_SHORT[line.kind]} {shown(line)}" for line in lines)
    return [
        Line(
            "hard data",
            card,
            "coverage",
            warnings=tuple(grouped_shortfalls([line.to_dict() for line in lines])),
        )
    ]


def _coverage_unchecked(r: ScanResult) -> str | None:
    if not r.coverage.ran:
        return r.coverage.reason
    # Every kind n/a (no labels, too few rows of each): no target was measured.
    if not any(line.applies for line in r.coverage.scorecard(split_series(r.dataset))):
        return "no kind of hard data applies to this data (every line of the scorecard n/a)"
    if (
        not r.coverage.model.ran
        and model_would_run(r.dataset.rows["label"], r.settings.coverage)
        and not r.coverage.warnings(split_series(r.dataset))
    ):
        # Not "n/a": ambiguous rows apply to this data, and none could be told.
        why = (
            "--no-model"
            if not r.settings.coverage.model
            else "the label model does no better than the majority baseline, so no row can be called "
            "ambiguous"
        )
        return f"ambiguous rows were not measured ({why}); every other kind that applies is met"
    return None


COVERAGE = Step(
    "coverage",
    Stage.COVERAGE,
    lambda ctx: find_coverage(
        ctx.dataset,
        ctx.results["duplicates"],
        ctx.settings.normalize,
        ctx.settings.near,
        ctx.settings.coverage,
        ctx.progress,
    ),
    lambda r: {"coverage": r.coverage.to_dict(split_series(r.dataset))},
    # Described with representativeness, which it depends on to say "ran".
    checks=(
        Check("coverage", lambda r: len(r.coverage.warnings(split_series(r.dataset))), _coverage_unchecked),
    ),
    summary=_summarise_coverage,
    release=True,
)


# --- representativeness ------------------------------------------------------------
def _summarise_representativeness(r: ScanResult) -> list[Line]:
    rep = r.representativeness
    if rep.reference is not None:
        parts = []
        if rep.auc is not None:
            parts.append(f"adversarial AUC {rep.auc:.2f} (0.5 = alike)")
        if rep.psi is not None:
            parts.append(f"length PSI {rep.psi:.2f}")
        if rep.unseen_token_share is not None:
            parts.append(f"{rep.unseen_token_share:.0%} of reference words unseen")
        detail = f"vs {rep.reference.rows:,} reference prompts: " + (", ".join(parts) or "too few to compare")
    else:
        detail = "profile of the training prompts only (no --reference)"
    return [Line("representative", detail, "representativeness", warnings=tuple(rep.warnings))]


def _representativeness_unchecked(r: ScanResult) -> str | None:
    # Without a reference sample, every rule of the profile needs 50 prompts.
    rep = r.representativeness
    if rep.reference is None and rep.train.rows < TIDY_MIN_ROWS:
        return f"no --reference, and fewer than {TIDY_MIN_ROWS} rows to profile"
    if rep.warnings:  # what the comparison found stands
        return None
    for info in rep.reference_files:
        if info.mostly_set_aside:
            return (
                f"most of the reference sample {info.name} was set aside: {info.set_aside}, so the "
                "comparison stands on the few left"
            )
    return None


REPRESENTATIVENESS = Step(
    "representativeness",
    Stage.REPRESENTATIVENESS,
    lambda ctx: compare(ctx.dataset, ctx.settings.coverage, ctx.settings.load, ctx.progress),
    lambda r: {"representativeness": r.representativeness.to_dict()},
    lambda r: coverage_analyses(r.coverage, r.representativeness, r.settings),
    (
        Check(
            "representativeness", lambda r: len(r.representativeness.warnings), _representativeness_unchecked
        ),
    ),
    _summarise_representativeness,
)


# --- quality -----------------------------------------------------------------------
_STRUCTURE_HOW = "turn roles in order: the last turn, the first, repeats, unknown roles, blank replies"
_ARTIFACTS_HOW = "placeholders, HTML leftovers (not in code or markup rows) and mojibake, by pattern"


def _describe_quality(r: ScanResult) -> list[Analysis]:
    quality = r.quality
    return [
        Analysis("conversation structure", quality.structure_ran, quality.structure_reason or _STRUCTURE_HOW),
        Analysis(
            "template replies",
            quality.templates_ran,
            quality.templates_reason
            or f"replies given to {quality.template_min}+ rows (stripped, lower-cased)",
        ),
        Analysis("text artifacts", True, _ARTIFACTS_HOW),
    ]


def _summarise_quality(r: ScanResult) -> list[Line]:
    q = r.quality
    return [
        Line(
            "structure",
            q.structure_detail() if q.structure_ran else f"not checked: {q.structure_reason}",
            "structure",
        ),
        Line(
            "templates",
            q.template_detail() if q.templates_ran else f"not checked: {q.templates_reason}",
            "templates",
        ),
        Line("artifacts", q.artifact_detail(), "artifacts"),
    ]


QUALITY = Step(
    "quality",
    Stage.QUALITY,
    lambda ctx: find_quality(ctx.dataset, ctx.settings.quality),
    lambda r: {"quality": r.quality.to_dict(r.dataset.rows["key"])},
    _describe_quality,
    (
        Check(
            "structure",
            lambda r: r.quality.structure.height,
            lambda r: _unless(r.quality.structure_ran, r.quality.structure_reason),
        ),
        Check(
            "templates",
            lambda r: r.quality.templates.height,
            lambda r: _unless(r.quality.templates_ran, r.quality.templates_reason),
        ),
        Check("artifacts", lambda r: r.quality.artifact_rows),
    ),
    _summarise_quality,
    bracket=True,
)


# --- lengths -----------------------------------------------------------------------
def _summarise_lengths(r: ScanResult) -> list[Line]:
    lengths = r.lengths
    over = tuple(
        f"{row['key']}: {row['total']:,} {lengths.label}"
        for row in lengths.over.head(3).iter_rows(named=True)
    )
    return [Line("lengths", lengths.summary(), "too-long", warnings=over)]


LENGTHS = Step(
    "lengths",
    Stage.LENGTHS,
    lambda ctx: measure_lengths(ctx.dataset, ctx.settings.lengths, ctx.progress, ctx.tokenizer),
    lambda r: {"lengths": r.lengths.to_dict()},
    lambda r: [Analysis("lengths in tokens", True, r.lengths.detail)],
    (
        Check(
            "too-long",
            lambda r: r.lengths.over.height,
            lambda r: _unless(r.lengths.max_tokens is not None, "no --max-tokens given"),
        ),
    ),
    _summarise_lengths,
)


# --- drift and outliers ------------------------------------------------------------
DRIFT = Step(
    "drift",
    Stage.REPRESENTATIVENESS,
    lambda ctx: split_drift(ctx.dataset, ctx.settings.coverage),
    lambda r: {"drift": r.drift.to_dict()},
    lambda r: [
        Analysis(
            "drift between splits",
            r.drift.ran,
            r.drift.reason or "each split's prompts against train's, as --reference compares production",
        )
    ],
    (Check("drift", lambda r: len(r.drift.warnings), lambda r: r.drift.unchecked),),
    lambda r: [Line("split drift", r.drift.summary(), "drift", warnings=tuple(r.drift.warnings))],
    timing="representativeness",
)

OUTLIERS = Step(
    "outliers",
    Stage.QUALITY,
    lambda ctx: find_outliers(ctx.dataset),
    lambda r: {"outliers": r.outliers.to_dict()},
    lambda r: [
        Analysis(
            "outliers",
            r.outliers.ran,
            r.outliers.reason or "script, vocabulary, length, symbols and code against the rest of the rows",
        )
    ],
    (Check("outliers", lambda r: r.outliers.count, lambda r: _unless(r.outliers.ran, r.outliers.reason)),),
    lambda r: [Line("outliers", r.outliers.summary(), "outliers")],
    bracket=True,
    timing="quality",
)


STEPS: tuple[Step, ...] = (
    DUPLICATES,
    BALANCE,
    LEAKAGE,
    COVERAGE,
    REPRESENTATIVENESS,
    QUALITY,
    LENGTHS,
    DRIFT,
    OUTLIERS,
)

# Bad lines are the load's; every other kind is a step's, in registry order.
CHECKS = (
    Check("bad-lines", lambda r: int(r.dataset.bad_lines["excluded"].sum())),
    *(check for step in STEPS for check in step.checks),
)
assert tuple(check.kind for check in CHECKS) == FAIL_KINDS


def findings(result: ScanResult) -> dict[str, int]:
    """How many of each kind of problem `--fail-on` can name."""
    return {check.kind: check.count(result) for check in CHECKS}


def _mostly_set_aside(result: ScanResult) -> str | None:
    for info in result.dataset.inputs:
        if info.mostly_set_aside:
            return (
                f"most of {info.name} was set aside: {info.set_aside}, so finding nothing in the rest "
                "says nothing about the file"
            )
    return None


def not_checked(result: ScanResult) -> dict[str, str]:
    """The `--fail-on` kinds whose analysis did not run on real rows, and why: a gate on
    one of them fails (a check that did not run is not a pass)."""
    unchecked = {check.kind: why for check in CHECKS if (why := check.skipped(result)) is not None}
    # An input mostly set aside: a check that found nothing ran on the few rows left.
    # What it did find stands; bad-lines itself counts what was set aside.
    if mostly := _mostly_set_aside(result):
        for check in CHECKS:
            if check.kind != "bad-lines" and check.kind not in unchecked and not check.count(result):
                unchecked[check.kind] = mostly
    return unchecked

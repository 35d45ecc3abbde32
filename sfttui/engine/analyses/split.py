"""Train / validation / test assignment by group, stratified by label, seeded.

The unit of splitting is a *unit*: rows joined by sharing any group value (user,
document, source: `--by`) or a duplicate cluster (exact or near), found as connected
components. No unit is ever split across two splits.

Assignment follows the idea of scikit-learn's StratifiedGroupKFold, made vectorised:
units are stratified by their dominant label; within a stratum, units larger than
1% of it are placed first, each into the split furthest below its target share
(a short Python loop over few units); the rest are shuffled with the seed and cut by
cumulative size at the remaining targets (NumPy). StratifiedGroupKFold itself loops
in Python over every group and every fold, which is minutes at a million groups;
`tests/test_split.py` compares the label mix this gives with scikit-learn's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from ..errors import InputError
from ..findings import many
from ..io.load import odd_split_values
from ..settings import SPLITS, SplitSettings

_BIG_UNIT_SHARE = 0.01


def parse_ratios(text: str) -> tuple[float, float, float]:
    """'0.8,0.1,0.1' or '80/10/10' -> (0.8, 0.1, 0.1); raises ValueError with a reason."""
    parts = [p for p in text.replace("/", ",").split(",") if p.strip()]
    if len(parts) != 3:
        raise ValueError("give three ratios: train, validation, test (e.g. 80/10/10)")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"not numbers: {text}") from None
    if any(v < 0 or not math.isfinite(v) for v in values) or sum(values) <= 0:
        raise ValueError("ratios must be non-negative and not all zero")
    total = sum(values)
    if not math.isfinite(total):  # three values near the float maximum
        values = [v / max(values) for v in values]
        total = sum(values)
    train, validation, test = (v / total for v in values)
    return train, validation, test


@dataclass
class SplitPlan:
    """Which split each row goes to, and how well the targets were met."""

    assignment: pl.DataFrame  # row, key, unit, split
    source: str  # "existing" or "new"
    settings: SplitSettings
    summary: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _dense_codes(values: pl.Series) -> np.ndarray:
    """A number per distinct value: its 64-bit hash, ranked densely (only which values
    are equal matters).

    Any way through a hash table of the strings leaves the cache once the distinct
    values outgrow it: a categorical cast of a 5M-row plan's group values (250k users)
    took 2.1 s, 50x its time at 1M; ranking the hashes sorts 8-byte numbers, 0.49 s.
    Two values whose hashes collide (odds about d**2 / 2**65 for d distinct values)
    would share a number, so their rows would share a unit: a group or cluster is
    still never split, the split sizes are only a little coarser."""
    return values.hash().rank("dense").to_numpy().astype(np.int64) - 1


def units(rows: pl.DataFrame, linked: pl.DataFrame | None = None) -> np.ndarray:
    """Unit id per row of `rows` (in its order): connected components over shared group
    values and duplicates. `linked` (row, component: see Duplicates.units) may name rows
    not in `rows`; they are ignored.

    Ids are numbered by each unit's first row, so they are the same for the same input.
    """
    n = rows.height
    position = rows.select("row").with_row_index("pos")
    src: list[np.ndarray] = []
    dst: list[np.ndarray] = []
    offset = n
    if "groups" in rows.columns and rows["groups"].null_count() < n:
        groups = rows["groups"]
        # One value a row (one --group-field): its first, without exploding the lists.
        if (groups.list.len().max() or 0) <= 1:
            pairs = position.with_columns(value=groups.list.first()).drop_nulls("value")
        else:
            pairs = position.with_columns(value=groups).explode("value").drop_nulls("value")
        if pairs.height:
            codes = _dense_codes(pairs["value"])
            src.append(pairs["pos"].to_numpy())
            dst.append(offset + codes)
            offset += int(codes.max()) + 1
    members = linked.join(position, on="row") if linked is not None else None
    if members is not None and members.height:
        codes = _dense_codes(members["component"])
        src.append(members["pos"].to_numpy())
        dst.append(offset + codes)
        offset += int(codes.max()) + 1
    if not src:
        return np.arange(n, dtype=np.int64)
    from .grouping import component_roots  # compiled on first use: not at import

    a = np.concatenate(src).astype(np.int64)
    b = np.concatenate(dst).astype(np.int64)
    # Rows are the nodes below n, so a unit's root is its first row; its id is how many
    # units start at or before that row, less one.
    first = component_roots(a, b, offset)[:n]
    starts = first == np.arange(n, dtype=np.int64)
    return (np.cumsum(starts) - 1)[first]


@dataclass
class _UnitTable:
    """Per unit, in order of each unit's first row: what placing the units works from.

    Counted with NumPy over dense unit and label numbers. Polars' group-bys over
    (unit, label) did the same with hash tables, which left the cache at 5M rows: 6.6x
    the time for 5x the rows, against n log n's 5.6x.
    """

    labels: list[str]  # sorted; "" for a row without one (and every row when not stratified)
    of_row: np.ndarray  # int64: each row's unit, as a position in this order
    codes: np.ndarray  # int64: each row's label, as a position in `labels`
    size: np.ndarray  # float64: rows per unit
    label: np.ndarray  # int64: a unit's label (its only one unless `mixed`)
    mixed: np.ndarray  # bool: the unit holds rows of several labels

    @classmethod
    def of(cls, frame: pl.DataFrame, unit_ids: np.ndarray, stratify: bool) -> _UnitTable:
        unit = _numbered_by_first_row(np.asarray(unit_ids, dtype=np.int64), frame["row"].to_numpy())
        if stratify:
            label = frame["label"].fill_null("")
            labels = sorted(label.unique().to_list())
            codes = label.cast(pl.Enum(labels)).to_physical().to_numpy().astype(np.int64)
        else:
            labels = [""] if frame.height else []
            codes = np.zeros(frame.height, dtype=np.int64)
        n_units = int(unit.max()) + 1 if unit.size else 0
        one = np.zeros(n_units, dtype=np.int64)
        one[unit] = codes  # some row's label per unit: which row does not matter
        mixed = np.zeros(n_units, dtype=bool)
        mixed[unit[codes != one[unit]]] = True
        size = np.bincount(unit, minlength=n_units).astype(np.float64)
        return cls(labels, unit, codes, size, one, mixed)

    @property
    def label_totals(self) -> np.ndarray:
        """float64: rows per label."""
        return np.bincount(self.codes, minlength=len(self.labels)).astype(np.float64)

    def label_counts(self, chosen: np.ndarray) -> np.ndarray:
        """float64 (units x labels): the rows of each label in each `chosen` unit."""
        slot = np.full(len(self.size), -1, dtype=np.int64)
        slot[chosen] = np.arange(chosen.size)
        k = slot[self.of_row]
        inside = k >= 0
        cells = k[inside] * len(self.labels) + self.codes[inside]
        counts = np.bincount(cells, minlength=chosen.size * len(self.labels))
        return counts.reshape(chosen.size, len(self.labels)).astype(np.float64)

    def units_per_label(self) -> np.ndarray:
        """int64: how many units hold rows of each label."""
        n_units, n_labels = len(self.size), len(self.labels)
        cells = self.of_row * n_labels + self.codes
        if n_units * n_labels <= 4 * len(cells):  # a mark per (unit, label): no sort
            seen = np.zeros(n_units * n_labels, dtype=bool)
            seen[cells] = True
            return seen.reshape(n_units, n_labels).sum(axis=0)
        pairs = np.unique(cells[self.mixed[self.of_row]])
        return np.bincount(self.label[~self.mixed], minlength=n_labels) + np.bincount(
            pairs % n_labels, minlength=n_labels
        )


def _numbered_by_first_row(unit: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Unit ids renumbered 0, 1, ... in order of each unit's smallest row number. Ids
    from units() over rows in row order are that already, which is checked in one pass."""
    if not unit.size:
        return unit
    if (row[1:] > row[:-1]).all() and unit[0] == 0:
        top = np.maximum.accumulate(unit)
        if (top[1:] - top[:-1] <= 1).all():  # each new id is the next one: dense, in order
            return unit
    ids, inverse = np.unique(unit, return_inverse=True)
    low = np.full(ids.size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(low, inverse, row.astype(np.int64))
    rank = np.empty(ids.size, dtype=np.int64)
    rank[np.argsort(low, kind="stable")] = np.arange(ids.size)
    return rank[inverse]


def _cut(sizes: np.ndarray, room: np.ndarray) -> np.ndarray:
    """Split index per unit, in the given order, cutting where the running total crosses
    each split's room (unit midpoints, so a unit goes where most of it fits)."""
    bounds = np.cumsum(room / room.sum() * sizes.sum())[:-1]
    mid = np.cumsum(sizes) - sizes / 2
    return np.searchsorted(bounds, mid, side="right").astype(np.int8)


def _cut_owed(sizes: np.ndarray, want: np.ndarray, owed: np.ndarray) -> np.ndarray:
    """As _cut, with the rows each split is `owed` (short of earlier labels' wants): a
    unit across a cut goes where its overlap plus what that split is owed is largest, so
    what one small label rounds away from a split the next gives back (rounded alone, 4
    labels of 5 rows at 80/10/10 each gave 4/0/1, and validation nothing)."""
    bounds = np.cumsum(want)[:-1]
    end = np.cumsum(sizes)
    start = end - sizes
    first = np.searchsorted(bounds, start, side="right")
    last = np.searchsorted(bounds, end, side="left")
    out = first.astype(np.int8)
    edges = np.concatenate([[-np.inf], bounds, [np.inf]])
    for k in np.flatnonzero(last > first):  # the units across a cut: a few per label
        regions = np.arange(first[k], last[k] + 1)
        overlap = np.minimum(end[k], edges[regions + 1]) - np.maximum(start[k], edges[regions])
        out[k] = regions[np.argmax(overlap + owed[regions])]
    return out


def place_greedy(
    vectors: np.ndarray, filled: np.ndarray, target: np.ndarray, scale: np.ndarray, live: np.ndarray
) -> np.ndarray:
    """Place units one by one (label count `vectors`, in this order) in the split whose
    squared, scaled gap to its per-label `target` grows least; `filled` (splits x labels)
    is updated. Ties go to the first split, as np.argmin does. Compiled, in NumPy's exact
    arithmetic (see placement.py): a NumPy call per unit was 4x slower than plain Python,
    and plain Python took 0.47 s for the 90k units of a million chat rows."""
    from .placement import place_units  # compiled on first use: not at import

    work = np.ascontiguousarray(filled, dtype=np.float64)
    out = place_units(
        np.ascontiguousarray(vectors, dtype=np.float64),
        work,
        np.ascontiguousarray(target, dtype=np.float64),
        np.ascontiguousarray(scale, dtype=np.float64),
        np.ascontiguousarray(live, dtype=np.bool_),
    )
    filled[:] = work
    return out


def keeps_given_splits(splits: pl.Series, settings: SplitSettings) -> bool:
    """Whether the rows keep the splits they came with: every row has one, and no
    re-split was asked for; otherwise new splits are made for all of them."""
    return not settings.resplit and len(splits) > 0 and splits.null_count() == 0


def assign_splits(
    rows: pl.DataFrame, unit_ids: np.ndarray, settings: SplitSettings | None = None
) -> SplitPlan:
    """Place every unit in train, validation or test; keep existing splits unless resplit."""
    settings = settings or SplitSettings()
    frame = rows.select("row", "key", "label", "split").with_columns(unit=pl.Series(unit_ids))
    warnings: list[str] = []
    if keeps_given_splits(rows["split"], settings):
        _refuse_unknown_splits(frame)
        assignment = frame.select("row", "key", "unit", "split")
        plan = SplitPlan(assignment, "existing", settings, warnings=warnings)
        plan.summary = summarize(frame, settings.ratios)
        return plan
    unsplit = rows["split"].null_count() if rows.height else 0
    if rows.height and unsplit < rows.height and not settings.resplit:
        warnings.append(
            f"{many(unsplit, 'row')} {'has' if unsplit == 1 else 'have'} no split while others do; "
            "built new splits for all rows (name every file's split, or pass --resplit to silence this)"
        )
    table = _UnitTable.of(frame, unit_ids, settings.stratify)
    n_units, labels = len(table.size), table.labels
    ratios = np.array(settings.ratios, dtype=np.float64)
    label_totals = table.label_totals
    target = ratios[:, None] * label_totals[None, :]  # rows wanted per split and label
    filled = np.zeros_like(target)

    rng = np.random.default_rng(settings.seed)
    shuffle = rng.permutation(n_units)  # seeded order over units numbered by first row
    sizes, unit_label, mixed = table.size, table.label, table.mixed
    big = ~mixed & (sizes > np.maximum(1.0, _BIG_UNIT_SHARE * label_totals[unit_label]))
    placed = np.full(n_units, -1, dtype=np.int8)

    # Units holding several labels, and big ones, go one by one (largest first) to the
    # split where they bring the per-label counts closest to target, as scikit-learn's
    # StratifiedGroupKFold does; with labels per row these are usually a minority.
    greedy = np.flatnonzero(mixed | big)
    if greedy.size:
        vectors = table.label_counts(greedy)
        order = np.lexsort((shuffle[greedy], -sizes[greedy]))
        scale = 1.0 / np.maximum(label_totals, 1.0)  # each label's gap as a share of it
        chosen = place_greedy(vectors[order], filled, target, scale, ratios > 0)
        placed[greedy[order]] = chosen
    # The rest hold one label each: per label, shuffled, cut at the room left.
    owed = np.zeros(len(ratios))
    for li in range(len(labels)):
        idx = np.flatnonzero((placed < 0) & (unit_label == li))
        if idx.size:
            idx = idx[np.argsort(shuffle[idx], kind="stable")]
            room = np.maximum(target[:, li] - filled[:, li], 0)
            share = room if room.sum() > 0 else ratios  # filled already: by the ratios
            want = share / share.sum() * sizes[idx].sum()
            # A label with many units per split is cut alone (its mix is what matters). Labels
            # where a split expects under two of their units settle their rounding among
            # themselves: each takes what the earlier ones owe.
            if (want[ratios > 0] < 2 * sizes[idx].mean()).any():
                placed[idx] = _cut_owed(sizes[idx], want, owed)
                owed += want - np.bincount(placed[idx], weights=sizes[idx], minlength=len(ratios))
            else:
                placed[idx] = _cut(sizes[idx], share)  # as before: the room, normalised here
    live_splits = int((ratios > 0).sum())
    few = [(name, n) for name, n in zip(labels, table.units_per_label().tolist()) if name and n < live_splits]
    # One line per kind of warning, however many labels or groups it is about.
    if len(few) == 1:
        name, n = few[0]
        warnings.append(f"label '{name}' has {many(n, 'group')}: too few to appear in every split")
    elif few:
        named = ", ".join(f"'{name}' ({n})" for name, n in few[:10]) + (
            f" and {len(few) - 10} more" if len(few) > 10 else ""
        )
        warnings.append(f"{len(few)} labels have too few groups to appear in every split: {named}")
    total = sizes.sum()
    smallest = np.min(ratios[ratios > 0])
    big = np.sort(sizes[(sizes > 1) & (sizes > 0.5 * smallest * total)])[::-1]
    if big.size == 1:
        warnings.append(
            f"one group holds {int(big[0]):,} rows ({big[0] / total:.0%}); "
            "the target ratios cannot be met exactly"
        )
    elif big.size:
        held = ", ".join(f"{int(n):,}" for n in big[:10]) + (
            f" and {big.size - 10} more" if big.size > 10 else ""
        )
        warnings.append(
            f"{big.size} groups hold {held} rows ({big.sum() / total:.0%} in all); "
            "the target ratios cannot be met exactly"
        )
    # In the rows' order, which plan_export relies on.
    split = pl.Series("split", SPLITS, dtype=pl.String).gather(placed.astype(np.int64)[table.of_row])
    assignment = frame.select("row", "key", "unit").with_columns(split)
    plan = SplitPlan(assignment, "new", settings, warnings=warnings)
    plan.summary = summarize(frame.with_columns(split=assignment["split"]), settings.ratios)
    return plan


def _refuse_unknown_splits(frame: pl.DataFrame) -> None:
    """Splits kept from the input can only be written under the three names: one clear
    error naming the others (their aliases were mapped when the data was loaded)."""
    named = odd_split_values(frame)
    if named:
        raise InputError(
            f"cannot keep the input's splits, which name others than train, validation and test: "
            f"{named} (aliases such as dev, val, eval and holdout are understood); rename them, or pass "
            "--resplit to build new splits"
        )


def summarize(frame: pl.DataFrame, ratios: tuple[float, float, float]) -> dict[str, Any]:
    """Rows, groups and label mix per split, and the achieved ratios."""
    total = max(frame.height, 1)
    frame = frame.select("split", "label", "unit")
    # Two group-bys over every row, not a filter and a count per split: each pass over
    # the rows' strings costs the same however few splits there are.
    per_split = {
        name: (rows, groups)
        for name, rows, groups in frame.group_by("split")
        .agg(pl.len(), pl.col("unit").n_unique())
        .drop_nulls("split")
        .iter_rows()
    }
    mixes: dict[str, dict[str, int]] = {}
    counted = frame.group_by("split", "label").len(name="n").drop_nulls(["split", "label"])
    for name, label, n in counted.sort(["split", "n", "label"], descending=[False, True, False]).iter_rows():
        mixes.setdefault(name, {})[label] = n
    out: dict[str, Any] = {"splits": {}}
    for name in [*SPLITS, *sorted(set(per_split) - set(SPLITS))]:
        rows, groups = per_split.get(name, (0, 0))
        out["splits"][name] = {
            "rows": rows,
            "groups": groups,
            "ratio": rows / total,
            "target": ratios[SPLITS.index(name)] if name in SPLITS else None,
            "labels": mixes.get(name, {}),
        }
    return out

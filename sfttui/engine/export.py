"""Apply decisions and the drop policy, split, and write the output directory atomically.

Output: train.jsonl, validation.jsonl, test.jsonl (each kept row's original line, byte
for byte), dropped.jsonl (every row not written to a split, with reason and cluster,
bad lines included, so every input line is accounted for) and manifest.json. Files
are written into a temporary directory beside the target and renamed into place, so
a crash leaves the old directory or none, never a partial one. After writing, the
outputs are read back and checked.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson
import polars as pl

from .. import __version__
from .analyses.balance import label_mix_warnings
from .analyses.dedup import Duplicates, find_duplicates
from .analyses.leakage import split_leakage
from .analyses.split import SPLITS, SplitPlan, SplitSettings, assign_splits, units
from .decisions import KEEP_ALL, Resolution
from .errors import ExportError, InputError, SfttuiError
from .findings import many
from .io.atomic import sync_directory
from .io.load import SPLIT_FIELD, Dataset, load, read_blocks, split_lines
from .io.outdir import (
    UNFINISHED,
    OutputRefused,
    Protected,
    check_output,
    clear_leftovers,
    make_temporary,
    one_writer,
    recover,
    remove_unfinished,
    replace_directory,
)
from .io.rawlines import RAW_COLUMNS, hash_lines, read_lines, stream_lines
from .settings import BalanceSettings, ScanSettings
from .text.lookup import SortedIndex

DropPolicy = Literal["exact", "near", "none"]
_DROPPED_SLICE = 20_000
# Written files are read back this much at a time. 2 MiB, not the loader's 8: a block's
# lines as a Series and their hashes are made and dropped per block (a 1M-row train
# split: +61 -> +18 MB over the rows, 0.46-0.49 -> 0.30-0.35 s).
_READ_BACK = 2 << 20


@dataclass
class ExportPlan:
    """Everything that will be written, decided before anything is."""

    kept: pl.DataFrame  # row, key, split, label and where the line is (input order)
    dropped: pl.DataFrame  # key, file, line, reason, cluster and where the line is
    split_plan: SplitPlan
    leakage_remaining: pl.DataFrame
    unresolved_conflicts: list[str]
    resolution: Resolution | None
    drop_policy: str
    notes: list[str] = field(default_factory=list)

    def split_of_rows(self, rows: int) -> pl.Series:
        """Each input row's planned split by row number; null for rows that will be dropped."""
        return (
            pl.DataFrame({"row": pl.arange(0, rows, eager=True, dtype=pl.UInt32)})
            .join(self.kept.select("row", "split"), on="row", how="left")
            .sort("row")["split"]
        )

    def counts(self) -> dict[str, Any]:
        per_split = {s: int((self.kept["split"] == s).sum()) for s in SPLITS}
        reasons = self.dropped.group_by("kind").len().sort("kind")
        return {**per_split, "dropped": self.dropped.height, "dropped_by": dict(reasons.iter_rows())}


_DROPPED_SCHEMA = {
    "key": pl.String(),
    "file": pl.String(),
    "line": pl.UInt32(),
    "kind": pl.String(),
    "reason": pl.String(),
    "cluster": pl.String(),
    "offset": pl.UInt64(),
    "length": pl.UInt32(),
    "raw": pl.Binary(),
    "line_hash": pl.UInt64(),
}


def _cap(kept: pl.DataFrame, caps: dict[str, int], seed: int) -> pl.DataFrame:
    """Rows over a class cap, chosen with the seed (not the first N, which may be biased)."""
    out = []
    for label, limit in caps.items():
        rows = kept.filter(pl.col("label") == label)
        if rows.height > limit:
            rng = np.random.default_rng(seed)
            over = rng.permutation(rows.height)[limit:]
            out.append(rows[np.sort(over)].select("row"))
    return pl.concat(out) if out else pl.DataFrame(schema={"row": pl.UInt32})


def _capped_evaluation(kept: pl.DataFrame, over: pl.DataFrame) -> list[str]:
    """What a cap took from the input's own validation and test rows: a cap drawn from
    every split can leave a label out of the input's test set without a word (TREC's
    ABBR: 7 test rows, then none, under a cap of 10)."""
    if not over.height:
        return []
    taken = kept.filter(pl.col("row").is_in(over["row"].implode()))
    counts = (
        taken.group_by("split", "label")
        .len()
        .join(kept.group_by("split", "label").agg(had=pl.len()), on=["split", "label"])
    )
    said = []
    for split, label, n, had in (
        counts.filter(pl.col("split").is_in(["validation", "test"])).sort("split", "label").iter_rows()
    ):
        said.append(
            f"the cap on label '{label}' took {n:,} of its {many(had, 'row')} in the input's {split} split "
            f"({had - n:,} left): a cap is drawn from every split"
        )
    return said


def plan_export(
    dataset: Dataset,
    duplicates: Duplicates,
    split_settings: SplitSettings,
    drop: DropPolicy = "exact",
    resolution: Resolution | None = None,
    eval_hits: pl.DataFrame | None = None,
) -> ExportPlan:
    """Decide which rows are dropped (and why) and which split every other row goes to."""
    # Everything here is decided from row metadata: the texts (most of the frame) would
    # only be copied by the joins and sorts below.
    rows = dataset.rows.drop("text", "prompt", strict=False)
    reasons: list[pl.DataFrame] = []
    decided = resolution.kept_clusters if resolution else set()
    conflicts = set(duplicates.conflicts["id"].to_list())
    # The automatic policy drops copies of a whole example only: rows that share just
    # their input have different responses, for the person to decide.
    members = duplicates.membership.filter(pl.col("side") == "example")
    # The automatic policy leaves alone clusters the person decided and label
    # conflicts, where keeping any one member could keep a wrong label.
    auto = members.filter(~pl.col("cluster").is_in(list(decided | conflicts)))
    # A row the person dropped one by one (a leak's train side) keeps nothing: its copies
    # keep their next member, or the example would leave every split with it.
    gone = list(resolution.dropped) if resolution else []
    alive = auto.filter(~pl.col("key").is_in(gone)) if gone else auto
    if drop == "exact":
        first_of_text = alive.group_by("t").agg(
            first_row=pl.col("row").min(), kkey=pl.col("key").sort_by("row").first()
        )
        exact = auto.join(first_of_text, on="t").filter(pl.col("row") != pl.col("first_row"))
        reasons.append(
            exact.select(
                "row",
                "cluster",
                kind=pl.lit("exact duplicate"),
                reason=pl.lit("exact duplicate of ") + pl.col("kkey"),
            )
        )
    elif drop == "near":
        # The cluster's keeper, or where the person dropped it, its first member left.
        keepers = (
            alive.sort("cluster", pl.col("keeper").not_(), "row")
            .unique("cluster", keep="first")
            .select("cluster", krow="row", kkey="key")
        )
        near = auto.join(keepers, on="cluster").filter(pl.col("row") != pl.col("krow"))
        reasons.append(
            near.select(
                "row", "cluster", kind=pl.lit("duplicate"), reason=pl.lit("duplicate of ") + pl.col("kkey")
            )
        )
    if resolution:
        decided_rows = pl.DataFrame(
            {
                "key": list(resolution.dropped),
                "reason": [r for r, _ in resolution.dropped.values()],
                "cluster": [c for _, c in resolution.dropped.values()],
            },
            schema={"key": pl.String, "reason": pl.String, "cluster": pl.String},
        )
        reasons.append(
            decided_rows.join(rows.select("row", "key"), on="key").select(
                "row", "cluster", kind=pl.lit("decision"), reason="reason"
            )
        )
    if eval_hits is not None and eval_hits.height:
        hit = eval_hits.group_by("key").agg(
            reason=pl.lit("matches eval item ")
            + pl.col("eval_key").first()
            + pl.lit(" (")
            + pl.col("kind").first()
            + pl.lit(")")
        )
        reasons.append(
            hit.join(rows.select("row", "key"), on="key").select(
                "row",
                cluster=pl.lit(None, dtype=pl.String),
                kind=pl.lit("eval contamination"),
                reason="reason",
            )
        )
    drop_schema = {"row": pl.UInt32, "cluster": pl.String, "kind": pl.String, "reason": pl.String}
    drops = (
        pl.concat([r.cast(drop_schema).select(list(drop_schema)) for r in reasons])
        if reasons
        else pl.DataFrame(schema=drop_schema)
    )
    # A decision outranks the automatic policy: keep the last reason given per row.
    drops = drops.unique("row", keep="last", maintain_order=True)
    # Everything below lines up by input order. Rows are filtered, not joined and sorted
    # again: each join or sort copies every metadata column (at 5M rows the split plan
    # held 3 such copies at once, the run's peak), and only the columns used below.
    kept = rows.select("row", "key", "label", "split", "groups", *RAW_COLUMNS).filter(
        ~pl.col("row").is_in(drops["row"].implode())
    )
    capped_from: list[str] = []
    if resolution and resolution.caps:
        over = _cap(kept, resolution.caps, split_settings.seed)
        capped_from = _capped_evaluation(kept, over)
        capped = over.join(rows.select("row", "label"), on="row").select(
            "row",
            cluster=pl.lit(None, dtype=pl.String),
            kind=pl.lit("class cap"),
            reason=pl.lit("over the cap for label ") + pl.col("label"),
        )
        drops = pl.concat([drops, capped])
        kept = kept.filter(~pl.col("row").is_in(over["row"].implode()))

    if resolution and resolution.moves:
        # Moving rows between splits only means something for splits kept from the input.
        moved = pl.DataFrame(
            {"key": list(resolution.moves), "moved_to": list(resolution.moves.values())},
            schema={"key": pl.String, "moved_to": pl.String},
        )
        kept = (
            kept.join(moved, on="key", how="left", maintain_order="left")
            .with_columns(split=pl.coalesce("moved_to", "split"))
            .drop("moved_to")
        )
    unit_ids = units(kept, duplicates.linked)
    plan = assign_splits(kept, unit_ids, split_settings)
    groups = kept["groups"]  # in kept's order, which nothing below changes
    kept = kept.select("row", "key", "label", *RAW_COLUMNS)
    assigned = plan.assignment
    if assigned["row"].equals(kept["row"]):  # assign_splits keeps the rows' order
        kept = kept.with_columns(split=assigned["split"])
    else:
        kept = kept.join(assigned.select("row", "split"), on="row", how="left", maintain_order="left")
    remaining = split_leakage(kept.with_columns(groups=groups), kept["split"], _restrict(duplicates, kept))

    dropped = (
        drops.join(rows.select("row", "key", "line", *RAW_COLUMNS), on="row")
        .sort("row")
        .select(list(_DROPPED_SCHEMA))
    )
    bad = dataset.bad_lines.filter(pl.col("excluded")).select(
        key=pl.col("file") + pl.lit(":") + pl.col("line").cast(pl.String),
        file="file",
        line="line",
        kind=pl.lit("bad line"),
        reason="reason",
        cluster=pl.lit(None, dtype=pl.String),
        offset=pl.lit(None, dtype=pl.UInt64),
        length=pl.col("raw").bin.size(),
        raw="raw",
        line_hash=hash_lines(dataset.bad_lines.filter(pl.col("excluded"))["raw"]),
    )
    dropped = pl.concat([dropped.cast(_DROPPED_SCHEMA), bad.cast(_DROPPED_SCHEMA)])
    # "Keep all" on a label conflict keeps the same text under two labels: still unresolved.
    kept_whole = {
        c for c, state in (resolution.cluster_states if resolution else {}).items() if state == KEEP_ALL
    }
    # A reopened cluster (it holds rows its decision did not name) is not settled either.
    reopened = resolution.reopened if resolution else set()
    unresolved = sorted(conflicts - (decided - kept_whole - reopened))
    notes = list(plan.warnings)
    written = kept.get_column("split").value_counts()
    for name in sorted(set(SPLITS) - set(written.get_column("split").to_list()), key=SPLITS.index):
        where = "the input has no rows in it" if plan.source == "existing" else "no rows were placed in it"
        notes.append(f"{name} has no rows ({where}): {name}.jsonl is written empty")
    notes += _stale_split_fields(dataset, kept)
    if plan.source == "existing":
        notes += capped_from
    if reopened:
        notes.append(
            f"{len(reopened):,} decided clusters hold rows their decision did not name (they grew "
            "or merged at this threshold): the decisions' drops stand; decide them again"
        )
    if resolution and resolution.moves and plan.source != "existing":
        # The moves were made between the input's splits; new splits place every row
        # afresh (whole groups together), so none of them applies.
        notes.append(
            f"{many(len(resolution.moves), 'row')} moved between the input's splits "
            f"{'was' if len(resolution.moves) == 1 else 'were'} placed afresh: "
            "the splits are new, so the moves do not apply"
        )
    mixes = {s: v["labels"] for s, v in plan.summary["splits"].items() if v["rows"]}
    notes += label_mix_warnings(mixes, BalanceSettings())
    if unresolved:
        notes.append(
            f"{len(unresolved)} label-conflict clusters are unresolved (no decision, or all kept): "
            "the same input is written with different labels; decide them in the app"
        )
    return ExportPlan(kept, dropped, plan, remaining, unresolved, resolution, drop, notes)


def _stale_split_fields(dataset: Dataset, kept: pl.DataFrame) -> list[str]:
    """A note when rows written to one split's file still name another in their `split`
    field (new splits over given ones): lines are copied as they are, so a reader that
    trusts the field, sfttui included, would take the old split."""
    fielded = [i.name for i in dataset.inputs if i.fields.get("split") == SPLIT_FIELD]
    if not fielded:
        return []
    given = dataset.rows.select("row", "file", given=pl.col("split"))
    stale = (
        kept.select("row", "split")
        .join(given, on="row")
        .filter(
            pl.col("file").is_in(fielded)
            & pl.col("given").is_not_null()
            & (pl.col("given") != pl.col("split"))
        )
    )
    if stale.height == 0:
        return []
    return [
        f"the 'split' field of {many(stale.height, 'row')} names another split than the one written "
        "to (lines are copied as they are): a reader that trusts the field, sfttui included, "
        "takes the old split"
    ]


def _restrict(duplicates: Duplicates, kept: pl.DataFrame) -> Duplicates:
    """The duplicate result limited to kept rows, for the leakage check of the plan."""
    return Duplicates(
        clusters=duplicates.clusters,
        membership=duplicates.membership.join(kept.select("row"), on="row"),
        units=duplicates.units.join(kept.select("row"), on="row"),
        linked=duplicates.linked.join(kept.select("row"), on="row"),
        input=_restrict(duplicates.input, kept) if duplicates.input is not None else None,
        pairs=duplicates.pairs,
        text_pairs=duplicates.text_pairs,
    )


def _write_pieces(path: Path, pieces: Iterable[bytes]) -> str:
    """Write pieces of a file one after another (the whole file is never in memory);
    the sha256 of what was written.

    A second thread writes while this one makes the next pieces and hashes them: on
    this machine writing into the page cache took as long as making and hashing (1M
    chat rows' train split: 0.60 s against 0.23 + 0.35 s). At most three pieces are
    held at once; they are written in order, and a failed write is raised here.
    """
    digest = hashlib.sha256()
    with path.open("wb") as handle, ThreadPoolExecutor(1, thread_name_prefix="sfttui-write") as writer:
        pending: deque[Future[int]] = deque()
        for piece in pieces:
            pending.append(writer.submit(handle.write, piece))
            digest.update(piece)
            if len(pending) > 2:
                pending.popleft().result()
        while pending:
            pending.popleft().result()
        handle.flush()
        os.fsync(handle.fileno())
    return digest.hexdigest()


def _line_hashes(path: Path) -> pl.Series:
    """A 64-bit hash of every line of a written file, read a block at a time.

    Verification compares these instead of the lines: the same multiset check (a
    different line matching by chance has odds of 2**-64) without holding every
    written line, and every input line, in memory at once.
    """
    blocks = read_blocks(path, _READ_BACK)
    hashes = [hash_lines(pl.Series(lines, dtype=pl.Binary)) for lines in split_lines(blocks)]
    return pl.concat(hashes) if hashes else pl.Series(dtype=pl.UInt64)


def _dropped_line_hashes(path: Path) -> pl.Series:
    """The hash of the original line each record of dropped.jsonl holds, a block at a
    time: the records hold whole lines, and parsing all of them at once took 202 MiB
    for the 72k records (58 MB) a 5M-row run drops."""
    parts = [
        hash_lines(pl.Series([_raw_back(orjson.loads(x)) for x in lines if x], dtype=pl.Binary))
        for lines in split_lines(read_blocks(path, _READ_BACK))
    ]
    return pl.concat(parts) if parts else pl.Series(dtype=pl.UInt64)


def _raw_field(raw: bytes) -> dict[str, str]:
    """The original line as text, or base64 when it is not valid UTF-8 (a bad line)."""
    try:
        return {"raw": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"raw_base64": base64.b64encode(raw).decode("ascii")}


def _raw_back(record: dict[str, Any]) -> bytes:
    if "raw_base64" in record:
        return base64.b64decode(record["raw_base64"])
    return str(record["raw"]).encode("utf-8")


def _dropped_lines(dropped: pl.DataFrame, dataset: Dataset) -> Iterator[bytes]:
    """dropped.jsonl, a slice at a time: each record with its original line."""
    for lo in range(0, dropped.height, _DROPPED_SLICE):
        part = dropped.slice(lo, _DROPPED_SLICE)
        raws = read_lines(part, dataset.sources)
        if None in raws:
            raise ExportError(_changed(dataset))
        yield b"".join(_dropped_record(row, raw) for row, raw in zip(part.iter_rows(), raws))


def _dropped_record(row: tuple, raw: bytes) -> bytes:
    key, file, line, kind, reason, cluster = row[:6]
    return (
        orjson.dumps(
            {
                "key": key,
                "file": file,
                "line": line,
                "kind": kind,
                "reason": reason,
                "cluster": cluster,
                **_raw_field(raw),
            }
        )
        + b"\n"
    )


def _first_change(dataset: Dataset) -> str | None:
    """Why the first input that is no longer as it was loaded differs, or None."""
    return next((why for why in (s.changed() for s in dataset.sources.values()) if why), None)


def _changed(dataset: Dataset) -> str:
    why = _first_change(dataset) or "an input file has changed since it was loaded"
    return f"{why}; nothing was written"


@dataclass
class ExportResult:
    out: Path
    manifest: dict[str, Any]
    verified: list[str]  # what the read-back checked
    problems: list[str]  # what the read-back found wrong (empty when all is well)
    recovered: list[str] = field(default_factory=list)  # leftovers of a crashed write, mended
    # False when the read-back found problems: the files were then never put at `out`,
    # which holds what it held before (an earlier output, or nothing).
    installed: bool = True

    @property
    def not_written(self) -> str:
        """What to tell the person when the output was not installed."""
        return f"not written: the output failed its check; {self.out} is as it was"


def write_export(
    plan: ExportPlan,
    dataset: Dataset,
    out: str | os.PathLike[str],
    *,
    force: bool = False,
    settings: ScanSettings | None = None,
    extra: dict[str, Any] | None = None,
    fail_after: str | None = None,
    duplicates: Duplicates | None = None,
    protected: Iterable[Protected] = (),
) -> ExportResult:
    """Write the plan beside `out`, read it back and verify it, then put it at `out` in one
    rename; an output whose check finds problems is removed, never put there.

    `duplicates` (the clusters the plan was made from) lets the verification check the
    written files against them instead of scanning the files afresh (see verify_export).
    `fail_after` names an output file after which to raise, for tests of atomicity.
    `protected` are paths the output must not be or hold (the inputs are added here):
    see outdir.check_output for what may be replaced.
    """
    protected = [*(Protected(Path(i.path), "input") for i in dataset.inputs), *protected]
    place = Path(out).resolve()
    made = [d for d in (place.parent, *place.parent.parents) if not d.exists()]  # deepest first
    try:
        place.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _undo(None, made)
        if isinstance(exc, (FileExistsError, NotADirectoryError)):  # a file where a folder should be
            ancestors = (place.parent, *place.parent.parents)
            blocker = next((d for d in ancestors if d.exists() and not d.is_dir()), place.parent)
            raise OutputRefused(f"cannot write {out}: {blocker} is a file, not a folder") from None
        raise
    with one_writer(place) as exclusive:
        return _write_locked(
            plan, dataset, out, protected, force, made, settings, extra, duplicates, fail_after, exclusive
        )


def _write_locked(
    plan: ExportPlan,
    dataset: Dataset,
    out: str | os.PathLike[str],
    protected: list[Protected],
    force: bool,
    made: list[Path],
    settings: ScanSettings | None,
    extra: dict[str, Any] | None,
    duplicates: Duplicates | None,
    fail_after: str | None,
    exclusive: bool,
) -> ExportResult:
    # First put back what a crashed write left aside, then judge; only a write that may
    # go ahead removes the rest of what crashed writes left.
    recovered = recover(Path(out).resolve(), protected, exclusive)
    try:
        target = check_output(out, protected, force)
    except OutputRefused as exc:
        _undo(None, made)
        raise OutputRefused("; ".join([*recovered, str(exc)])) from None
    recovered += clear_leftovers(target, protected, exclusive)
    tmp: Path | None = None
    try:
        tmp = make_temporary(target)
        if _first_change(dataset):
            raise ExportError(_changed(dataset))
        written: dict[str, str] = {}
        read_back: dict[str, pl.Series] = {}
        for name in SPLITS:
            path = tmp / f"{name}.jsonl"
            rows = plan.kept.filter(pl.col("split") == name)
            try:
                written[path.name] = _write_pieces(path, stream_lines(rows, dataset.sources))
            except InputError as exc:  # an input went away or shrank while it was copied
                raise ExportError(f"{exc}; nothing was written") from None
            # The lines came from the input files: each must be the line that was loaded.
            read_back[name] = _line_hashes(path)
            if not read_back[name].equals(rows["line_hash"], check_names=False):
                raise ExportError(_changed(dataset))
            if fail_after == path.name:
                raise OSError(f"simulated failure after {path.name}")
        path = tmp / "dropped.jsonl"
        written[path.name] = _write_pieces(path, _dropped_lines(plan.dropped, dataset))
        manifest = _manifest(plan, dataset, settings, written, extra or {})
        # On disk before the rename, the manifest last: a power cut must not leave an
        # output whose manifest is empty (the next write would refuse it as not sfttui's).
        _write_pieces(tmp / "manifest.json", [orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n"])
        (tmp / UNFINISHED).unlink()  # complete: a leftover of it is judged by its manifest now
        sync_directory(tmp)
        # Checked before it replaces anything: an output that fails its check must not
        # take the place of an earlier one that passed.
        verified, problems = verify_export(tmp, plan, dataset, settings, duplicates, read_back)
        if problems:
            _undo(tmp, made)
            return ExportResult(target, manifest, verified, problems, recovered, installed=False)
        # Asked again last: a line appended to an input while the files were written is
        # in none of them, and the manifest would say every input line is in one.
        if _first_change(dataset):
            raise ExportError(_changed(dataset))
        recovered += replace_directory(tmp, target)
        sync_directory(target.parent)
    except BaseException as exc:
        _undo(tmp, made)
        # What was restored or removed beside the output stays done: the error says so.
        if recovered and isinstance(exc, (SfttuiError, OSError)):
            exc.__notes__ = [*getattr(exc, "__notes__", []), *(f"recovered: {m}" for m in recovered)]
        raise
    return ExportResult(target, manifest, verified, problems, recovered)


def _undo(tmp: Path | None, made: list[Path]) -> None:
    """A write that did not finish leaves nothing: its temporary directory goes, and so do
    the parent directories it made for --out, each only while it is empty."""
    if tmp is not None:
        remove_unfinished(tmp)
    for directory in made:
        try:
            directory.rmdir()
        except (FileNotFoundError, NotADirectoryError):
            continue  # not made after all: the mkdir failed above it
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                continue  # the name the mkdir failed on
            break  # something else is in it now


def _manifest(
    plan: ExportPlan,
    dataset: Dataset,
    settings: ScanSettings | None,
    written: dict[str, str],
    extra: dict[str, Any],
) -> dict[str, Any]:
    kept = plan.kept
    per_label = kept.group_by("split", "label").len().sort(["split", "label"], nulls_last=True).iter_rows()
    labels: dict[str, dict[str, int]] = {s: {} for s in SPLITS}
    for split, label, n in per_label:
        labels[split][label if label is not None else "(none)"] = n
    converted = [i.name for i in dataset.inputs if i.container != "jsonl"]
    res = plan.resolution
    return {
        "schema": "sfttui.manifest/1",
        "sfttui": __version__,
        "inputs": [
            {
                "path": i.path,
                "name": i.name,
                "sha256": i.sha256,
                "bytes": i.size,
                "rows": i.rows,
                "format": i.format,
            }
            for i in dataset.inputs
        ],
        "settings": {
            **(settings.to_dict() if settings else {}),
            "split": plan.split_plan.settings.to_dict(),
            "drop": plan.drop_policy,
        },
        "seed": plan.split_plan.settings.seed,
        "splits_from": plan.split_plan.source,
        "written_as_jsonl": converted,
        "decisions": {
            "applied": [d.to_json() for d in res.applied] if res else [],
            "not_applied": res.stale if res else [],
            "caps": res.caps if res else {},
            "deliberate_imbalance": res.deliberate if res else {},
            "labelling_rules": res.rules if res else {},
        },
        "counts": plan.counts(),
        "labels": labels,
        "groups": {s: v["groups"] for s, v in plan.split_plan.summary["splits"].items() if s in SPLITS},
        "ratios": {s: v["ratio"] for s, v in plan.split_plan.summary["splits"].items() if s in SPLITS},
        "leakage_remaining": plan.leakage_remaining.to_dicts(),
        "unresolved_conflicts": plan.unresolved_conflicts,
        "warnings": plan.notes,
        "outputs": written,
        **extra,
    }


def _clusters_across(
    written: pl.DataFrame, dataset: Dataset, row_hashes: pl.Series, duplicates: Duplicates
) -> list[str]:
    """Problems: a line written to two files, or a duplicate cluster whose rows the files split.

    `written` holds the hash `h` and split number `s` of every written line (see
    _line_hashes), and `row_hashes` the same hash of every input row's line. Splits
    are compared as numbers and spans as (lowest, highest): lists of split names per
    line were the export's largest holding at 5M rows. The written hashes are indexed
    sorted (lookup.SortedIndex), not grouped by Polars: the group-by's table of a million
    hashes was the highest point of a 1M-row run (+140-210 MB).
    """
    problems: list[str] = []
    if not written.height:
        return problems
    index = SortedIndex.of(written["h"].to_numpy(), written["s"].to_numpy())
    lo = np.minimum.reduceat(index.items, index.start)  # each distinct line's lowest split
    twice = int(np.count_nonzero(lo != np.maximum.reduceat(index.items, index.start)))
    if twice:
        problems.append(
            f"{many(twice, 'line')} {'is' if twice == 1 else 'are'} written to more than one split"
        )
    # Only the rows of duplicate clusters are traced: each to the split its line is in.
    linked = duplicates.linked.join(dataset.rows.select("row").with_columns(h=row_hashes), on="row")
    found, at = index.find(linked["h"].to_numpy())
    spread = (
        linked[found]
        .select("component", s=pl.Series(lo[at]))
        .group_by("component")
        .agg(lo=pl.col("s").min(), hi=pl.col("s").max())
        .filter(pl.col("lo") != pl.col("hi"))
    )
    if spread.height:
        problems.append(f"duplicate groups crossing the written splits: {spread.height:,}")
    return problems


def verify_export(
    out: Path,
    plan: ExportPlan,
    dataset: Dataset,
    settings: ScanSettings | None = None,
    duplicates: Duplicates | None = None,
    read_back: dict[str, pl.Series] | None = None,
) -> tuple[list[str], list[str]]:
    """Read the outputs back: every input line in exactly one file, and no leakage left.

    `read_back` holds the line hashes of each split file as write_export read them
    from disk (the same files, before they were moved into place), so they are not
    read and hashed twice.

    With the clusters the plan was made from, each written line is traced back to its
    input row by a 64-bit hash of its bytes, and no cluster may span two written files: the same check
    a fresh scan of the files would make (the same engine finds the same pairs, and
    dropped rows can only remove pairs), at a fraction of the cost (a fresh scan parses
    and shingles everything again). Without them, the written splits are scanned afresh.
    """
    checks: list[str] = []
    problems: list[str] = []
    row_hashes = dataset.rows["line_hash"]
    expected = pl.concat([row_hashes, hash_lines(dataset.bad_lines.filter(pl.col("excluded"))["raw"])])
    got_parts = []
    for name in SPLITS:
        hashes = read_back[name] if read_back else _line_hashes(out / f"{name}.jsonl")
        want = int((plan.kept["split"] == name).sum())
        if len(hashes) != want:
            problems.append(f"{name}.jsonl has {many(len(hashes), 'line')}, expected {want:,}")
        got_parts.append(hashes)
    written = pl.concat(
        [
            part.to_frame("h").with_columns(s=pl.lit(k, dtype=pl.UInt8))
            for k, part in enumerate(got_parts[: len(SPLITS)])
        ]
    )
    got_parts.append(_dropped_line_hashes(out / "dropped.jsonl"))
    got = pl.concat(got_parts)
    same = expected.len() == got.len() and expected.sort().equals(got.sort())
    checks.append(f"{many(expected.len(), 'input line')}, each in exactly one output file")
    if not same:
        problems.append(
            f"outputs hold {many(got.len(), 'line')}, inputs {expected.len():,}, or their contents differ"
        )
    # Leakage: scan the written splits afresh, as a user of them would.
    settings = settings or ScanSettings()
    # With the near search off, only exact copies were ever looked for: say so, never
    # "no near duplicate".
    kinds = "exact or near" if settings.near.enabled else "exact"
    unsearched = "" if settings.near.enabled else "; near duplicates not searched (near search off)"
    split_files = [out / f"{s}.jsonl" for s in SPLITS if (out / f"{s}.jsonl").stat().st_size]
    if len(split_files) > 1 and plan.split_plan.source == "new" and duplicates is not None:
        problems += _clusters_across(written, dataset, row_hashes, duplicates)
        # The scan's clusters: near pairs are found by MinHash, so with high recall, not all.
        checks.append(
            f"no {kinds} duplicate cluster the scan found crosses the written splits (traced from the "
            f"files){unsearched}"
        )
    elif len(split_files) > 1 and plan.split_plan.source == "new":
        # The rows' own fields may still name their old split: the file decides here.
        reread = load(split_files, replace(settings.load, max_row_bytes=1 << 40)).rows
        reread = reread.with_columns(split=pl.col("file").str.replace(r"\.jsonl$", ""))
        dup = find_duplicates(reread, settings.normalize, settings.near)
        hits = split_leakage(reread, reread["split"], dup)
        dup_hits = hits.filter(pl.col("kind") != "group")
        checks.append(f"no {kinds} duplicate across the written splits (re-scanned){unsearched}")
        if dup_hits.height:
            problems.append(f"{dup_hits.height:,} duplicate pairs cross the written splits")
    return checks, problems

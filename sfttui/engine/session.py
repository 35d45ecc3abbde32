"""One person's working session over a dataset: analyses, decisions, splits, export.

The app keeps one Session and calls it from workers; the Session knows nothing of the
UI. Every decision goes through here into the journal at once, and the per-cluster
decision state the app shows is derived from the journal, never kept beside it.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from .analyses.balance import Balance
from .analyses.coverage import Coverage
from .analyses.dedup import Duplicates
from .analyses.drift import Drift
from .analyses.leakage import Leakage, given_split_leakage
from .analyses.lengths import Lengths
from .analyses.outliers import Outliers
from .analyses.quality import Quality
from .analyses.representativeness import Representativeness
from .analyses.split import SplitSettings
from .decisions import Decision, Journal, Resolution, Resolver, content_hash, named_rows, recorded_clustering
from .errors import SfttuiError
from .export import DropPolicy, ExportPlan, ExportResult, plan_export, write_export
from .io.atomic import write_bytes_atomic
from .io.load import Dataset, check_inputs, data_stem
from .io.outdir import OutputRefused, Protected, check_output
from .io.rawlines import RAW_COLUMNS, read_lines
from .isolated import run_scan_isolated
from .registry import leakage_unchecked, splits_to_compare
from .runtime.memory import release
from .runtime.parallel import LOCAL, Engine
from .runtime.progress import Progress, no_progress
from .scan import ScanResult, run_scan
from .settings import LOWEST_THRESHOLD, ScanSettings

EXPLORE_BELOW = 0.15  # pairs are verified this far below the threshold, for the slider
_FIND_SLICE = 100_000  # rows whose lines are read and hashed at once when looking for moved rows


class NotAnalysed(RuntimeError):
    """A session's results were asked for before `analyse` gave them."""


@dataclass(frozen=True)
class Workspace:
    """Everything an analysis gave, all of it at once: no result is ever missing. A new
    analysis is a step of the registry and read as `scan.<its name>`."""

    scan: ScanResult
    journal: Journal


@dataclass
class Session:
    paths: list[str]
    settings: ScanSettings = field(default_factory=ScanSettings)
    split: SplitSettings = field(default_factory=SplitSettings)
    state_dir: str | None = None
    out_dir: str | None = None
    drop: DropPolicy = "exact"
    keep_contaminated: bool = False  # report rows matching an eval set instead of dropping them
    explore: bool = True  # verify pairs below the threshold too, so it can move without a rescan
    engine: Engine = LOCAL  # where the row-scale stages run (see parallel.py)
    isolate: bool = False  # analyse in a child process (see isolated.py), for the app
    writes_state: bool = True  # keep a journal (the app); `split` only reads one
    spill: bool = False  # the rows' texts in temporary files while analysing (--low-memory)
    # The seed and re-split chosen in the app (a journal decision) apply, unless the
    # command line set them (`split --seed 7`): then `split` is left as given.
    split_from_journal: bool = True
    # Likewise the near threshold last set in the app, unless `--threshold` was given.
    threshold_from_journal: bool = True
    # Where recorded rows are now, by (key, line hash): see _locate.
    _located: dict[tuple[str, str], str | None] = field(default_factory=dict, repr=False, compare=False)

    workspace: Workspace | None = None  # set by analyse, whole
    # resolution()'s last answer, with what it was worked out from and the decision count.
    _resolution: tuple[tuple[Any, ...], int, Resolution] | None = field(
        default=None, repr=False, compare=False
    )
    # The decisions resolved so far, and what they were resolved against (see resolution).
    _resolver: tuple[tuple[Any, ...], Resolver] | None = field(default=None, repr=False, compare=False)
    # The screen's thread and a plan worker may both ask: one adds to the resolver at a time.
    _resolving: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # --- analyses -------------------------------------------------------------------
    def analyse(self, progress: Progress = no_progress) -> None:
        """Load and run every analysis (as `scan` does); raises InputError for unreadable input."""
        # Clustered where the person left the threshold, with bands for the floor they
        # had, so the decisions made there find their clusters and `split` writes what
        # `w` wrote (the whole scan: leakage and coverage use the threshold too).
        asked = self._recorded_clustering() if self._follows_journal else None
        result = self._scan(asked, progress)
        journal = Journal.open(result.dataset.inputs, self.state_dir, create=self.writes_state)
        wanted = journal.clustering() if self._follows_journal else None
        if wanted != asked:
            # The journal read before the scan was not this data's (an edit undone
            # since, sizes alike): scanned again as this data's says, rare.
            result = self._scan(wanted, progress)
        self._located = {}
        self.workspace = Workspace(result, journal)

    @property
    def _follows_journal(self) -> bool:
        """Whether the analysis clusters at the threshold the journal records: unless
        `--threshold` was given, and not without near matching."""
        return self.threshold_from_journal and self.settings.near.enabled

    def threshold_set_in_app(self) -> float | None:
        """The near threshold set in the app that this analysis is at, or None."""
        return self.journal.threshold() if self._follows_journal else None

    def _scan(self, clustering: tuple[float, float | None] | None, progress: Progress) -> ScanResult:
        settings, floor = self.settings, None
        if clustering is not None:
            threshold, floor = clustering
            settings = replace(settings, near=replace(settings.near, threshold=threshold))
        if floor is None and self.explore:
            floor = max(LOWEST_THRESHOLD, settings.near.threshold - EXPLORE_BELOW)
        if self.isolate and self.engine is LOCAL:
            return run_scan_isolated(self.paths, settings, progress, explore_floor=floor)
        return run_scan(
            self.paths, settings, progress, explore_floor=floor, engine=self.engine, spill=self.spill
        )

    def _recorded_clustering(self) -> tuple[float, float | None] | None:
        try:
            files, _ = check_inputs(self.paths, self.settings.load)
        except SfttuiError:
            return None  # the scan says what is wrong with them
        return recorded_clustering(files, self.state_dir)

    # --- the results, once analysed ----------------------------------------------------
    @property
    def ready(self) -> bool:
        """Whether `analyse` has given the results."""
        return self.workspace is not None

    @property
    def results(self) -> Workspace:
        if self.workspace is None:
            raise NotAnalysed("the session has not been analysed yet")
        return self.workspace

    @property
    def dataset(self) -> Dataset:
        return self.results.scan.dataset

    @property
    def duplicates(self) -> Duplicates:
        return self.results.scan.duplicates

    @property
    def balance(self) -> Balance:
        return self.results.scan.balance

    @property
    def leakage(self) -> Leakage:
        return self.results.scan.leakage

    @property
    def coverage(self) -> Coverage:
        return self.results.scan.coverage

    @property
    def representativeness(self) -> Representativeness:
        return self.results.scan.representativeness

    @property
    def quality(self) -> Quality:
        return self.results.scan.quality

    @property
    def lengths(self) -> Lengths:
        return self.results.scan.lengths

    @property
    def drift(self) -> Drift:
        return self.results.scan.drift

    @property
    def outliers(self) -> Outliers:
        return self.results.scan.outliers

    @property
    def journal(self) -> Journal:
        return self.results.journal

    @property
    def threshold(self) -> float:
        return self.duplicates.threshold if self.ready else self.settings.near.threshold

    def leakage_unchecked(self) -> str | None:
        """Why the leakage check did not run on everything it names, or None."""
        return leakage_unchecked(self.results.scan)

    def splits_to_compare(self) -> bool:
        return splits_to_compare(self.results.scan)

    def set_threshold(self, threshold: float) -> None:
        """Cluster at `threshold` and record it, so the next start and `split` cluster
        there too (a window that cannot write moves it for itself)."""
        duplicates = self.duplicates.at_threshold(threshold)
        # The hits between the given splits are those of the clusters in force: which rows
        # leak depends on the threshold, and a move takes a hit's group by the group ids of
        # these clusters (the scan's named other groups, or none). Eval items' near hits
        # are those at the threshold too (found down to the floor).
        leakage = self.leakage.at_threshold(threshold, given_split_leakage(self.dataset, duplicates))
        if not self.journal.read_only:  # saved before it shows, as every decision is
            self._journal_clustering(threshold)
            self.threshold_from_journal = True  # set here: it applies whatever the command line said
        # Hard negatives are alike rows of different labels in no cluster together, below it.
        coverage = self.coverage.at_threshold(threshold, duplicates)
        self.workspace = replace(
            self.results,
            scan=replace(self.results.scan, duplicates=duplicates, leakage=leakage, coverage=coverage),
        )

    @property
    def floor(self) -> float:
        ctx = self.duplicates.context if self.ready else None
        return ctx.floor if ctx else self.threshold

    # --- decisions ------------------------------------------------------------------
    def resolution(self) -> Resolution:
        # Every tab that shows decisions asks for this after each one; the lookups below
        # cost ~8 ms at a million rows, so one answer serves until the next decision.
        of = (self.journal, self.dataset, self.duplicates)
        count = len(self.journal.decisions)
        cached = self._resolution
        if cached is not None and cached[1] == count and all(a is b for a, b in zip(cached[0], of)):
            return cached[2]
        with self._resolving:
            return self._resolve(of, count)

    def _resolve(self, of: tuple[Any, ...], count: int) -> Resolution:
        decisions = self.journal.effective()
        # The answer so far is added to while decisions are only added (no undo since, the
        # same rows and clusters); otherwise every decision is resolved again.
        resolver = self._resolver
        same = resolver is not None and all(a is b for a, b in zip(resolver[0], of))
        if resolver is None or not same or not resolver[1].continues(decisions):
            resolver = (of, Resolver())
            self._resolver = resolver
        new = decisions[len(resolver[1].seen) :]
        # Only the keys and clusters the new decisions name are looked up: a set of every
        # row key (a million Python strings) would hold the GIL for half a second.
        named = {k for d in new for k in named_rows(d) if k is not None}
        # By (key, hash): two decisions on one key may have seen two different lines there
        # (one before an edit of the input, one after), and each is judged by its own.
        recorded = {(k, h) for d in new for k, h in d.payload.get("content", {}).items()}
        where = self._locate(recorded)
        present = set(self._rows_of(named - {k for k, _ in recorded}))
        clusters = _present(self.duplicates.clusters["id"], {d.payload.get("cluster") for d in new})
        cluster_of = self._clusters_of({k for k in where.values() if k is not None} | present)
        resolver[1].add(
            new,
            present,
            clusters,
            where,
            cluster_of,
            self._members_of(clusters | {c for found in cluster_of.values() for c in found}),
            lambda cluster: self.duplicates.copies_disagree(cluster, self.dataset.rows["label"]),
        )
        found = resolver[1].snapshot()
        self._resolution = (of, count, found)
        return found

    # --- rows followed by content -----------------------------------------------------
    def _rows_of(self, keys: list[str] | set[str]) -> dict[str, int]:
        """The row number of each of these keys that exists."""
        return self.dataset.rows_of(keys)

    def _hashes(self, rows: list[int]) -> list[str]:
        """A stable hash of each row's original line ("" when it cannot be read back)."""
        return [content_hash(line) if line is not None else "" for line in self.dataset.raw_lines(rows)]

    def content(self, keys: list[str]) -> dict[str, str]:
        """What a decision records of the rows it names: key -> stable hash of the line."""
        rows = self._rows_of(keys)
        named = [k for k in keys if k in rows]
        return dict(zip(named, self._hashes([rows[k] for k in named])))

    def _locate(self, recorded: set[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
        """Where each recorded row (key, hash of its line then) is now: its own key when
        that row still holds the same line, else the key of a row holding that line (an
        edit elsewhere moved it), else None (the row itself changed or went). Rows that
        held the same line (exact duplicates) are found again as as many rows.

        The data does not change while the session runs, so each (key, hash) is looked
        up once: after `A` has recorded a hundred thousand rows, the next decision reads
        only the lines of the rows it names, not all of them again.
        """
        known = self._located
        new = sorted(pair for pair in recorded if pair not in known)
        if new:
            rows = self._rows_of({k for k, _ in new})
            there = [(k, h) for k, h in new if k in rows]
            now = self._hashes([rows[k] for k, _ in there])
            found = {(k, h): k for (k, h), line in zip(there, now) if line == h}
            lost: dict[str, list[tuple[str, str]]] = {}
            for k, h in new:
                if (k, h) not in found:
                    lost.setdefault(h, []).append((k, h))
            if lost:
                taken = set(found.values()) | {v for v in known.values() if v is not None}
                wanted = {h: len(pairs) for h, pairs in lost.items()}
                for h, keys in self._find_lines(wanted, taken).items():
                    found.update(zip(lost[h], keys))
            known.update({pair: found.get(pair) for pair in new})
        return {pair: known[pair] for pair in recorded}

    def _find_lines(self, wanted: dict[str, int], taken: set[str]) -> dict[str, list[str]]:
        """For each wanted hash, the keys of up to that many rows (not `taken`) whose line
        has it, first rows first, read a slice at a time (only when decisions name rows
        that moved: after an edit of the input)."""
        rows = self.dataset.rows
        found: dict[str, list[str]] = {}
        short = dict(wanted)
        for lo in range(0, rows.height, _FIND_SLICE):
            part = rows.slice(lo, _FIND_SLICE)
            lines = read_lines(part.select(*RAW_COLUMNS), self.dataset.sources)
            for key, line in zip(part["key"].to_list(), lines):
                if line is None or key in taken:
                    continue
                h = content_hash(line)
                if short.get(h, 0) > 0:
                    found.setdefault(h, []).append(key)
                    short[h] -= 1
            if not any(short.values()):
                break
        return found

    def _clusters_of(self, keys: set[str]) -> dict[str, list[str]]:
        """The clusters (either side) each of these rows belongs to."""
        return self._membership("key", keys, "cluster")

    def _members_of(self, clusters: set[str]) -> dict[str, set[str]]:
        """The row keys of each of these clusters."""
        return {c: set(keys) for c, keys in self._membership("cluster", clusters, "key").items()}

    def _membership(self, by: str, wanted: set[str], beside: str) -> dict[str, list[str]]:
        """For each wanted value of the membership column `by`, the values of `beside`."""
        if not wanted:
            return {}
        members = self.duplicates.membership.filter(pl.col(by).is_in(list(wanted)))
        out: dict[str, list[str]] = {}
        for value, other in members.select(by, beside).iter_rows():
            out.setdefault(value, []).append(other)
        return out

    def cluster_states(self) -> dict[str, str]:
        """cluster id -> what was decided ("keep <key>" or "keep all"), from the journal."""
        return dict(self._cluster_states())

    def cluster_state(self, cluster_id: str) -> str | None:
        """What was decided for one cluster ("keep <key>", "keep all"), or None."""
        return self._cluster_states().get(cluster_id)

    def _cluster_states(self) -> dict[str, str]:
        # From the resolution, so a decision shows on its cluster even when the data
        # changed and the cluster's id with it (the resolution is cached per decision).
        return self.resolution().cluster_states

    def decided_clusters(self) -> int:
        """How many of the current clusters have a decision."""
        return sum(self.duplicates.has_cluster(c) for c in self._cluster_states())

    def cluster(self, cluster_id: str) -> dict[str, Any]:
        return self.duplicates.cluster(cluster_id)

    def keep(self, cluster_id: str, keeper: str | None = None) -> Decision:
        """Keep one member (the proposed keeper by default) and drop the members within
        the threshold of it (every other member, for the proposed keeper)."""
        return self.journal.append("keep", **self._keep_payload(self.cluster(cluster_id), keeper))

    def _keep_payload(self, c: dict[str, Any], keeper: str | None = None) -> dict[str, Any]:
        """A keep decision's fields: the keeper (the proposed one by default), the members
        within the threshold of it to drop, and the hashes of the rows it names."""
        keeper = keeper or c["keeper"]
        drop = self.duplicates.drops_for(c["id"], keeper)
        named = dict(zip(c["members"], c["rows"]))
        content = dict(zip([keeper, *drop], self._hashes([named[k] for k in [keeper, *drop]])))
        return {"cluster": c["id"], "keeper": keeper, "drop": drop, "kind": c["kind"], "content": content}

    def majority_keeps(self, cluster_ids: list[str]) -> tuple[list[tuple[str, dict[str, Any]]], int]:
        """For the undecided label-conflict clusters among `cluster_ids` whose labels have
        one most common: keep the first member of that label and drop the members within
        the threshold of it. The keep decisions to make, and how many clusters tie."""
        decided = self.cluster_states()
        labels = self.dataset.rows.get_column("label")
        items: list[tuple[str, dict[str, Any]]] = []
        ties = 0
        for cluster_id in cluster_ids:
            c = self.cluster(cluster_id)
            if cluster_id in decided or not c["conflict"]:
                continue
            member_labels = [labels[r] for r in c["rows"]]
            top = Counter(lab for lab in member_labels if lab is not None).most_common(2)
            if not top or (len(top) > 1 and top[0][1] == top[1][1]):
                ties += 1
                continue
            items.append(("keep", self._keep_payload(c, c["members"][member_labels.index(top[0][0])])))
        return items, ties

    def keep_majority(self, cluster_ids: list[str]) -> int:
        """Make `majority_keeps`'s decisions as one batch (one undo reverses it)."""
        items, _ = self.majority_keeps(cluster_ids)
        return len(self.journal.append_many(items, batch=True))

    def keep_all(self, cluster_id: str) -> Decision:
        c = self.cluster(cluster_id)
        content = dict(zip(c["members"], self._hashes(c["rows"])))
        return self.journal.append("keep_all", cluster=cluster_id, content=content)

    def marked_hard_negatives(self) -> pl.Series:
        """Row numbers of the near conflicts marked as hard negatives and still kept: a later
        decision under another cluster id (the threshold moved) may drop a marked row, and
        a row in no split counts on no scorecard."""
        found = self.resolution()
        keys = found.hard_negatives - found.dropped.keys()
        rows = self._rows_of(keys)
        return pl.Series([rows[k] for k in sorted(keys) if k in rows], dtype=pl.UInt32)

    def not_a_hard_negative(self, cluster_id: str) -> str | None:
        """Why a cluster cannot be marked a hard negative, or None when it can."""
        c = self.cluster(cluster_id)
        if not c["conflict"] or c["kind"] != "near":
            return "only a near label conflict can be a hard negative; an exact one stays a conflict"
        if self.duplicates.copies_disagree(cluster_id, self.dataset.rows["label"]):
            what = "input" if c["side"] == "input" else "text"
            return (
                f"this cluster holds the same {what} under two labels: no word decides it, so it "
                "stays a conflict"
            )
        return None

    def mark_hard_negative(self, cluster_id: str) -> Decision:
        """A near label conflict is a hard negative (the words that differ decide the
        label): both rows are kept, and they count on the hard-data scorecard. An exact
        conflict (the same input under two labels), alone or inside a near cluster, cannot
        be one: ValueError."""
        refused = self.not_a_hard_negative(cluster_id)
        if refused:
            raise ValueError(refused)
        c = self.cluster(cluster_id)
        content = dict(zip(c["members"], self._hashes(c["rows"])))
        return self.journal.append("hard_negative", cluster=cluster_id, content=content)

    def _undecided_exact(self) -> pl.DataFrame:
        decided = list(self.cluster_states())
        return self.duplicates.clusters.filter(
            (pl.col("side") == "example")
            & (pl.col("kind") == "exact")
            & ~pl.col("conflict")
            & ~pl.col("id").is_in(decided)
        )

    def accept_all_exact(self) -> int:
        """Accept the proposed keeper of every undecided exact, conflict-free cluster.

        One journal entry per cluster, written in one go as one batch: one undo reverses
        them all.
        """
        todo = self._undecided_exact().select("id", "keeper", "members", "rows")
        hashes = iter(self._hashes([r for rows in todo["rows"].to_list() for r in rows]))
        items = [
            (
                "keep",
                {
                    "cluster": cid,
                    "keeper": keeper,
                    "drop": [k for k in members if k != keeper],
                    "kind": "exact",
                    "content": {k: next(hashes) for k in members},
                },
            )
            for cid, keeper, members, _ in todo.iter_rows()
        ]
        return len(self.journal.append_many(items, batch=True))

    def undecided_exact(self) -> int:
        return self._undecided_exact().height

    def drop_rows(self, keys: list[str], reason: str, cluster: str | None = None) -> Decision:
        return self.journal.append(
            "drop_rows", keys=keys, reason=reason, cluster=cluster, content=self.content(keys)
        )

    def move_rows(self, keys: list[str], split: str, reason: str) -> Decision:
        return self.journal.append(
            "move_rows", keys=keys, split=split, reason=reason, content=self.content(keys)
        )

    def group_keys(self, kind: str, detail: str) -> list[str]:
        """Row keys of a leakage hit's whole unit: its group of duplicates (every row joined
        to it by copies or near pairs, which a split keeps together) or its group value."""
        rows = self.dataset.rows
        if kind == "group":
            hit = rows.filter(pl.col("groups").list.contains(detail))
        else:
            linked = self.duplicates.linked.filter(pl.col("component") == detail)
            hit = rows.join(linked.select("row"), on="row")
        return hit["key"].to_list()

    def cap(self, label: str, max_rows: int) -> Decision:
        if type(max_rows) is not int or not 0 <= max_rows < 2**63:  # as the journal reads it back
            raise ValueError(f"a cap is a number of rows, 0 or more: {max_rows!r}")
        return self.journal.append("cap", label=label, max_rows=max_rows)

    def deliberate(self, label: str, note: str = "marked deliberate in the app") -> Decision:
        return self.journal.append("deliberate", label=label, note=note)

    def state_rule(self, keys: list[str], rule: str) -> Decision:
        """Record the labelling rule that decides these (ambiguous) rows."""
        return self.journal.append("rule", keys=keys, rule=rule, content=self.content(keys))

    def undo(self) -> Decision | None:
        return self.journal.undo()

    # --- position (where the person was), kept beside the journal --------------------
    def _position_path(self) -> Path:
        return self.journal.path.with_name(f"position-{self.journal.fingerprint}.json")

    def save_position(self, position: dict[str, Any]) -> None:
        """Where the person was (raises OSError, e.g. a full disk: the caller says so)."""
        if self.journal.read_only:
            return  # the window holding the journal keeps the position
        write_bytes_atomic(self._position_path(), orjson.dumps(position))

    def load_position(self) -> dict[str, Any]:
        try:
            return orjson.loads(self._position_path().read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}

    # --- splits and export ----------------------------------------------------------
    def plan(self) -> ExportPlan:
        eval_hits = None if self.keep_contaminated else self.leakage.eval_hits
        resolution = self.resolution()
        plan = plan_export(
            self.dataset, self.duplicates, self.split_settings, self.drop, resolution, eval_hits
        )
        # The plan's NumPy counts were freed to the C heap, where the export's Polars
        # buffers cannot reuse them: handed back, as between the scan's stages.
        release()
        return plan

    @property
    def split_settings(self) -> SplitSettings:
        """How new splits are made: as given, with the seed and re-split chosen in the app."""
        chosen = self.resolution().split if self.ready and self.split_from_journal else None
        return replace(self.split, **chosen) if chosen else self.split

    def choose_split(self, seed: int, resplit: bool) -> Decision:
        """Journal a new seed or a re-split of the input's splits (`r` on Splits), so the
        next start and `sfttui split` make the same splits."""
        self.split_from_journal = True  # chosen here: it applies whatever the command line said
        return self.journal.append("split", seed=seed, resplit=resplit)

    def default_out(self) -> Path:
        if self.out_dir:
            return Path(self.out_dir)
        first = Path(self.paths[0]).resolve()
        return first.parent / f"{data_stem(first.name)}-splits"

    def record_clustering(self) -> None:
        """Journal the threshold the clusters are at and the floor their pairs were
        verified down to, unless the journal says so already: `split` then bands and
        clusters as this session did, and writes what it writes (`w`). Raises OSError
        when the journal cannot be written."""
        if self.journal.read_only or not self.settings.near.enabled:
            return
        if self.journal.clustering() != (self.threshold, self.floor):
            self._journal_clustering(self.threshold)

    def _journal_clustering(self, threshold: float) -> None:
        # The floor too: the pairs found depend on it (LSH bands are tuned for it).
        self.journal.append("threshold", threshold=threshold, floor=self.floor)

    def write(self, plan: ExportPlan, out: str | os.PathLike[str], force: bool = True) -> ExportResult:
        extra = {
            "journal": str(self.journal.path),
            "eval_inputs": list(self.settings.eval_paths),
            "eval_contamination": self.leakage.eval_hits.to_dicts(),
        }
        if self.coverage.ran:
            # The hard data each written split holds: a test split without any cannot measure it.
            extra["coverage"] = self.coverage.card_dict(
                plan.split_of_rows(self.dataset.rows.height), self.marked_hard_negatives()
            )
        return write_export(
            plan,
            self.dataset,
            out,
            force=force,
            # The threshold the clusters are at, moved in the app or not: the manifest
            # says what the splits were made from.
            settings=replace(self.settings, near=replace(self.settings.near, threshold=self.threshold)),
            extra=extra,
            duplicates=self.duplicates,
            protected=self.protected(),
        )

    def protected(self) -> list[Protected]:
        """What an output directory must never be or hold, besides the inputs."""
        c = self.settings.coverage
        return [
            *(Protected(Path(p), "eval set") for p in self.settings.eval_paths),
            *(Protected(Path(p), "reference sample") for p in c.reference_paths),
            *([Protected(Path(c.patterns_path), "patterns file")] if c.patterns_path else []),
            Protected(self.journal.path.parent, "state directory"),
        ]

    def reason_cannot_write(self, out: Path) -> str | None:
        """Why `w` cannot write to `out` (the app replaces an earlier output of sfttui)."""
        inputs = [Protected(Path(i.path), "input") for i in self.dataset.inputs]
        try:
            # A quick look on the screen's thread (no file read): the write looks in full.
            check_output(out, [*inputs, *self.protected()], force=True, read=False)
        except OutputRefused as exc:
            return str(exc)
        return None


def _present(values: pl.Series, wanted: set[str | None]) -> set[str]:
    """The wanted values that `values` holds."""
    names = [w for w in wanted if w is not None]
    return set(values.filter(values.is_in(names)).to_list()) if names else set()

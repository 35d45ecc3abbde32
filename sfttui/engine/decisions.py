"""The decisions journal: every decision the person makes, appended and flushed at once.

One JSONL file per dataset in the user's state directory (`$XDG_STATE_HOME/sfttui`,
default `~/.local/state/sfttui`, or `--state-dir`), named by a fingerprint of the
inputs (names, sizes, sha256); nothing is written beside the data, which may be
read-only. Opening the same data again finds the same file and resumes. Nothing is
ever rewritten: undo appends a reversal. A line cut off by a crash, or one that is not
a valid decision, is skipped and reported, never fatal.

Decisions follow rows by their content: each records a stable hash of every row it
names, so when an input is edited (new fingerprint) the newest journal kept for the
same input files is carried over, and its decisions apply to the rows whose lines are
unchanged, wherever they moved. One app window holds the journal's lock; another opens
it read-only.
"""

from __future__ import annotations

import contextlib
import hashlib
import operator
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import orjson
import xxhash

from .. import __version__
from .errors import StateError
from .io.load import InputFile, not_utf8
from .settings import LOWEST_THRESHOLD, SPLITS

try:  # POSIX only; elsewhere a second window is not detected
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SCHEMA = "sfttui.journal/2"  # /1 journals (no content hashes) are still read
ACTIONS = (
    "keep",
    "keep_all",
    "hard_negative",
    "drop_rows",
    "move_rows",
    "cap",
    "deliberate",
    "rule",
    "split",
    "threshold",
    "undo",
)


class JournalReadOnly(Exception):
    """A decision was made on a journal another window holds (or a headless read)."""


def state_home() -> Path:
    """Where sfttui keeps what it knows per dataset: `$XDG_STATE_HOME/sfttui`, by default
    `~/.local/state/sfttui` (the XDG base directory rule)."""
    base = os.environ.get("XDG_STATE_HOME") or ""
    return (Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state") / "sfttui"


def fingerprint(inputs: list[InputFile]) -> str:
    """Identifies the data: the same files with the same bytes give the same value."""
    digest = hashlib.sha256()
    for info in sorted(inputs, key=lambda i: i.name):
        digest.update(f"{info.name}\0{info.size}\0{info.sha256}\n".encode())
    return digest.hexdigest()[:16]


def content_hash(line: bytes) -> str:
    """A stable hash of a row's original line (xxh3, the same in every version): what a
    decision follows its rows by."""
    return xxhash.xxh3_64_hexdigest(line)


def _places(inputs: list[InputFile]) -> list[str]:
    """The inputs' resolved paths: what makes an edited file the same dataset."""
    return sorted(str(Path(i.path).resolve()) for i in inputs)


@dataclass
class Decision:
    seq: int
    action: str
    payload: dict[str, Any]
    at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "action": self.action, "at": self.at, **self.payload}


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _similarity(value: Any) -> bool:
    return type(value) in (int, float) and LOWEST_THRESHOLD <= value <= 1.0


def _invalid(action: str, p: dict[str, Any]) -> str | None:
    """What is wrong with a decision's fields, or None when it can be applied."""
    checks: dict[str, list[tuple[str, bool]]] = {
        "keep": [
            ("cluster", isinstance(p.get("cluster"), str)),
            ("keeper", isinstance(p.get("keeper"), str)),
            ("drop", _strings(p.get("drop"))),
        ],
        "keep_all": [("cluster", isinstance(p.get("cluster"), str))],
        "hard_negative": [("cluster", isinstance(p.get("cluster"), str))],
        "drop_rows": [("keys", _strings(p.get("keys")))],
        "move_rows": [("keys", _strings(p.get("keys"))), ("split", p.get("split") in SPLITS)],
        "cap": [
            ("label", isinstance(p.get("label"), str)),
            ("max_rows", type(p.get("max_rows")) is int and p["max_rows"] >= 0),
        ],
        "deliberate": [("label", isinstance(p.get("label"), str))],
        "rule": [("keys", _strings(p.get("keys"))), ("rule", isinstance(p.get("rule"), str))],
        "split": [
            ("seed", type(p.get("seed")) is int and p["seed"] >= 0),
            ("resplit", type(p.get("resplit")) is bool),
        ],
        "threshold": [
            ("threshold", _similarity(p.get("threshold"))),
            # The floor the app's pairs were verified down to (the bands are tuned for it).
            (
                "floor",
                "floor" not in p
                or (
                    _similarity(p["floor"])
                    and _similarity(p.get("threshold"))
                    and p["floor"] <= p["threshold"]
                ),
            ),
        ],
        "undo": [
            ("target", type(p.get("target")) is int),
            (
                "targets",
                "targets" not in p
                or (isinstance(p["targets"], list) and all(type(t) is int for t in p["targets"])),
            ),
        ],
    }
    content = p.get("content")
    if content is not None and not (
        isinstance(content, dict) and all(isinstance(v, str) for v in content.values())
    ):
        return "field 'content' is not a map of row keys to hashes"
    bad = [name for name, ok in checks[action] if not ok]
    return f"field '{bad[0]}' is missing or of the wrong type" if bad else None


@dataclass
class Journal:
    path: Path
    fingerprint: str
    decisions: list[Decision] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    resumed: bool = False
    read_only: str = ""  # why decisions cannot be written here; "" when they can
    # Another window holds the lock: it may have made decisions this one has not read.
    held_elsewhere: bool = False
    carried_from: Path | None = None  # the journal of the same files before they changed
    _effective: tuple[int, list[Decision]] | None = field(default=None, repr=False, compare=False)
    _lock: IO[bytes] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def open(
        cls,
        inputs: list[InputFile],
        state_dir: str | os.PathLike[str] | None = None,
        *,
        create: bool = True,
    ) -> Journal:
        """Open the journal for these inputs and read what it holds.

        With `create` (the app) the state directory and the journal are made if need be
        and the journal's lock is taken (or, if another window holds it, the journal is
        read-only). Without it (`split`) nothing is written: an existing journal is read.
        """
        directory = Path(state_dir) if state_dir else state_home()
        if bad := not_utf8(directory):  # its path goes into the journal and every manifest
            raise StateError(
                f"{bad[0]}: the state directory's path is not valid UTF-8; give --state-dir another"
            )
        fp = fingerprint(inputs)
        journal = cls(path=directory / f"journal-{fp}.jsonl", fingerprint=fp)
        # Whether this one may write is settled before reading: only the holder of the
        # lock mends a cut last line, and it reads what it will add to (a window that
        # read first could take the lock as the other closed, with an older journal).
        # A journal that is there but cannot be a journal is said so: read as none, its
        # decisions were silently not applied (a dangling link); as a folder, the read
        # failed as "cannot write" the output.
        if journal.path.is_symlink() and not journal.path.exists():
            raise StateError(
                f"the decisions journal {journal.path} is a link to {os.readlink(journal.path)}, which "
                "leads to no file: put the journal back, or move the link away to start without decisions"
            )
        if journal.path.exists() and not journal.path.is_file():
            raise StateError(
                f"the decisions journal {journal.path} is not a file: move it away to start without decisions"
            )
        if create:
            try:
                directory.mkdir(parents=True, exist_ok=True)
                journal._take_lock()
            except OSError as exc:  # a read-only or full state directory: look, not decide
                journal.read_only = _unwritable(directory, exc)
        else:
            journal.read_only = "a headless run writes no state"
        if journal.path.exists() and journal.path.stat().st_size:
            journal._read(journal.path)
            journal.resumed = True
        else:
            before = _predecessor(directory, inputs, journal.path)
            if before is not None:
                journal._read(before)
                journal.carried_from = before
                journal.resumed = bool(journal.decisions)
        if not journal.read_only and not (journal.path.exists() and journal.path.stat().st_size):
            header = {
                "schema": SCHEMA,
                "fingerprint": fp,
                "sfttui": __version__,
                "inputs": [
                    {"name": i.name, "bytes": i.size, "sha256": i.sha256, "path": str(Path(i.path).resolve())}
                    for i in inputs
                ],
            }
            if journal.carried_from is not None:
                header["carried_from"] = journal.carried_from.name
            # The carried decisions are copied as they were; they follow rows by content.
            try:
                journal._write(header, *(d.to_json() for d in journal.decisions))
            except OSError as exc:  # a full disk: the lock could be taken, the journal not written
                journal.close()
                with contextlib.suppress(OSError):
                    journal.path.unlink()  # made just now (there was none, or it was empty)
                journal.read_only = _unwritable(directory, exc)
        return journal

    def _take_lock(self) -> None:
        if fcntl is None:
            return
        handle = self.path.with_suffix(".lock").open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            self.read_only = "another sfttui window has this data open; this one is read-only"
            self.held_elsewhere = True
            return
        self._lock = handle

    def close(self) -> None:
        """Let go of the lock (also when the process ends)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _read(self, path: Path) -> None:
        data = path.read_bytes()
        if not data.endswith(b"\n") and path == self.path and not self.read_only:
            # A crash cut the last line: end it so the next decision starts a line of its
            # own; the cut line is skipped below and reported.
            try:
                with path.open("ab") as handle:
                    handle.write(b"\n")
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError:
                pass  # read-only state: the cut line is still skipped
        for number, line in enumerate(data.split(b"\n"), start=1):
            if line.strip():
                self._read_line(path.name, number, line)

    def _read_line(self, name: str, number: int, line: bytes) -> None:
        where = f"{name} line {number}"
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            self.problems.append(f"{where}: unreadable (cut off by a crash?), ignored")
            return
        if not isinstance(record, dict):
            self.problems.append(f"{where}: not a decision (a JSON {type(record).__name__}), ignored")
            return
        if "schema" in record:
            return  # the header: decisions follow rows by content, whatever it says
        action, seq = record.pop("action", None), record.pop("seq", None)
        at = record.pop("at", "")
        if action not in ACTIONS or type(seq) is not int:
            self.problems.append(f"{where}: not a decision, ignored")
            return
        why = _invalid(action, record)
        if why:
            self.problems.append(f"{where}: {action} decision with {why}, ignored")
            return
        self.decisions.append(Decision(seq, action, record, at if isinstance(at, str) else ""))

    def _write(self, *records: dict[str, Any]) -> None:
        # Append, flush and fsync per decision (or per batch): a killed process or
        # dropped SSH session loses nothing that was already shown as saved.
        with self.path.open("ab") as handle:
            handle.write(b"".join(orjson.dumps(r) + b"\n" for r in records))
            handle.flush()
            os.fsync(handle.fileno())

    def append(self, action: str, **payload: Any) -> Decision:
        return self.append_many([(action, payload)])[0]

    def append_many(self, items: list[tuple[str, dict[str, Any]]], batch: bool = False) -> list[Decision]:
        """Several decisions in one write and one fsync (e.g. accepting every exact cluster).

        With `batch`, each records the first one's seq as its `batch`, so one undo
        reverses them all (see undo)."""
        if self.read_only:
            raise JournalReadOnly(self.read_only)
        unknown = [a for a, _ in items if a not in ACTIONS]
        if unknown:
            raise ValueError(f"unknown action {unknown[0]}")
        seq = max((d.seq for d in self.decisions), default=0) + 1
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if batch:
            items = [(action, {**payload, "batch": seq}) for action, payload in items]
        new = [Decision(seq + i, action, payload, at) for i, (action, payload) in enumerate(items)]
        if new:
            self._write(*(d.to_json() for d in new))
            self.decisions.extend(new)
        return new

    def undo(self) -> Decision | None:
        """Reverse the most recent decision still in effect, or the whole batch it was made
        in (`A`: every exact cluster accepted at once), with one undo record. The near
        threshold is a setting, moved back by moving it: `u` passes over it."""
        effective = [d for d in self.effective() if d.action != "threshold"]
        if not effective:
            return None
        last = effective[-1]
        batch = last.payload.get("batch")
        if type(batch) is not int:
            return self.append("undo", target=last.seq)
        targets = [d.seq for d in effective if d.payload.get("batch") == batch]
        return self.append("undo", target=last.seq, targets=targets)

    def effective(self) -> list[Decision]:
        """Decisions in order, without the undone ones (an undo can itself be undone)."""
        # Decisions are only ever appended, so their count says whether the last answer
        # still holds; the app asks several times per key, over thousands of decisions.
        # The count is read first and only that many are looked at: a plan worker asks
        # from its thread while the screen's thread may be appending.
        count = len(self.decisions)
        if self._effective is None or self._effective[0] != count:
            decisions = self.decisions[:count]
            undone: set[int] = set()
            for d in reversed(decisions):
                if d.seq in undone:
                    continue
                if d.action == "undo":
                    undone.add(int(d.payload.get("target", -1)))
                    undone.update(int(t) for t in d.payload.get("targets", ()))
            kept = [d for d in decisions if d.action != "undo" and d.seq not in undone]
            self._effective = (count, kept)
        return list(self._effective[1])

    def threshold(self) -> float | None:
        """The near threshold last set in the app, or None."""
        clustering = self.clustering()
        return clustering[0] if clustering else None

    def clustering(self) -> tuple[float, float | None] | None:
        """The near threshold last set or written at in the app, and the floor its pairs
        were verified down to (None in a record without one), or None."""
        for d in reversed(self.effective()):
            if d.action == "threshold":
                floor = d.payload.get("floor")
                return float(d.payload["threshold"]), None if floor is None else float(floor)
        return None


def _unwritable(directory: Path, exc: OSError) -> str:
    """Why a journal there is read-only: its directory cannot be written."""
    return f"the state directory {directory} cannot be written ({exc.strerror or exc})"


def recorded_clustering(
    files: list[Path], state_dir: str | os.PathLike[str] | None = None
) -> tuple[float, float | None] | None:
    """The near threshold (and floor) last set in the app on these files, read before
    they are, so the scan clusters there. The journal is chosen as `Journal.open` would
    without the files' sha256: the newest kept for these paths at their sizes now, else
    the newest for these paths (the one an edit carries over). `open` settles it from
    the bytes."""
    directory = Path(state_dir) if state_dir else state_home()
    try:
        sizes = {str(p.resolve()): p.stat().st_size for p in files}
    except OSError:
        return None  # the scan says what is wrong with it
    found = _journals_of(directory, sorted(sizes), None)
    same = [
        (mtime, path)
        for mtime, path, inputs in found
        if all(isinstance(i, dict) and sizes.get(str(i.get("path"))) == i.get("bytes") for i in inputs)
    ]
    chosen = max(same or [(mtime, path) for mtime, path, _ in found], default=None)
    if chosen is None:
        return None
    journal = Journal(path=chosen[1], fingerprint="", read_only="read before the scan")
    try:
        journal._read(chosen[1])
    except OSError:
        return None
    return journal.clustering()


def _predecessor(directory: Path, inputs: list[InputFile], own: Path) -> Path | None:
    """The newest journal kept for the same input files (by path) when they held other
    bytes: its decisions are carried over and follow their rows by content."""
    found = _journals_of(directory, _places(inputs), own)
    return max((mtime, path) for mtime, path, _ in found)[1] if found else None


def _journals_of(directory: Path, places: list[str], own: Path | None) -> list[tuple[int, Path, list[Any]]]:
    """Each journal in `directory` kept for the files at `places`, but `own`: its
    modification time, path and the inputs its header names."""
    found: list[tuple[int, Path, list[Any]]] = []
    try:
        candidates = list(directory.glob("journal-*.jsonl"))
    except OSError:
        return []
    for path in candidates:
        if path == own:
            continue
        try:
            with path.open("rb") as handle:
                header = orjson.loads(handle.readline())
            mtime = path.stat().st_mtime_ns
        except (OSError, orjson.JSONDecodeError):
            continue
        if isinstance(header, dict) and isinstance(header.get("inputs"), list):
            inputs = header["inputs"]
            paths = sorted(str(i.get("path")) for i in inputs if isinstance(i, dict))
            if paths == places:
                found.append((mtime, path, inputs))
    return found


KEEP_ALL, HARD_NEGATIVE = "keep all", "hard negative"  # cluster states beside "keep <key>"


def kept_member(state: str | None) -> str | None:
    """The member a cluster's state keeps, dropping those near it ("keep <key>"); None
    for no decision, "keep all" or a hard negative, which drop no one."""
    if state is None or state in (KEEP_ALL, HARD_NEGATIVE):
        return None
    return state.removeprefix("keep ")


@dataclass
class Resolution:
    """What the effective decisions mean for the rows that exist now."""

    dropped: dict[str, tuple[str, str | None]]  # row key -> (reason, cluster id)
    kept_clusters: set[str]  # clusters decided one way or the other
    caps: dict[str, int]
    deliberate: dict[str, str]
    moves: dict[str, str]  # row key -> split it is moved to (existing splits only)
    applied: list[Decision]
    stale: list[str]  # decisions naming rows or clusters that are no longer there
    rules: dict[str, str] = field(default_factory=dict)  # row key -> the labelling rule that decides it
    followed: int = 0  # decisions applied to rows that moved (found by their content)
    # current cluster id -> what its latest decision says ("keep <key>", "keep all",
    # "hard negative")
    cluster_states: dict[str, str] = field(default_factory=dict)
    # rows of near conflicts the person marked as hard negatives (all kept)
    hard_negatives: set[str] = field(default_factory=set)
    # the seed and re-split chosen in the app (`r` on Splits), the latest one
    split: dict[str, Any] | None = None
    # decided clusters that hold rows their decision did not name (they grew at another
    # threshold, or merged): the decisions' drops stand, the automatic policy leaves
    # them alone, but they are undecided again (no state), to be looked at
    reopened: set[str] = field(default_factory=set)


def named_rows(d: Decision) -> list[str]:
    """The row keys a decision names, which must all still exist for it to apply."""
    p = d.payload
    if d.action == "keep":
        return [*p.get("drop", []), p.get("keeper")]
    if d.action in ("drop_rows", "move_rows", "rule"):
        return list(p.get("keys", []))
    if d.action in ("keep_all", "hard_negative"):
        return list(p.get("content", {}))
    return []


def resolve(
    decisions: list[Decision],
    keys: set[str],
    clusters: set[str],
    where: Mapping[tuple[str, str], str | None] | None = None,
    cluster_of: Mapping[str, list[str]] | None = None,
    members_of: Mapping[str, set[str]] | None = None,
    disagree: Callable[[str], bool] | None = None,
) -> Resolution:
    """Turn decisions into row drops; report, not apply, those naming missing rows.

    `where` maps a recorded (key, line hash) to the key of the row that holds that line
    now (None when no row does); each decision's keys are looked up there with the hashes
    it recorded, and keys it recorded none for are looked up in `keys` as they are.
    `cluster_of` gives the clusters each current row belongs to, so a decision follows a
    cluster whose id changed with the data; `members_of` the rows of each current
    cluster a decision may land on, so one that holds rows the decision did not name is
    reopened (see Resolution.reopened). `disagree(cluster)` says whether a cluster holds
    one text under two labels (Duplicates.copies_disagree): a hard-negative decision on
    one is reported, not applied.
    """
    resolver = Resolver()
    resolver.add(decisions, keys, clusters, where, cluster_of, members_of, disagree)
    return resolver.snapshot()


class Resolver:
    """Decisions turned into row drops in order, so that a new decision is added to the
    last answer instead of every decision being resolved again: after `A` has recorded
    fifty thousand clusters, each further key would otherwise walk them all (1.5 s at a
    million rows). `add` takes the next decisions with the lookups they need; `snapshot`
    gives a Resolution of its own (later additions do not change one handed out)."""

    def __init__(self) -> None:
        self.res = Resolution({}, set(), {}, {}, {}, [], [])
        # Rows dropped by the latest decision on each cluster, by the id it was decided
        # under: two clusters decided apart and merged since (at another threshold)
        # keep both decisions' drops.
        self.by_cluster: dict[str, list[str]] = {}
        # Why each dropped row is dropped, by source (a cluster's decision, or the drop
        # decision of that seq), latest last: a row dropped both outright and as a
        # duplicate stays dropped when the cluster is decided again.
        self.sources: dict[str, dict[tuple[str, Any], tuple[str, str | None]]] = {}
        self.seen: list[Decision] = []  # every decision added, applied or not
        # The rows each cluster's hard-negative decision marked, by the id it was decided
        # under: a later decision on that cluster takes back its own marks, no one else's.
        self.marked: dict[str, set[str]] = {}

    def continues(self, decisions: list[Decision]) -> bool:
        """Whether `decisions` begin with every decision added so far (no undo since)."""
        n = len(self.seen)
        return len(decisions) >= n and all(map(operator.is_, self.seen, decisions[:n]))

    def add(
        self,
        decisions: list[Decision],
        keys: set[str],
        clusters: set[str],
        where: Mapping[tuple[str, str], str | None] | None = None,
        cluster_of: Mapping[str, list[str]] | None = None,
        members_of: Mapping[str, set[str]] | None = None,
        disagree: Callable[[str], bool] | None = None,
    ) -> None:
        """Apply these decisions after those added before (see resolve for the lookups)."""
        cluster_of = cluster_of or {}
        members_of = members_of or {}
        disagree = disagree or (lambda _cluster: False)

        def now(key: str, recorded: Mapping[str, str]) -> str | None:
            h = recorded.get(key)
            if h is not None and where is not None and (key, h) in where:
                return where[(key, h)]
            return key if key in keys else None

        for d in decisions:
            self.seen.append(d)
            self._apply(d, now, clusters, cluster_of, members_of, disagree)

    def _apply(
        self,
        d: Decision,
        now: Callable[[str, Mapping[str, str]], str | None],
        clusters: set[str],
        cluster_of: Mapping[str, list[str]],
        members_of: Mapping[str, set[str]],
        disagree: Callable[[str], bool],
    ) -> None:
        res, by_cluster = self.res, self.by_cluster
        p = d.payload
        named = [k for k in named_rows(d) if k is not None]
        recorded = p.get("content") if isinstance(p.get("content"), dict) else {}
        current = {k: now(k, recorded) for k in named}
        missing = [k for k, c in current.items() if c is None]
        if missing:
            why = "no longer match (changed or removed)" if "content" in p else "are no longer in the data"
            res.stale.append(f"decision {d.seq}: rows {', '.join(missing[:3])} {why}; not applied")
            return
        if any(c != k for k, c in current.items()):
            res.followed += 1
        if d.action in ("keep", "keep_all", "hard_negative"):
            cluster = _cluster_now(p, current, clusters, cluster_of)
            if cluster is None:
                res.stale.append(
                    f"decision {d.seq}: cluster {p.get('cluster')} no longer exists; not applied"
                )
                return
            # A later decision on the same cluster replaces an earlier one.
            named_as = str(p.get("cluster", cluster))
            for key in by_cluster.pop(named_as, []):
                self._undrop(key, ("cluster", named_as))
            if self.marked.pop(named_as, None) is not None:
                res.hard_negatives = set().union(*self.marked.values())
            if d.action == "hard_negative" and disagree(cluster):
                # Journaled before such marks were refused, or the labels changed since:
                # rows with one text and two labels are a conflict, whatever the words say.
                # It still replaces the earlier decision, so the cluster is undecided again
                # (an earlier keep coming back would drop rows last chosen to be kept).
                res.cluster_states.pop(cluster, None)
                res.kept_clusters.discard(cluster)
                res.stale.append(
                    f"decision {d.seq}: cluster {cluster} holds the same text under two labels, "
                    "so it cannot be a hard negative; not applied, and the cluster is undecided"
                )
                return
            drop = [current[k] for k in p.get("drop", [])] if d.action == "keep" else []
            keeper = current.get(p.get("keeper"), p.get("keeper"))
            # What this decision keeps is kept, though an earlier decision on another
            # cluster (of the other side, or at another threshold) dropped it as a
            # duplicate: the screen says "keep" for it. An outright drop still stands.
            kept = [keeper] if d.action == "keep" else list(current.values())
            for key in kept:
                for source in [s for s in self.sources.get(str(key), {}) if s[0] == "cluster"]:
                    self._undrop(str(key), source)
            for key in drop:
                assert key is not None
                self._drop(key, ("cluster", named_as), (f"duplicate of {keeper} (decision {d.seq})", cluster))
            by_cluster[named_as] = [k for k in drop if k is not None]
            res.kept_clusters.add(cluster)
            members = members_of.get(cluster)
            if members is not None and not members <= {str(c) for c in current.values()}:
                res.reopened.add(cluster)
                res.cluster_states.pop(cluster, None)
            else:
                res.reopened.discard(cluster)
                res.cluster_states[cluster] = {"keep": f"keep {keeper}", "keep_all": KEEP_ALL}.get(
                    d.action, HARD_NEGATIVE
                )
            if d.action == "hard_negative":
                self.marked[named_as] = {str(c) for c in current.values()}
                res.hard_negatives |= self.marked[named_as]
        elif d.action == "drop_rows":
            for key in p.get("keys", []):
                why = (f"{p.get('reason', 'dropped')} (decision {d.seq})", p.get("cluster"))
                self._drop(str(current[key]), ("rows", d.seq), why)
        elif d.action == "move_rows":
            for key in p.get("keys", []):
                res.moves[str(current[key])] = str(p["split"])
        elif d.action == "cap":
            res.caps[str(p["label"])] = int(p["max_rows"])
        elif d.action == "deliberate":
            res.deliberate[str(p["label"])] = str(p.get("note", ""))
        elif d.action == "split":
            res.split = {"seed": int(p["seed"]), "resplit": bool(p["resplit"])}
        elif d.action == "threshold":
            return  # a setting, applied by the session before the clusters are made
        elif d.action == "rule":
            for key in p.get("keys", []):
                res.rules[str(current[key])] = str(p.get("rule", ""))
        res.applied.append(d)

    def _drop(self, key: str, source: tuple[str, Any], why: tuple[str, str | None]) -> None:
        sources = self.sources.setdefault(key, {})
        sources.pop(source, None)
        sources[source] = why
        self.res.dropped[key] = why

    def _undrop(self, key: str, source: tuple[str, Any]) -> None:
        """`source` no longer drops `key`; it stays dropped for any other reason left."""
        sources = self.sources.get(key)
        if not sources or source not in sources:
            return
        del sources[source]
        if sources:
            self.res.dropped[key] = next(reversed(sources.values()))
        else:
            del self.sources[key]
            self.res.dropped.pop(key, None)

    def snapshot(self) -> Resolution:
        r = self.res
        return Resolution(
            dropped=dict(r.dropped),
            kept_clusters=set(r.kept_clusters),
            caps=dict(r.caps),
            deliberate=dict(r.deliberate),
            moves=dict(r.moves),
            applied=list(r.applied),
            stale=list(r.stale),
            rules=dict(r.rules),
            followed=r.followed,
            cluster_states=dict(r.cluster_states),
            hard_negatives=set(r.hard_negatives),
            split=dict(r.split) if r.split is not None else None,
            reopened=set(r.reopened),
        )


def _cluster_now(
    p: dict[str, Any],
    current: dict[str, str | None],
    clusters: set[str],
    cluster_of: Mapping[str, list[str]],
) -> str | None:
    """The cluster a keep decision is about now: the recorded one while it exists, else
    the one of the same side (its id's first letter) that its keeper, or first member,
    belongs to now (ids change with the data)."""
    cluster = p.get("cluster")
    if cluster in clusters:
        return cluster
    keeper = p.get("keeper")
    anchor = current.get(keeper) if keeper is not None else next(iter(current.values()), None)
    side = str(cluster)[:1]
    return next((c for c in cluster_of.get(anchor or "", []) if c[:1] == side), None)

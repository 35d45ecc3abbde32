"""The decisions journal: every decision the person makes, appended and flushed at once.

One JSONL file per dataset, named by a fingerprint of the inputs (names, sizes,
sha256), in `.sfttui/` beside the first input or in `--state-dir`. Opening the same
data again finds the same file and resumes. Nothing is ever rewritten: undo appends a
reversal. A line cut off by a crash is skipped and reported, never fatal.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from .. import __version__
from .load import InputFile

SCHEMA = "sfttui.journal/1"
ACTIONS = ("keep", "keep_all", "drop_rows", "move_rows", "cap", "deliberate", "rule", "undo")


def fingerprint(inputs: list[InputFile]) -> str:
    """Identifies the data: the same files with the same bytes give the same value."""
    digest = hashlib.sha256()
    for info in sorted(inputs, key=lambda i: i.name):
        digest.update(f"{info.name}\0{info.size}\0{info.sha256}\n".encode())
    return digest.hexdigest()[:16]


def default_state_dir(inputs: list[InputFile]) -> Path:
    return Path(inputs[0].path).resolve().parent / ".sfttui"


@dataclass
class Decision:
    seq: int
    action: str
    payload: dict[str, Any]
    at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "action": self.action, "at": self.at, **self.payload}


@dataclass
class Journal:
    path: Path
    fingerprint: str
    decisions: list[Decision] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    resumed: bool = False
    _effective: tuple[int, list[Decision]] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def open(cls, inputs: list[InputFile], state_dir: str | os.PathLike[str] | None = None) -> Journal:
        """Open (or create) the journal for these inputs and read what it holds."""
        fp = fingerprint(inputs)
        directory = Path(state_dir) if state_dir else default_state_dir(inputs)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"journal-{fp}.jsonl"
        journal = cls(path=path, fingerprint=fp)
        if path.exists() and path.stat().st_size:
            journal._read()
            journal.resumed = True
        else:
            header = {
                "schema": SCHEMA,
                "fingerprint": fp,
                "sfttui": __version__,
                "inputs": [{"name": i.name, "bytes": i.size, "sha256": i.sha256} for i in inputs],
            }
            journal._write(header)
        return journal

    def _read(self) -> None:
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            # A crash cut the last line: end it so the next decision starts a line of
            # its own; the cut line is skipped below and reported.
            with self.path.open("ab") as handle:
                handle.write(b"\n")
                handle.flush()
                os.fsync(handle.fileno())
        for number, line in enumerate(data.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                self.problems.append(
                    f"{self.path.name} line {number}: unreadable (cut off by a crash?), ignored"
                )
                continue
            if "schema" in record:
                if record.get("fingerprint") != self.fingerprint:
                    self.problems.append(f"{self.path.name}: written for other data, decisions ignored")
                    self.decisions = []
                    return
                continue
            action = record.pop("action", None)
            seq = record.pop("seq", None)
            at = record.pop("at", "")
            if action not in ACTIONS or not isinstance(seq, int):
                self.problems.append(f"{self.path.name} line {number}: not a decision, ignored")
                continue
            self.decisions.append(Decision(seq, action, record, at))

    def _write(self, *records: dict[str, Any]) -> None:
        # Append, flush and fsync per decision (or per batch): a killed process or
        # dropped SSH session loses nothing that was already shown as saved.
        with self.path.open("ab") as handle:
            handle.write(b"".join(orjson.dumps(r) + b"\n" for r in records))
            handle.flush()
            os.fsync(handle.fileno())

    def append(self, action: str, **payload: Any) -> Decision:
        return self.append_many([(action, payload)])[0]

    def append_many(self, items: list[tuple[str, dict[str, Any]]]) -> list[Decision]:
        """Several decisions in one write and one fsync (e.g. accepting every exact cluster)."""
        unknown = [a for a, _ in items if a not in ACTIONS]
        if unknown:
            raise ValueError(f"unknown action {unknown[0]}")
        seq = (self.decisions[-1].seq + 1) if self.decisions else 1
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        new = [Decision(seq + i, action, payload, at) for i, (action, payload) in enumerate(items)]
        if new:
            self._write(*(d.to_json() for d in new))
            self.decisions.extend(new)
        return new

    def undo(self) -> Decision | None:
        """Reverse the most recent decision still in effect (appends an undo record)."""
        effective = self.effective()
        if not effective:
            return None
        return self.append("undo", target=effective[-1].seq)

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
            kept = [d for d in decisions if d.action != "undo" and d.seq not in undone]
            self._effective = (count, kept)
        return list(self._effective[1])


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


def named_rows(d: Decision) -> list[str]:
    """The row keys a decision names, which must all still exist for it to apply."""
    p = d.payload
    if d.action == "keep":
        return [*p.get("drop", []), p.get("keeper")]
    if d.action in ("drop_rows", "move_rows", "rule"):
        return list(p.get("keys", []))
    return []


def resolve(decisions: list[Decision], keys: set[str], clusters: set[str]) -> Resolution:
    """Turn decisions into row drops; report, not apply, those naming missing rows."""
    res = Resolution({}, set(), {}, {}, {}, [], [])
    by_cluster: dict[str, list[str]] = {}  # rows dropped by each cluster's latest decision
    for d in decisions:
        p = d.payload
        cluster = p.get("cluster")
        if d.action in ("keep", "keep_all") and cluster not in clusters:
            res.stale.append(f"decision {d.seq}: cluster {cluster} no longer exists; not applied")
            continue
        missing = [k for k in named_rows(d) if k is not None and k not in keys]
        if missing:
            res.stale.append(
                f"decision {d.seq}: rows {', '.join(missing[:3])} are no longer in the data; not applied"
            )
            continue
        if d.action in ("keep", "keep_all"):
            # A later decision on the same cluster replaces an earlier one.
            for key in by_cluster.pop(cluster, []):
                res.dropped.pop(key, None)
            drop = p.get("drop", []) if d.action == "keep" else []
            for key in drop:
                res.dropped[key] = (f"duplicate of {p.get('keeper')} (decision {d.seq})", cluster)
            by_cluster[cluster] = list(drop)
            res.kept_clusters.add(cluster)
        elif d.action == "drop_rows":
            for key in p.get("keys", []):
                res.dropped[key] = (f"{p.get('reason', 'dropped')} (decision {d.seq})", cluster)
        elif d.action == "move_rows":
            for key in p.get("keys", []):
                res.moves[key] = str(p["split"])
        elif d.action == "cap":
            res.caps[str(p["label"])] = int(p["max_rows"])
        elif d.action == "deliberate":
            res.deliberate[str(p["label"])] = str(p.get("note", ""))
        elif d.action == "rule":
            for key in p.get("keys", []):
                res.rules[key] = str(p.get("rule", ""))
        res.applied.append(d)
    return res

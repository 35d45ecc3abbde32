"""The output directory: what may be replaced, how it is replaced, and recovery after a crash.

sfttui never deletes a file it did not write. An output directory may be replaced only
when it is empty or holds nothing but an earlier output of sfttui (its manifest and the
files the manifest lists), and never when it is, or holds, an input or a state file.

A new output is written into a temporary sibling directory `.NAME.tmp-PID-XXXX` and
renamed into place; an earlier output is first renamed aside to `.NAME.old-PID-NS` and
removed last. A crash can leave these siblings behind (between the two renames, both);
the next write puts the old one back (`recover`), and one allowed to go ahead removes
what is sfttui's of the rest (`clear_leftovers`), saying what it did.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson

from ..errors import ExportError
from ..settings import SPLITS
from .load import file_sha256

MANIFEST = "manifest.json"
MANIFEST_SCHEMA = "sfttui.manifest/1"
# Exactly the names make_temporary and replace_directory give (a directory a person
# named `.out.old-1` or `.out.tmp-keep` is theirs, not a leftover).
# Any name, newlines too (DOTALL).
_SIBLING = re.compile(r"\A\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-[0-9a-f]{8}\Z", re.DOTALL)
# Made first in every temporary directory and removed once its files are complete: a
# folder that only has the name of a leftover is not one (a person's, or an input's).
UNFINISHED = ".sfttui-unfinished"


class OutputRefused(ExportError):
    """The output directory must not be written (or replaced); the message says why."""


@dataclass(frozen=True)
class Protected:
    """A path sfttui must never remove: an input, an eval or reference file, the state."""

    path: Path
    what: str  # "input", "eval set", "state directory", ...


def foreign_entries(directory: Path, read: bool = True) -> list[str] | None:
    """The entries of an earlier sfttui output that sfttui did not write there, or that
    changed since; None when `directory` holds no manifest of sfttui's. The manifest
    lists what it wrote, with each file's sha256, and is written after them: a file
    modified later was edited; one whose bytes are not the ones written was put there
    (a move, `cp -p` or `rsync -a` keeps an older modification time). Without `read`
    the bytes are not compared (a quick look, as the app's before it offers to write:
    the write itself looks again, in full)."""
    try:
        manifest_path = directory / MANIFEST
        written_at = manifest_path.stat().st_mtime_ns
        manifest = orjson.loads(manifest_path.read_bytes())
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(manifest, dict) or manifest.get("schema") != MANIFEST_SCHEMA:
        return None
    outputs = manifest.get("outputs")
    digests = outputs if isinstance(outputs, dict) else {}

    def foreign(entry: os.DirEntry) -> bool:
        if entry.name == MANIFEST:
            return not entry.is_file(follow_symlinks=False)
        if entry.name not in digests or not entry.is_file(follow_symlinks=False):
            return True
        try:
            found = entry.stat(follow_symlinks=False)
            if found.st_mtime_ns > written_at:
                return True
            return read and _sha256(Path(entry.path), found) != digests[entry.name]
        except OSError:
            return True

    return [e.name for e in entries if foreign(e)]


# (device, inode, size, modification and change times) -> sha256: a write looks at an
# earlier output before it writes and again once it is set aside; the file read once is
# enough then. The change time is kept too: `cp -p` of a file of the same size over it,
# its modification time copied, changes nothing else the key holds.
_DIGESTS: dict[tuple[int, int, int, int, int], str] = {}


def _sha256(path: Path, found: os.stat_result) -> str:
    key = (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)
    if key not in _DIGESTS:
        if len(_DIGESTS) > 64:
            _DIGESTS.clear()
        _DIGESTS[key] = file_sha256(path)
    return _DIGESTS[key]


def sfttui_output(directory: Path) -> bool:
    """Whether `directory` holds nothing but an output sfttui wrote."""
    return foreign_entries(directory) == []


def complete_output(directory: Path) -> bool:
    """An output sfttui wrote, holding every file its manifest lists: what may be put back
    or counted as a replacement (a removal cut off leaves the manifest and some files)."""
    if not sfttui_output(directory):
        return False
    try:
        listed = orjson.loads((directory / MANIFEST).read_bytes()).get("outputs")
        return isinstance(listed, dict) and all((directory / name).is_file() for name in listed)
    except (OSError, orjson.JSONDecodeError):
        return False


def _listing(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5:,} more" if len(names) > 5 else "")


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(path: Path, directory: Path) -> bool:
    """Whether `path` is `directory` or lies under it, by name or, for what exists, by
    the file system's own identity (device and inode): on a case-insensitive file
    system, or through a bind mount, one directory has several resolved spellings."""
    if path == directory or directory in path.parents:
        return True
    try:
        there = directory.stat()
    except OSError:
        return False  # nothing there yet: nothing in it to lose
    for place in (path, *path.parents):
        try:
            if os.path.samestat(place.stat(), there):
                return True
        except OSError:
            continue  # not there (yet): its parents may be
    return False


def check_output(
    out: str | os.PathLike[str], protected: Iterable[Protected], force: bool, read: bool = True
) -> Path:
    """The resolved output directory, or OutputRefused saying why it must not be written
    (`read`: see foreign_entries)."""
    target = Path(out).resolve()
    for item in protected:
        path = item.path.resolve()
        if _inside(path, target):
            verb = "is" if path == target or _same(path, target) else "contains"
            raise OutputRefused(
                f"--out {out} {verb} the {item.what} {item.path}; sfttui never removes its inputs "
                "or state: choose another output directory"
            )
    if not target.exists():
        return target
    if not target.is_dir():
        raise OutputRefused(f"{out} exists and is not a directory")
    # A new output takes the place of --out in one rename, which neither can take.
    if os.path.ismount(target):
        raise OutputRefused(
            f"{out} is a mount point, and sfttui puts a new output in its place: name a folder inside it"
        )
    if _same(target, Path(".")):
        raise OutputRefused(
            f"{out} is the current directory, and sfttui puts a new output in its place (this shell "
            "would be left in the one set aside): name a folder inside it"
        )
    entries = sorted(e.name for e in os.scandir(target))
    if not entries:
        return target
    foreign = foreign_entries(target, read)
    if foreign is None:
        raise OutputRefused(
            f"{out} is not empty and was not written by sfttui (it holds {_listing(entries)}); sfttui "
            "only replaces a directory it wrote: choose a new or empty output directory"
        )
    if foreign:
        raise OutputRefused(
            f"{out} holds files sfttui did not write, or that changed since it wrote them "
            f"({_listing(foreign)}), beside an earlier output; sfttui never removes them: move "
            "them away or choose another output directory"
        )
    if not force:
        raise OutputRefused(f"{out} holds an earlier output of sfttui; pass --force to replace it")
    return target


def make_temporary(target: Path) -> Path:
    """A new empty directory beside `target` to write into, made like any other directory
    (mode 0777 less the umask), unlike mkdtemp's 0700 that the rename would keep. In
    place of an existing directory it takes that one's group (and its set-group-ID bit,
    so the files written get the group too); `replace_directory` gives it the mode."""
    while True:
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            tmp.mkdir(mode=0o777)
            break
        except FileExistsError:
            continue
    try:
        (tmp / UNFINISHED).touch()
    except OSError:
        tmp.rmdir()
        raise
    try:
        there = target.stat()
    except OSError:
        return tmp
    with contextlib.suppress(OSError):  # not a group of this user's: the default stays
        os.chown(tmp, -1, there.st_gid)
        os.chmod(tmp, stat.S_IMODE(tmp.stat().st_mode) | (there.st_mode & stat.S_ISGID))
    return tmp


def replace_directory(tmp: Path, target: Path) -> list[str]:
    """Move the finished temporary directory into place; an earlier output goes aside
    first and is removed last (a crash in between is mended by `recover`). The earlier
    output is judged again once aside, as it was checked before the write began: a file
    saved into it meanwhile keeps it where it is, named in what is returned."""
    if not target.exists():
        os.rename(tmp, target)
        return []
    # The folder the person made or locked down keeps its permissions (a chmod 700 output
    # was put back as 755).
    with contextlib.suppress(OSError):
        os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
    old = target.with_name(f".{target.name}.old-{os.getpid()}-{os.urandom(4).hex()}")
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:  # interrupted (Ctrl-C) or refused: the earlier output goes back now
        os.rename(old, target)
        raise
    with contextlib.suppress(OSError):
        old.rmdir()  # it was empty: nothing to keep or say
        return []
    foreign = foreign_entries(old)
    if foreign == []:
        return _removed(old)
    what = _listing(foreign) if foreign else "no manifest"
    return [f"kept the earlier output as {old}: it changed during the write ({what})"]


@contextmanager
def one_writer(target: Path) -> Iterator[bool]:
    """One write at a time into the directory `target` is in (which must exist); another
    is refused at once, saying why, rather than left waiting without a word. Two runs at
    once each checked --out before either wrote, and the second replaced the first's
    output, both saying they wrote it. A lock on the directory itself leaves no file
    behind; where locks are not to be had, writes go on as before. Yields whether the
    lock is held."""
    try:
        import fcntl

        handle = os.open(target.parent, os.O_RDONLY)
    except (ImportError, OSError):
        yield False
        return
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            locked = True
        except BlockingIOError:
            raise OutputRefused(
                f"another sfttui is writing in {target.parent} (it holds a lock on the folder): "
                "try again when it has finished"
            ) from None
        except OSError:  # a file system without locks
            locked = False
        yield locked
    finally:
        os.close(handle)  # and the lock with it


def _empty(directory: Path) -> bool:
    try:
        return not any(os.scandir(directory))
    except OSError:
        return False


def _removed(directory: Path) -> list[str]:
    """Remove a directory of sfttui's own (an earlier output set aside, a leftover), made
    writable first: an --out the person made read-only gives its output that mode, and
    its files could not be removed from it. What could not be removed is said."""
    with contextlib.suppress(OSError):
        os.chmod(directory, stat.S_IMODE(directory.stat().st_mode) | stat.S_IRWXU)
    _unlink_in_order(directory)
    shutil.rmtree(directory, ignore_errors=True)
    return [f"could not remove {directory}: remove it by hand"] if directory.exists() else []


def _unlink_in_order(directory: Path) -> None:
    """The files of one of sfttui's folders, the outputs first, then the manifest, then
    the marker: a removal cut off leaves what the next write still knows for sfttui's
    (by the manifest or the marker), never output files alone."""
    last = (MANIFEST, UNFINISHED)
    with contextlib.suppress(OSError):
        entries = sorted(os.scandir(directory), key=lambda e: last.index(e.name) if e.name in last else -1)
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)


def _alive(pid: int) -> bool:
    # This process's own number is not a sign of life: a write looks for leftovers under
    # the writer's lock, before it makes any, so one bearing its number is an earlier
    # process's (in a container sfttui may be process 1 on every run).
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except (OverflowError, ValueError):  # no process could have that number: not a name of ours
        return True
    return True


def _ours(directory: Path, kind: str) -> bool:
    """A leftover sibling sfttui may remove: an empty one; an unfinished write ("tmp")
    holding its marker and only files with the names of its outputs, or a finished one; a
    replaced output ("old") holding what its manifest says sfttui wrote, unchanged (one
    kept aside because it changed holds a person's work)."""
    if _empty(directory) or sfttui_output(directory):
        return True
    names = {f"{s}.jsonl" for s in (*SPLITS, "dropped")} | {MANIFEST, UNFINISHED}
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return False
    return (
        kind == "tmp"
        and any(e.name == UNFINISHED for e in entries)
        and all(e.is_file(follow_symlinks=False) and e.name in names for e in entries)
    )


def _stale_siblings(target: Path, kind: str, exclusive: bool) -> list[Path]:
    """The directories of `kind` an interrupted write left beside `target`; "old" ones
    oldest first. Under the writer's lock (`exclusive`) every one is: no write can be
    going on beside `target` (a live process of the number in a name has reused it).
    Without a lock to be had, those whose process is still there are left out."""
    try:
        siblings = [
            (Path(e.path), m)
            for e in os.scandir(target.parent)
            if (m := _SIBLING.match(e.name))
            and m["name"] == target.name
            and m["kind"] == kind
            and e.is_dir(follow_symlinks=False)
        ]
    except OSError:
        return []
    stale = [p for p, m in siblings if exclusive or not _alive(int(m["pid"]))]
    return sorted(stale, key=lambda p: p.stat().st_mtime_ns) if kind == "old" else stale


def recover(target: Path, protected: list[Protected], exclusive: bool = True) -> list[str]:
    """Put back the earlier output an interrupted write left aside; what was done.

    Between the two renames of a replacement neither the old output nor the new one is
    at `target`: the old one (complete, and what the person had) is put back: the latest
    that is an output of sfttui's and holds no input. Nothing is removed here: that
    waits until the write is allowed (`clear_leftovers`).
    """
    if target.exists():
        return []
    for old in reversed(_stale_siblings(target, "old", exclusive)):
        if complete_output(old) and not _holding(old, protected):
            os.rename(old, target)
            return [
                f"restored the earlier output {target} from {old.name} (a write was cut off between "
                "its two renames)"
            ]
    return []


def _holding(directory: Path, protected: list[Protected]) -> Protected | None:
    """The first protected path that is `directory` or lies in it."""
    return next((item for item in protected if _inside(item.path.resolve(), directory)), None)


def remove_unfinished(tmp: Path) -> None:
    """Remove this write's temporary directory, its marker last: a write killed part-way
    through leaves a leftover the next write still knows for sfttui's."""
    with contextlib.suppress(OSError):
        (tmp / UNFINISHED).touch()
    _unlink_in_order(tmp)
    shutil.rmtree(tmp, ignore_errors=True)


def clear_leftovers(target: Path, protected: list[Protected], exclusive: bool = True) -> list[str]:
    """Remove what interrupted writes left beside `target`, once a write there is allowed;
    what was done. Unfinished temporary directories go; earlier outputs set aside go only
    when `target` holds an output of sfttui's (the one that replaced them). A sibling that
    holds an input, or anything sfttui would not have written, is left alone and named.
    """
    leftovers = [(p, "tmp") for p in _stale_siblings(target, "tmp", exclusive)]
    leftovers += [(p, "old") for p in _stale_siblings(target, "old", exclusive)]
    replaced = any(kind == "old" for _, kind in leftovers) and complete_output(target)
    done: list[str] = []
    removed = 0
    for path, kind in leftovers:
        held = _holding(path, protected)
        if held is not None:
            done.append(f"left {path} alone: it holds the {held.what} {held.path}")
        elif not _ours(path, kind):
            done.append(f"left {path} alone: it holds files sfttui did not write, or changed since")
        elif kind == "old" and not replaced and not _empty(path):
            done.append(
                f"kept the earlier output {path}: {target.name} holds no output of sfttui's that replaced it"
            )
        else:
            done += _removed(path)
            removed += not path.exists()
    if removed:
        done.append(
            f"removed {removed} unfinished or replaced output director{'y' if removed == 1 else 'ies'} "
            f"left beside {target.name} by an interrupted write"
        )
    return done

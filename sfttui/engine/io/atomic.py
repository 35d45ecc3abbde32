"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename over `path`.

    The temporary file is created with mode 0666 less the umask, as any other writer's
    file would be (mkstemp's 0600 would survive the rename and hide a report from others).
    A symbolic link is followed (the file it points at is replaced, not the link), and a
    pipe or device (/dev/stdout) is written into as it is: a rename would put a plain
    file in its place.
    """
    try:
        # Stat the name as given: realpath turns /dev/stdout on a pipe into
        # "/proc/PID/fd/pipe:[N]", a name that does not exist.
        kind = os.stat(path).st_mode
    except OSError:
        kind = None
    if kind is not None and not stat.S_ISREG(kind) and not stat.S_ISDIR(kind):
        with open(path, "wb") as handle:
            handle.write(data)
        return
    target = Path(os.path.realpath(path))
    if target.is_symlink():  # realpath stops at a loop of links: the rename would replace one
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))
    directory = target.parent or Path(".")
    while True:
        tmp = directory / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sync_directory(directory)


def sync_directory(directory: str | os.PathLike[str]) -> None:
    """Flush a directory's entries to disk, so a rename into it survives a power cut (the
    file's own fsync does not cover its name); a no-op where directories cannot be
    opened for that (Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory: nothing more can be done
    finally:
        os.close(fd)

"""Standard output as a file: whether a path names it, and whether it is an input.

`scan --json /dev/stdout` is `--json -` by another name, and `sfttui scan data.jsonl
>> data.jsonl` would print into the data it reads: standard output is compared with
files by device and inode, not by name.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable

from ..engine.errors import ReportRefused
from ..engine.settings import ScanSettings


def _stdout_stat() -> os.stat_result | None:
    try:
        return os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # closed (None), or not a real file
        return None


def is_stdout(path: str) -> bool:
    """Whether `path` is this process's standard output by another name (`/dev/stdout`,
    `/proc/self/fd/1`, the file stdout is redirected to)."""
    out = _stdout_stat()
    try:
        given = os.stat(path)
    except OSError:
        return False
    return out is not None and os.path.samestat(given, out)


def refuse_printing_into(inputs: Iterable[str | os.PathLike[str]]) -> None:
    """ReportRefused when standard output is one of `inputs` (`>> data.jsonl`): what sfttui
    prints, a summary or a report, would be written into the file it reads."""
    out = _stdout_stat()
    if out is None or not stat.S_ISREG(out.st_mode):
        return
    for given in inputs:
        try:
            st = os.stat(given)
        except OSError:
            continue
        if os.path.samestat(st, out):
            raise ReportRefused(
                f"standard output is the input {given}: what sfttui prints would be written into "
                "it; send it elsewhere"
            )


def also_read(settings: ScanSettings) -> list[str]:
    """The files a run reads besides its data: eval sets, production samples, the
    response patterns and the tokenizer."""
    c = settings.coverage
    return [
        *settings.eval_paths,
        *c.reference_paths,
        *filter(None, [c.patterns_path, settings.lengths.tokenizer]),
    ]

"""The versioned JSON report written by `sfttui scan --json` (schema sfttui.report/2).

Fields other tools may rely on are documented in the README; the report holds no
timings or absolute times, so the same input and settings give the same bytes.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from .. import __version__
from .errors import ReportRefused
from .io.atomic import write_bytes_atomic
from .registry import STEPS, findings, not_checked
from .scan import ScanResult

SCHEMA = "sfttui.report/2"


def build_report(result: ScanResult) -> dict[str, Any]:
    ds = result.dataset
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "version": __version__,
        "settings": result.settings.to_dict(),
        "inputs": [i.to_dict() for i in ds.inputs],
        "rows": ds.rows.height,
        "row_keys": ds.key_source,
        "bad_lines": ds.bad_lines.drop("raw").to_dicts(),
        "analyses": [{"name": a.name, "ran": a.ran, "detail": a.detail} for a in result.analyses],
    }
    for step in STEPS:
        report.update(step.report(result))
    report["findings"] = findings(result)
    report["not_checked"] = not_checked(result)
    report["notes"] = result.notes
    return report


def refuse_overwriting_inputs(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]) -> None:
    """ReportRefused when `path` is one of `inputs` (the same file by any name: a link,
    a relative path): `scan --json data.jsonl` once replaced the data with its report;
    or when it is a file that is neither empty nor an earlier report (`--json
    hf_folder/state.json` replaced the metadata a dataset folder is read by)."""
    target = Path(path)
    folder = target.parent
    try:
        if not folder.is_dir():
            # Said now, not after the whole analysis (minutes on a large file).
            why = "is not a directory" if folder.exists() else "does not exist"
            raise ReportRefused(f"cannot write the report {path}: {folder} {why}")
        if target.is_symlink():
            _not_a_loop(target)
        if not target.exists():
            return
    except OSError as exc:  # a name too long, a loop of links: exists() raises those
        raise ReportRefused(f"cannot write the report {path}: {exc.strerror or exc}") from None
    for given in inputs:
        try:
            same = Path(given).exists() and os.path.samefile(target, given)
        except OSError:
            continue
        if same:
            raise ReportRefused(
                f"{path} is an input ({given}): the report would replace it; name another file"
            )
    if not _replaceable(target):
        raise ReportRefused(
            f"{path} exists and is not a report of sfttui's; sfttui never replaces a file it did not "
            "write: name another file"
        )


def _not_a_loop(link: Path) -> None:
    """Raise for a loop of links (exists() says False for one, and the report would
    replace the link); a link to a file not written yet is written through."""
    try:
        os.stat(link)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise


_LARGEST_REPORT = 1 << 30
_REPORT_START = re.compile(rb'\A\{\s*"schema"\s*:\s*"sfttui\.report/')


def _replaceable(path: Path) -> bool:
    """An earlier report (its schema comes first), or an empty file (mktemp's): what
    `--json` may replace, as it may write into a pipe or a device. A dataset folder's
    state.json, notes, anything else: never."""
    if not path.is_file():
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(256).removeprefix(b"\xef\xbb\xbf")
            if not head or _REPORT_START.match(head):
                return True
            # Keys reordered (jq -S): read whole, up to a size a report of millions of rows has.
            if path.stat().st_size > _LARGEST_REPORT:
                return False
            handle.seek(0)
            report = orjson.loads(handle.read().removeprefix(b"\xef\xbb\xbf"))
    except (OSError, orjson.JSONDecodeError):
        return False
    return isinstance(report, dict) and str(report.get("schema", "")).startswith("sfttui.report/")


def report_bytes(result: ScanResult) -> bytes:
    return orjson.dumps(build_report(result), option=orjson.OPT_INDENT_2) + b"\n"


def write_report(result: ScanResult, path: str | os.PathLike[str]) -> None:
    write_bytes_atomic(path, report_bytes(result))

"""`sfttui split`: apply the journal and drop policy, split by group, write, verify.

Kept out of cli.py so the command line stays a list of options; imports no Textual.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..display import exit_with_error, literal, stdout_console
from ..engine.analyses.coverage import grouped_shortfalls
from ..engine.analyses.split import SPLITS, SplitSettings
from ..engine.errors import SfttuiError
from ..engine.export import DropPolicy, ExportResult
from ..engine.findings import many
from ..engine.runtime.engines import open_engine
from ..engine.runtime.parallel import Engine
from ..engine.session import Session
from ..engine.settings import ScanSettings
from .streams import also_read, refuse_printing_into, silence_stdout


@dataclass
class SplitRequest:
    files: list[str]
    out: str
    settings: ScanSettings
    split: SplitSettings
    drop: DropPolicy = "exact"
    force: bool = False
    state_dir: str | None = None
    keep_contaminated: bool = False
    engine: str = "local"
    scheduler: str | None = None
    split_from_journal: bool = True  # False when --seed or --resplit was given
    threshold_from_journal: bool = True  # False when --threshold was given
    given: tuple[str, ...] = ()  # the split options set on the command line ("ratios", "seed")
    low_memory: bool = False  # the rows' texts in temporary files while analysing (--low-memory)


def run_split(request: SplitRequest) -> tuple[ExportResult, list[str]]:
    """Everything `sfttui split` does, without printing; raises InputError / ExportError."""
    with open_engine(request.engine, request.scheduler) as engine:
        return _run_split(request, engine)


def _run_split(request: SplitRequest, engine: Engine) -> tuple[ExportResult, list[str]]:
    session = Session(
        paths=request.files,
        settings=request.settings,
        split=request.split,
        state_dir=request.state_dir,
        drop=request.drop,
        keep_contaminated=request.keep_contaminated,
        explore=False,  # no threshold slider here: verify at the threshold only
        engine=engine,
        writes_state=False,  # reads the person's journal, if there is one; writes no state
        spill=request.low_memory,
        split_from_journal=request.split_from_journal,
        threshold_from_journal=request.threshold_from_journal,
    )
    session.analyse()
    journal = session.journal
    resolution = session.resolution()
    notes = session.dataset.notes + journal.problems + resolution.stale
    if journal.resumed:
        source = journal.carried_from or journal.path
        stale = f" ({len(resolution.stale)} no longer match)" if resolution.stale else ""
        notes.insert(0, f"journal {source}: {many(len(resolution.applied), 'decision')} applied{stale}")
    if resolution.split and session.split_from_journal:
        chosen = session.split_settings
        how = "new splits instead of the input's, " if chosen.resplit else ""
        notes.append(f"{how}seed {chosen.seed}: as chosen in the app (--seed sets another)")
    if (chosen_threshold := session.threshold_set_in_app()) is not None:
        notes.append(f"near threshold {chosen_threshold:g}: as set in the app (--threshold sets another)")
    plan = session.plan()
    unused = [f"--{name}" for name in ("ratios", "seed") if name in request.given]
    if unused and plan.split_plan.source != "new":
        # The input's own splits are kept: new ones would need --resplit.
        notes.append(
            f"{' and '.join(unused)} {'do' if len(unused) > 1 else 'does'} not apply: the input's own "
            "splits are kept (pass --resplit to make new ones)"
        )
    result = session.write(plan, request.out, force=request.force)
    return result, notes


def print_split(result: ExportResult, notes: list[str], console: Console) -> None:
    m = result.manifest
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold dim")
    for col in ("split", "rows", "groups", "ratio", "target", "labels"):
        table.add_column(col, justify="right" if col in ("rows", "groups", "ratio", "target") else "left")
    targets = m["settings"]["split"]["ratios"]
    for i, name in enumerate(SPLITS):
        labels = m["labels"].get(name, {})
        mix = ", ".join(f"{k} {v:,}" for k, v in sorted(labels.items(), key=lambda kv: -kv[1])[:4])
        more = f" +{len(labels) - 4}" if len(labels) > 4 else ""
        table.add_row(
            name,
            f"{m['counts'][name]:,}",
            f"{m['groups'].get(name, 0):,}",
            f"{m['ratios'].get(name, 0):.1%}",
            f"{targets[i]:.0%}" if m["splits_from"] == "new" else "-",  # kept splits aim at nothing
            literal(mix + more),  # labels are data: never markup
        )
    seed = f", seed {m['seed']}" if m["splits_from"] == "new" else " (the input's own)"
    console.print(Text.assemble(("sfttui split", "bold"), f"  splits {m['splits_from']}{seed}"))
    console.print(table)
    dropped = m["counts"]["dropped_by"]
    detail = ", ".join(f"{n:,} {kind.strip()}" for kind, n in dropped.items()) or "none"
    console.print(literal(f"dropped: {m['counts']['dropped']:,} ({detail})"))
    leak = len(m["leakage_remaining"])
    console.print(
        Text(f"leakage remaining between splits: {leak:,}", style="yellow" if leak else "green"),
    )
    # soft_wrap: paths and notes stay whole lines, so they can be copied and grepped.
    shortfalls = grouped_shortfalls(m.get("coverage", {}).get("scorecard", []))
    for warning in m["warnings"] + shortfalls + notes:
        console.print(literal(f"note: {warning}", "yellow"), soft_wrap=True)
    for mended in result.recovered:
        console.print(literal(f"recovered: {mended}", "yellow"), soft_wrap=True)
    for check in result.verified:
        console.print(literal(f"verified: {check}", "green"), soft_wrap=True)
    for problem in result.problems:
        console.print(literal(f"PROBLEM: {problem}", "bold red"), soft_wrap=True)
    if not result.installed:
        console.print(literal(result.not_written, "bold red"), soft_wrap=True)
        return
    console.print(
        literal(f"wrote {result.out}/: {', '.join([*m['outputs'], 'manifest.json'])}", "dim"),
        soft_wrap=True,
    )


def split_command(request: SplitRequest) -> int:
    try:
        refuse_printing_into([*request.files, *also_read(request.settings)])
        result, notes = run_split(request)
    except (SfttuiError, OSError) as exc:
        return exit_with_error(exc, request.out)
    # With standard output closed (`>&-`), what was written and any problem go to stderr.
    try:
        print_split(result, notes, Console(stderr=True) if sys.stdout is None else stdout_console())
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError as exc:  # standard output full or gone (`> /dev/full`, `| true`)
        silence_stdout()
        # What the summary would have said first: whether the splits are on disk.
        done = (
            f"the splits were written and verified in {result.out}"
            if result.installed
            else result.not_written
        )
        exc.__notes__ = [done]
        return exit_with_error(exc, "standard output")
    return 1 if result.problems else 0

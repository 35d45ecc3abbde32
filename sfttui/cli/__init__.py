"""Command line: `sfttui scan`, `sfttui demo`, and `sfttui FILE...`.

The headless commands import no Textual, so they start fast and run in CI.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..display import visible
from ..engine.errors import SfttuiError
from ..engine.runtime.memory import hand_freed_memory_back, one_heap
from ..engine.settings import ENGINES, FAIL_KINDS
from .options import SPLIT_DEFAULTS, data_options, ratios_text, settings_from
from .signals import stopped_as_interrupted


def _version_text() -> str:
    try:
        textual = metadata.version("textual")
    except metadata.PackageNotFoundError:  # pragma: no cover - textual is a dependency
        textual = "not installed"
    return f"sfttui {__version__} (textual {textual})"


def _parse_fail_on(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    # Repeated, every one counts: with the last alone winning, `--fail-on leakage
    # --fail-on duplicates` dropped the leakage gate without a word.
    kinds = tuple(dict.fromkeys(k.strip() for v in value or () for k in v.split(",") if k.strip()))
    if value and not kinds:
        # An empty CI variable (`--fail-on "$GATES"`) must not turn every gate off unseen.
        raise click.BadParameter(f"names no kind; choose from {', '.join(FAIL_KINDS)}")
    unknown = [k for k in kinds if k not in FAIL_KINDS]
    if unknown:
        raise click.BadParameter(f"unknown kind {', '.join(unknown)}; choose from {', '.join(FAIL_KINDS)}")
    return kinds


def engine_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Where the row-scale stages run: here, or on a Dask cluster."""
    func = click.option(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler to run on, e.g. tcp://10.0.0.5:8786 (default: $DASK_SCHEDULER_ADDRESS, "
        "else a local cluster of one worker per core).",
    )(func)
    func = click.option(
        "--low-memory",
        is_flag=True,
        is_eager=True,  # before any option's check imports Polars: see _set_low_memory
        callback=_set_low_memory,
        help="Keep the rows' texts in temporary files and hand freed memory back at once: "
        "about a quarter less memory at a million chat rows, for about two thirds more time.",
    )(func)
    return click.option(
        "--engine",
        type=click.Choice(ENGINES),
        default="local",
        show_default=True,
        help="Run loading, duplicates and eval leakage here or as Dask tasks (same results).",
    )(func)


def _set_low_memory(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        hand_freed_memory_back()  # only takes before Polars loads
    return value


def _run_scan(files: list[str], opts: dict[str, Any], json_path: str | None, fail_on: tuple[str, ...]) -> int:
    from rich.console import Console

    from ..display import exit_with_error, literal, stdout_console
    from ..engine.registry import findings, not_checked
    from ..engine.report import refuse_overwriting_inputs, report_bytes, write_report
    from ..engine.runtime.engines import open_engine
    from ..engine.scan import run_scan
    from .streams import also_read, is_stdout, refuse_printing_into, silence_stdout
    from .summary import print_summary

    err = Console(stderr=True)
    settings = settings_from(opts)
    to_stdout = json_path == "-" or (json_path is not None and is_stdout(json_path))
    # With the report on standard output, everything said about it goes to stderr; so
    # does the summary when there is no standard output (closed: `>&-`).
    out = err if to_stdout or sys.stdout is None else stdout_console()
    try:
        # Every file the scan reads, not only the data: `--json prod.jsonl` beside
        # `--reference prod.jsonl` replaced the production sample with the report.
        read_too = also_read(settings)
        refuse_printing_into([*files, *read_too])
        if json_path and not to_stdout:
            refuse_overwriting_inputs(json_path, [*files, *read_too])
        with open_engine(opts.get("engine", "local"), opts.get("scheduler")) as engine:
            if engine.name != "local":
                err.print(literal(f"engine: {engine.describe()}", "dim"))
            result = run_scan(files, settings, engine=engine, spill=opts.get("low_memory", False))
        # Folders and archives name the files they hold only once read.
        read = [i.path for i in result.dataset.inputs] + [i["path"] for i in result.leakage.eval_inputs]
        refuse_printing_into(read)
        if json_path and not to_stdout:
            refuse_overwriting_inputs(json_path, read + read_too)
    except SfttuiError as exc:
        return exit_with_error(exc)
    try:
        print_summary(result, fail_on, out)
        if to_stdout:
            if sys.stdout is None:
                raise OSError(errno.EBADF, "it is closed")
            sys.stdout.buffer.write(report_bytes(result))
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError as exc:  # standard output is full or closed (`> /dev/full`, a pipe gone, `>&-`)
        if sys.stdout is not None:
            silence_stdout()
        return exit_with_error(exc, "standard output")
    if json_path and not to_stdout:
        try:
            write_report(result, json_path)
        except OSError as exc:
            return exit_with_error(exc, json_path)
        out.print(literal(f"report written to {json_path}", "dim"), soft_wrap=True)
    found, unchecked = findings(result), not_checked(result)
    failed = [k for k in fail_on if found.get(k)]
    blind = [k for k in fail_on if k in unchecked]
    for kind in blind:
        out.print(
            literal(
                f"failing: {kind} was not checked ({unchecked[kind]}); a gate on it cannot pass", "bold red"
            )
        )
    if failed:
        out.print(literal(f"failing: {', '.join(failed)} found (--fail-on)", "bold red"))
    return 1 if failed or blind else 0


class _FilesOrCommand(click.Group):
    """`sfttui FILE...` runs the default command; `sfttui scan ...` runs a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help", "--version"):
            args = ["open", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_FilesOrCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", message=_version_text())
def main() -> None:
    """Make a fine-tuning dataset clean and honest before anyone trains on it.

    \b
    sfttui FILE...          open the full-screen app
    sfttui scan FILE...     headless scan for CI: summary, JSON report, exit code
    sfttui split FILE...    write train/validation/test files, verified
    sfttui demo             the app on the bundled demo data
    """
    # Before any analysis starts its threads (help and usage errors never get here).
    one_heap()


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@data_options
@engine_options
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the JSON report here ('-': standard output, with the summary on stderr).",
)
@click.option(
    "--fail-on",
    callback=_parse_fail_on,
    multiple=True,
    metavar="KINDS",
    help=f"Exit 1 when any of these is found (comma list of: {', '.join(FAIL_KINDS)}; may be repeated).",
)
def scan(files: tuple[str, ...], json_path: str | None, fail_on: tuple[str, ...], **opts: Any) -> None:
    """Scan FILE... and print a summary; exit 1 if --fail-on finds something, 2 on bad input."""
    with stopped_as_interrupted():
        code = _run_scan(list(files), opts, json_path, fail_on)
    sys.exit(code)


def _ratios(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, float, float]:
    from ..engine.analyses.split import parse_ratios

    try:
        return parse_ratios(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def split_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options that shape the splits, shared by `split` and the app."""
    options = [
        click.option(
            "--ratios",
            default=ratios_text(SPLIT_DEFAULTS.ratios),
            show_default=True,
            callback=_ratios,
            help="Train/validation/test shares, e.g. 80/10/10 or 0.7,0.15,0.15.",
        ),
        click.option(
            "--seed",
            type=click.IntRange(0, 2**64 - 1),  # the manifest stores it as a 64-bit number
            default=SPLIT_DEFAULTS.seed,
            show_default=True,
            help="Seed for the split assignment (0 or more).",
        ),
        click.option(
            "--drop",
            type=click.Choice(["exact", "near", "none"]),
            default="exact",
            show_default=True,
            help="Duplicates dropped without a decision: exact copies, all near-duplicate non-keepers, none.",
        ),
        click.option(
            "--resplit", is_flag=True, help="Build new splits even when the input already has them."
        ),
        click.option(
            "--state-dir",
            type=click.Path(file_okay=False),
            help="Where the decisions journal lives (default: $XDG_STATE_HOME/sfttui, "
            "else ~/.local/state/sfttui; never beside the data).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _given(*names: str) -> tuple[str, ...]:
    """Which of these options the command line set (not their defaults); none when called
    as a function (tests), not from the command line."""
    from click.core import ParameterSource

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return ()
    return tuple(n for n in names if ctx.get_parameter_source(n) == ParameterSource.COMMANDLINE)


def _split_given() -> bool:
    """Whether the command line set the seed or asked for a re-split: then they hold, not
    what the person chose in the app (a journal decision)."""
    return bool(_given("seed", "resplit"))


def _split_settings(opts: dict[str, Any]) -> Any:
    from ..engine.analyses.split import SplitSettings

    return SplitSettings(ratios=opts["ratios"], seed=opts["seed"], resplit=opts["resplit"])


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@data_options
@split_options
@engine_options
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False), help="Directory to write.")
@click.option("--force", is_flag=True, help="Replace a non-empty output directory.")
@click.option(
    "--keep-contaminated", is_flag=True, help="Report rows matching an --eval set, do not drop them."
)
def split(files: tuple[str, ...], out: str, force: bool, keep_contaminated: bool, **opts: Any) -> None:
    """Write train/validation/test files with no group or duplicate across them."""
    from .split_command import SplitRequest, split_command

    request = SplitRequest(
        files=list(files),
        out=out,
        settings=settings_from(opts),
        split=_split_settings(opts),
        drop=opts["drop"],
        force=force,
        state_dir=opts["state_dir"],
        keep_contaminated=keep_contaminated,
        engine=opts["engine"],
        scheduler=opts["scheduler"],
        split_from_journal=not _split_given(),
        threshold_from_journal=not _given("threshold"),
        given=_given("ratios", "seed"),
        low_memory=opts["low_memory"],
    )
    with stopped_as_interrupted():
        code = split_command(request)
    sys.exit(code)


def _app_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--out",
        "-o",
        type=click.Path(file_okay=False),
        help="Where `w` writes the splits (default: NAME-splits beside the data).",
    )(func)
    return split_options(func)


ISOLATE_FROM_BYTES = 8 << 20


def _size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0  # the analysis reports the unreadable file


def _open_app(files: list[str], opts: dict[str, Any]) -> int:
    # Textual is imported only here, so the headless commands start fast.
    from ..display import exit_with_error
    from ..engine.io.load import check_inputs
    from ..engine.isolated import available as isolation_available
    from ..engine.session import Session
    from ..tui.app import SfttuiApp
    from .streams import also_read, need_a_terminal, refuse_printing_into

    settings = settings_from(opts)
    try:
        # The screen is drawn on standard output and error: never into a file it reads.
        refuse_printing_into([*files, *also_read(settings)])
        # A file that is not there (or not a file) is one line before the screen is
        # taken over, not a full-screen error to quit from.
        # Each set as its loader takes it: one file may be both an eval set and the
        # production sample, as scan allows.
        for paths in (files, settings.eval_paths, settings.coverage.reference_paths):
            if paths:
                check_inputs(list(paths), settings.load)
        need_a_terminal()
    except SfttuiError as exc:
        return exit_with_error(exc)
    session = Session(
        paths=files,
        settings=settings,
        split=_split_settings(opts),
        split_from_journal=not _split_given(),
        threshold_from_journal=not _given("threshold"),
        state_dir=opts["state_dir"],
        out_dir=opts["out"],
        drop=opts["drop"],
        # Past a few seconds of analysis, keys must not wait for the analysis's GIL: it
        # runs in a child process (small inputs are done before the process would start).
        isolate=isolation_available() and sum(_size(f) for f in files) >= ISOLATE_FROM_BYTES,
    )
    app = SfttuiApp(session, quit_on_sigterm=True)
    app.run()
    # Textual sets 1 after an unhandled exception (it has shown the traceback by then):
    # a crashed session must not look like a clean exit to a script or CI.
    return app.return_code or 0


class _OpenContext(click.Context):
    @property
    def command_path(self) -> str:
        return self.parent.command_path if self.parent else "sfttui"


class _OpenCommand(click.Command):
    """`sfttui FILE...`: its usage, help and hints name it so, not as the hidden `open`."""

    context_class = _OpenContext


@main.command(name="open", hidden=True, cls=_OpenCommand)
@click.argument("files", nargs=-1, required=True, type=click.Path())
@data_options
@_app_options
def open_files(files: tuple[str, ...], **opts: Any) -> None:
    """Open FILE... in the full-screen app."""
    sys.exit(_open_app(list(files), opts))


def demo_path() -> Path:
    return Path(__file__).parents[1] / "data" / "demo.jsonl"


@main.command()
@data_options
@_app_options
@click.option("--scan", "scan_only", is_flag=True, help="Print the scan instead of opening the app.")
def demo(scan_only: bool, **opts: Any) -> None:
    """Open the bundled demo data (support chats with planted problems) in the app.

    The app works on a copy in ./sfttui-demo/, where `w` writes its splits; decisions go
    to the journal in the state directory, as for any data. Unless --reference is given,
    the training prompts are compared with the bundled sample of production inputs.
    """
    if not opts["group_fields"]:
        opts["group_fields"] = ("user_id",)
    production = demo_path().with_name("demo_production.jsonl")
    if not opts["reference_paths"]:  # the bundled sample of production inputs to compare with
        opts["reference_paths"] = (str(production),)
    if scan_only:
        sys.exit(_run_scan([str(demo_path())], opts, None, ()))
    from ..display import exit_with_error
    from .streams import need_a_terminal

    try:
        need_a_terminal()  # before the copy below is made
    except SfttuiError as exc:
        sys.exit(exit_with_error(exc))
    work = Path.cwd() / "sfttui-demo"
    work.mkdir(exist_ok=True)
    copy = work / "demo.jsonl"
    if not copy.exists():  # never overwrite a copy the person may have changed
        copy.write_bytes(demo_path().read_bytes())
    from ..engine.decisions import state_home

    state = opts["state_dir"] or state_home()
    click.echo(
        visible(f"demo data: {copy}; decisions go to {state}; production sample: {production.name}"), err=True
    )
    sys.exit(_open_app([str(copy)], opts))

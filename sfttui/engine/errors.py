"""Errors the engine raises for what the person must fix: each carries a title (what the
app's error screen says) and the exit code the command line ends with; the message,
one line, says which file and why. The command line maps them in one place
(display.exit_with_error)."""


class SfttuiError(Exception):
    """Something the person must fix; `str(exc)` is the one line that says what."""

    title = "sfttui cannot go on"
    exit_code = 2


class InputError(SfttuiError):
    """A file cannot be read or understood; the message says which file and why."""

    title = "sfttui cannot open this data"


class ExportError(SfttuiError):
    """The output cannot be written (refused or failed); the message says why."""

    title = "sfttui cannot write the splits"


class ReportRefused(SfttuiError):
    """The report would be written over a file the scan reads; the message says which."""

    title = "sfttui will not write the report there"


class StateError(SfttuiError):
    """sfttui's own saved state (the decisions journal) cannot be used as it is."""

    title = "sfttui cannot use its saved decisions"

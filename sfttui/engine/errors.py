"""Errors the engine raises for input the person must fix (shown as one line, exit code 2)."""


class InputError(Exception):
    """A file cannot be read or understood; the message says which file and why."""


class ExportError(Exception):
    """The output cannot be written (refused or failed); the message says why."""

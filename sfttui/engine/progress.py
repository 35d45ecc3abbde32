"""Progress reporting shared by long engine operations.

Long operations take a `Progress` callback and call it per chunk with the stage name
and the fraction done; the CLI prints nothing, the app turns the calls into messages.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, float], None]


def no_progress(stage: str, fraction: float) -> None:
    """The default callback: report nothing."""

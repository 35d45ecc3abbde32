"""Which engine runs a scan's row-scale stages, by the name the command line gives:
`local` (parallel.LOCAL, this process) or `dask` (dask.DaskEngine)."""

from __future__ import annotations

import os

from ..errors import InputError
from ..settings import ENGINES
from .parallel import LOCAL, Engine


def open_engine(name: str = "local", scheduler: str | None = None) -> Engine:
    """The engine called `name`; raises InputError when it cannot be started."""
    if name == "local":
        if scheduler:
            raise InputError("--scheduler needs --engine dask")
        return LOCAL
    if name == "dask":
        from .dask import DaskEngine

        return DaskEngine.connect(scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS"))
    raise InputError(f"unknown engine '{name}' (expected one of {', '.join(ENGINES)})")

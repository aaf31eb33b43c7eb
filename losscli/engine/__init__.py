"""Where the rows are processed. Every engine has the signature of
:func:`losscli.engine.local.stream_evaluations` and runs the same per-block step
(:func:`losscli.engine.block.evaluate_block`); they differ in where the blocks are read and
evaluated. Add an engine: a module here and a line in ``ENGINES`` (the CLI's ``--engine``
choices come from it)."""

from __future__ import annotations

from functools import partial
from importlib import import_module
from typing import Callable

from ..errors import LossCliError

#: name -> (module, function, help text); modules are imported only when chosen
ENGINES: dict[str, tuple[str, str, str]] = {
    "local": ("local", "stream_evaluations", "this process"),
    "dask": ("dask", "dask_evaluations", "partitions of the inputs on a Dask cluster (losscli[dask])"),
}


def engine_function(engine: str, cluster=None) -> Callable:
    """The evaluation function of an engine, with its cluster settings bound where it takes
    them (``cluster``: a :class:`~losscli.engine.cluster.Cluster`, from the engine options)."""
    if engine not in ENGINES:
        raise LossCliError(f"--engine: expected one of {', '.join(ENGINES)}, got {engine!r}")
    module, name, _ = ENGINES[engine]
    fn = getattr(import_module(f"{__name__}.{module}"), name)
    if engine == "local":
        if cluster is not None and cluster.given():
            raise LossCliError(f"{cluster.given()} goes with --engine dask")
        return fn
    return partial(fn, cluster=cluster)

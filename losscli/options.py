"""The option families commands share, each declared once (sqlite-utils' way), with their
choices and defaults taken from the declarations that implement them: output formats from
``render.FORMATS``, engines from ``engine.ENGINES``, reductions and policies from
``vocabulary``. Nothing here imports numpy: ``losscli --help`` stays fast."""

from __future__ import annotations

import functools
import math

import click

from . import completion
from .engine import ENGINES
from .engine.cluster import Cluster
from .errors import LossCliError
from .render import FORMATS, SUFFIX_FORMATS, format_for
from .io.rules import HEADER_CHOICES, ON_MISSING
from .vocabulary import (BOOTSTRAP, BOOTSTRAP_SEED, CONFIDENCE, DEFAULT_TOP, DTYPES, MAX_BOOTSTRAP, MIN_SLICE_SIZE,
                         NAN_POLICIES, REDUCTIONS, ROW_SUM_TOL, TABLE_TOP_SLICES)


class _FiniteRange(click.FloatRange):
    """A float option that refuses NaN and ±inf (which would compare False with everything and
    make a gate pass or fail silently), within bounds as ``click.FloatRange``."""

    name = "number"

    def convert(self, value, param, ctx):
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"expected a finite number, got {value!r}", param, ctx)
        return rv


class _FiniteFloat(click.ParamType):
    """The same without bounds (a FloatRange without any would show ``[x<=None]`` in --help)."""

    name = "number"

    def convert(self, value, param, ctx):
        try:
            rv = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a valid float.", param, ctx)
        if not math.isfinite(rv):
            self.fail(f"expected a finite number, got {value!r}", param, ctx)
        return rv


def Finite(min: float | None = None, max: float | None = None, min_open: bool = False,
           max_open: bool = False) -> click.ParamType:
    """A finite float option, with optional bounds (as ``click.FloatRange`` takes them)."""
    if min is None and max is None:
        return _FiniteFloat()
    return _FiniteRange(min, max, min_open=min_open, max_open=max_open)


def stack(*decorators):
    """One decorator for an option family many commands share."""

    def apply(f):
        for d in reversed(decorators):
            f = d(f)
        return f

    return apply


def format_option(command: str, help: str = "Output format."):
    """``--format`` with the formats ``render.FORMATS`` declares for ``command`` (the first is the
    default); not given, the suffix of ``-o`` names it where it names one (``render.format_for``)."""
    choices = list(FORMATS[command])
    suffixes = sorted(s for s, f in SUFFIX_FORMATS.items() if f in choices)

    def apply(f):
        # (declared above -o, so -o is among the options already declared)
        if not suffixes or not any(p.name == "output" for p in getattr(f, "__click_params__", ())):
            return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0],
                                show_default=True, help=help)(f)

        @functools.wraps(f)
        def command_(*args, fmt, **kwargs):
            ctx = click.get_current_context()
            if ctx.get_parameter_source("fmt") is click.core.ParameterSource.DEFAULT:
                fmt = format_for(command, kwargs.get("output")) or fmt
            return f(*args, fmt=fmt, **kwargs)

        return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0], help=(
            f"{help} Default: as -o's suffix names it ({', '.join(suffixes)}), else {choices[0]}."))(command_)

    return apply


def output_option(help: str = "Write the report to FILE (- for standard output)."):
    return click.option("-o", "--output", type=click.Path(dir_okay=False, readable=False), help=help)  # (0200: ours to write)


def report_option(command: str):
    """``--report FORMAT:FILE`` (repeatable): more reports of the same run beside the main
    output, in any of ``command``'s formats; the command gets ``reports`` as [(format, path)]."""
    choices = list(FORMATS[command])

    def parse(ctx: click.Context, param, values):
        out: list[tuple[str, str]] = []
        for value in values:
            fmt, sep, path = value.partition(":")
            if not sep or fmt not in choices or not path:
                raise click.BadParameter(f"expected FORMAT:FILE with FORMAT one of {', '.join(choices)}; got "
                                         f"{value!r}", ctx, param)
            if path == "-":
                raise click.BadParameter(f"{value!r}: a report goes to a file; standard output carries --format's "
                                         "output", ctx, param)
            if path in (p for _, p in out):
                raise click.BadParameter(f"{path} is named twice", ctx, param)
            out.append((fmt, path))
        return out

    return click.option("--report", "reports", multiple=True, metavar="FORMAT:FILE", callback=parse,
                        help=f"Also write this run's report as FORMAT ({', '.join(choices)}) to FILE (repeatable): "
                        "e.g. --report junit:results.xml --report markdown:summary.md.")


param_option = click.option("-p", "--param", "params", multiple=True, metavar="[LOSS.]NAME=VALUE",
                            shell_complete=completion.parameters, help="Set a loss parameter (repeatable).")

_CLUSTER = Cluster()  # the defaults the cluster options show


def engine_options(f):
    """``--engine`` and the options of a Dask cluster; the command gets ``engine`` and
    ``cluster`` (an ``engine.cluster.Cluster``)."""

    @functools.wraps(f)
    def command(*args, scheduler, scheduler_file, connect_timeout, worker_timeout, stall_timeout, partition_size,
                **kwargs):
        return f(*args, cluster=Cluster(scheduler, scheduler_file, connect_timeout, worker_timeout, stall_timeout,
                                        partition_size), **kwargs)

    seconds = Finite(min=0, max=1e6, min_open=True)
    return stack(
        click.option("--engine", type=click.Choice(list(ENGINES)), default=next(iter(ENGINES)), show_default=True,
                     help="; ".join(f"{name}: {text}" for name, (_, _, text) in ENGINES.items()) + "."),
        click.option("--scheduler", metavar="ADDRESS", help="With --engine dask: a running scheduler "
                     "(tcp://host:8786); default DASK_SCHEDULER_ADDRESS, else a local cluster sized to the machine."),
        click.option("--scheduler-file", metavar="FILE", help="With --engine dask: the file `dask scheduler "
                     "--scheduler-file FILE` wrote (instead of --scheduler)."),
        click.option("--connect-timeout", type=seconds, default=_CLUSTER.connect_timeout, show_default=True,
                     metavar="SECONDS", help="With --engine dask: how long to wait for the scheduler to answer."),
        click.option("--worker-timeout", type=seconds, default=_CLUSTER.worker_timeout, show_default=True,
                     metavar="SECONDS", help="With --engine dask: how long to wait for a worker (at the start, "
                     "or when every worker is lost)."),
        click.option("--stall-timeout", type=seconds, default=_CLUSTER.stall_timeout, show_default=True,
                     metavar="SECONDS", help="With --engine dask: how long no partition may finish before the "
                     "run is given up."),
        click.option("--partition-size", metavar="SIZE", default=f"{_CLUSTER.partition_size >> 20}M",
                     show_default=True, callback=_size,
                     help="With --engine dask: input bytes per partition; larger files are cut into row ranges "
                     "of about this size."),
    )(command)


def _size(ctx: click.Context, param, value):
    from .resources import parse_size

    try:
        size = parse_size(value, "--partition-size")
    except LossCliError as exc:
        raise click.BadParameter(str(exc).removeprefix("--partition-size: "), ctx, param) from None
    if size < 4096:
        raise click.BadParameter(f"expected at least 4K, got {value!r}", ctx, param)
    return size


def reduction_option(choices=REDUCTIONS, help: str = "How per-sample losses are reduced "
                     "(mean with --weights: Σ w·l / Σ w)."):
    return click.option("--reduction", type=click.Choice(list(choices)), default=choices[0], show_default=True,
                        help=help)


weights_option = click.option("--weights", metavar="FILE[:SEL]", shell_complete=completion.inputs, help="Per-sample weights (N,), >= 0, not all zero.")

nan_policy_option = click.option(
    "--nan-policy", type=click.Choice(list(NAN_POLICIES)), default=NAN_POLICIES[0], show_default=True,
    help="NaN/inf in inputs: error, drop the rows, or let them through.")

dtype_option = click.option(
    "--dtype", type=click.Choice(list(DTYPES)), default=DTYPES[0], show_default=True,
    help="Precision inputs are read and per-sample losses computed in; float32 halves memory (reductions stay "
         "float64).")


#: how inputs are read and paired (compute, compare; a check gate has the same keys)
reading_options = stack(
    click.option("--header", type=click.Choice(list(HEADER_CHOICES)), default=HEADER_CHOICES[0], show_default=True,
                 help="Text inputs whose first line is all numbers: is it a header? auto: when it reads like "
                 "pandas' header of numbered columns (a note says so). A line with words is decided without it."),
    click.option("--on", metavar="COLUMN", shell_complete=completion.input_columns, help="Pair the rows of the inputs by this key column (text or "
                 "integers) instead of by position; rows come in the first input's order."),
    click.option("--on-missing", type=click.Choice(list(ON_MISSING)), default=ON_MISSING[0], show_default=True,
                 help="With --on: keys that are not in every input are an error, or their rows are dropped."),
    click.option("--positional", is_flag=True, help="Pair rows by position without comparing the inputs' index, "
                 "id, label or partition columns: you know the rows are in one order (y_test.to_csv() after "
                 "train_test_split beside predictions made from X_test)."),
    click.option("--classes", metavar="NAME,...", help="Class names in index order, for labels written as "
                 "names, or as integers other than 0..K-1 (1,2,3) (default: the predictions' column names)."),
    click.option("--prob-tol", type=Finite(min=0, max=1), default=ROW_SUM_TOL, show_default=True,
                 help="How far a probability row's sum may be from 1."))


def top_option(default: int = DEFAULT_TOP, help: str = "How many worst samples to show."):
    return click.option("--top", type=click.IntRange(min=0), default=default, show_default=True, help=help)


#: slices: the loss by group (compute, compare; a check gate has the keys by, by_file, min_slice_size)
slice_options = stack(
    click.option("--by", metavar="COLUMN[,COLUMN...]", shell_complete=completion.input_columns, help="Report the loss per slice: per value of these key "
                 "columns (text, integers, booleans) of the inputs (or of --by-file), beside the overall value."),
    click.option("--by-file", metavar="FILE[:COLUMNS]", shell_complete=completion.inputs, help="The --by columns from this file, one row per sample "
                 "(lined up by position, or by --on)."),
    click.option("--min-slice-size", type=click.IntRange(min=1), default=None, metavar="N",
                 help=f"Slices with fewer rows are reported, but neither ranked nor gated (default {MIN_SLICE_SIZE})."),
    click.option("--top-slices", type=click.IntRange(min=0), default=None, metavar="K",
                 help=f"List the K worst slices (0: all; default all, {TABLE_TOP_SLICES} in the table); a slice "
                 "that fails a gate is always listed."))

#: the bootstrap of a confidence interval (compare; compute --ci)
bootstrap_options = stack(
    click.option("--bootstrap", "n_boot", type=click.IntRange(0, MAX_BOOTSTRAP), default=BOOTSTRAP, show_default=True,
                 help="Bootstrap resamples for the confidence interval (0: none)."),
    click.option("--confidence", type=Finite(0, 1, min_open=True, max_open=True), default=CONFIDENCE,
                 show_default=True, help="Confidence level of the interval."),
    click.option("--seed", type=click.IntRange(min=0), default=BOOTSTRAP_SEED, show_default=True,
                 help="Seed of the bootstrap."))

"""The command-line interface: a thin layer that declares options and calls a command
(``losscli/commands/``); every choice and default comes from the declaration that implements it.

Commands: ``list``, ``info``, ``compute``, ``compare``, ``check``, ``gradcheck``, ``plot``, ``fit``. Exit codes: 0 ok; 1 a check failed (``--fail-above``);
2 usage or input error (one line on stderr, ``--debug`` for a traceback); 3 an internal error
(how a run ends: ``runs.py``).
"""

from __future__ import annotations

import os

import click

from . import completion, exits
from . import options as opt
from .errors import LossCliError
from .runs import Group, InputsCommand, say
from .gradcheck import Options as GradcheckOptions
from .gradcheck.methods import METHODS
from .schedules import SCHEDULES
from .vocabulary import CATEGORIES, QUANTILE_BUDGET, SCALAR_REDUCTIONS

_GRADCHECK = GradcheckOptions()  # the defaults gradcheck's options show



def _load_plugins(ctx: click.Context, param, values):
    if not values:
        return values
    from . import registry
    from .plugins import load_plugin

    before = dict(registry.OVERRIDES)
    for spec in values:
        try:
            load_plugin(spec)
        except LossCliError as exc:
            raise click.BadParameter(str(exc).removeprefix(f"--plugin {spec}: "), ctx, param) from None
    for name, source in registry.OVERRIDES.items():
        if name not in before:
            say(f"losscli: warning: {source} replaces the built-in loss {name} (--allow-override)")
    return values


def _allow_override(ctx: click.Context, param, value):
    if value:
        from . import registry

        registry.ALLOW_OVERRIDE = True
    return value


def _max_memory(ctx: click.Context, param, value):
    if value is not None:
        from .resources import parse_size, set_limit

        try:
            set_limit(parse_size(value))
        except LossCliError as exc:
            raise click.BadParameter(str(exc).removeprefix("--max-memory: "), ctx, param) from None
    return value


def _no_plugins(ctx: click.Context, param, value):
    if value:
        os.environ["LOSSCLI_NO_PLUGINS"] = "1"
    return value


@click.group(name="losscli", cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=None, package_name="losscli", prog_name="losscli",
                      message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show a traceback with errors.")
@click.option("--allow-override", is_flag=True, is_eager=True, expose_value=False, callback=_allow_override,
              help="Let a plugin replace a built-in loss (said on stderr and in the JSON).")
@click.option("--max-memory", metavar="SIZE", expose_value=False, callback=_max_memory,
              help="Memory a run may plan for (512M, 4G; default 80% of what is available); options that would "
                   "need more are refused before anything is allocated.")
@click.option("--no-plugins", is_flag=True, is_eager=True, expose_value=False, callback=_no_plugins,
              help="Do not load installed plugins (as LOSSCLI_NO_PLUGINS=1).")
@click.option("--plugin", "plugins", multiple=True, metavar="PATH|MODULE", callback=_load_plugins,
              expose_value=True, help="Load a Python file or module that registers losses (repeatable).")
def main(debug: bool, plugins):
    """Evaluate and verify loss functions from the command line.

    \b
    losscli list                       every loss, its inputs and parameters
    losscli info huber                 formula, gradient, conventions, sources
    losscli compute mse,mae p.csv y.csv   values, statistics, worst samples
    losscli gradcheck focal            analytic gradient vs numeric
    losscli completion bash            shell completion (see its --help)
    """
    exits.terminate_on_signals()


# -- list / info ---------------------------------------------------------------------------------
@main.command("list", short_help="List every loss: names, inputs, parameters.")
@click.option("--category", type=click.Choice(list(CATEGORIES)), help="Only losses of this category.")
@opt.format_option("list")
def list_cmd(category, fmt):
    """List every registered loss: name, aliases, category, inputs, parameters."""
    from .commands.catalogue import run_list

    return run_list(category, fmt)


@main.command("info", short_help="A loss's formula, gradient and references.")
@click.argument("loss", shell_complete=completion.losses)
@opt.format_option("info")
def info_cmd(loss, fmt):
    """Show a loss's formula, gradient, inputs, parameters, conventions and references."""
    from .commands.catalogue import run_info

    return run_info(loss, fmt)


# -- compute -------------------------------------------------------------------------------------
@main.command("compute", cls=InputsCommand, short_help="Evaluate losses on predictions and labels.")
@click.argument("losses", shell_complete=completion.losses)
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...", shell_complete=completion.inputs)
@opt.param_option
@opt.reduction_option()
@opt.weights_option
@opt.top_option()
@click.option("--per-sample", is_flag=True, help="Include every sample's loss in the output.")
@opt.format_option("compute")
@opt.output_option()
@opt.report_option("compute")
@click.option("--save-grad", type=click.Path(dir_okay=False, readable=False), metavar="FILE.npz|FILE.npy",
              help="Save the gradient of the reported value w.r.t. each differentiable input (.npy: one array).")
@click.option("--fail-above", type=opt.Finite(), metavar="X", help="Exit 1 if a reduced loss exceeds X.")
@opt.nan_policy_option
@opt.reading_options
@opt.dtype_option
@click.option("--block-rows", type=click.IntRange(min=1), default=None,
              help="Rows read per block (default: about 2 MB of input per block, at least 16,384 rows).")
@click.option("--exact-quantiles", "quantile_budget", type=click.IntRange(min=0), default=None,
              metavar="N", help="Standard input/URLs: hold up to N per-sample values (shared by the "
              f"losses) for exact p50/p90/p99 (8 bytes each; default {QUANTILE_BUDGET:,}), beyond it a KLL sketch "
              "(rank error 0.036%). Local files are exact in bounded memory. 0: always the sketch.")
@click.option("--params", "model_params", metavar="FILE[:SEL]", shell_complete=completion.inputs,
              help="The model's parameters (NPY/CSV), for a structural-risk penalty.")
@click.option("--l1", type=opt.Finite(min=0), default=0.0, help="L1 penalty λ₁·‖w‖₁ on --params.")
@click.option("--l2", type=opt.Finite(min=0), default=0.0, help="L2 penalty λ₂·½‖w‖² on --params.")
@opt.slice_options
@click.option("--ci", is_flag=True, help="A bootstrap confidence interval of each value (overall and per slice); "
              "keeps every sample's loss in memory (8 bytes a row).")
@opt.bootstrap_options
@opt.engine_options
def compute_cmd(losses, inputs, params, reduction, weights, top, per_sample, fmt, output, reports, save_grad,
                fail_above, nan_policy, header, on, on_missing, positional, classes, prob_tol, dtype, block_rows,
                quantile_budget,
                model_params, l1, l2, by, by_file, min_slice_size, top_slices, ci, n_boot, confidence, seed,
                engine, cluster):
    """Evaluate LOSSES (one name or a comma list) on INPUT files given in the losses' role order.

    \b
    An INPUT is PATH or PATH:SELECTOR; '-' reads CSV from stdin:
      preds.csv:pred      a CSV column by name
      eval.csv:p0,p1,p2   several columns by name
      eval.csv:2-11       columns by 0-based index
      out.npz:logits      an NPZ array
    """
    from .commands.common import reading_rules
    from .commands.compute import refuse_unshown, run_compute
    from .commands.slicing import bootstrap, slicing

    ctx = click.get_current_context()
    given = {name: ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT for name in ("top", "fmt")}
    refuse_unshown({w for w, on in (("ci", ci), ("per_sample", per_sample), ("worst", top and given["top"]),
                                    ("slices", (by or by_file) and fail_above is None)) if on},
                   fmt, reports, reduction, None if given["fmt"] or not output else f"-o {output} ({fmt}, by its suffix)")
    slices, view = slicing(by, by_file, min_slice_size, top_slices, fmt, reports=reports)
    code = run_compute(
        losses, inputs, params=params, reduction=reduction, weights=weights, top=top,
        per_sample=per_sample, fmt=fmt, output=output, save_grad=save_grad, fail_above=fail_above,
        nan_policy=nan_policy, dtype=dtype, chunk_rows=block_rows or "auto",
        quantile_budget=quantile_budget, model_params=model_params, l1=l1, l2=l2, engine=engine,
        cluster=cluster, rules=reading_rules(header, on, on_missing, classes, positional=positional), prob_tol=prob_tol,
        slices=slices, view=view, ci=bootstrap(ci, n_boot, confidence, seed), reports=reports)
    return code


@main.command("gradcheck", cls=InputsCommand, short_help="Check analytic gradients against numeric ones.")
@click.argument("args", nargs=-1, metavar="[LOSS...] [INPUT...]", shell_complete=completion.gradcheck_args)
@click.option("--all", "all_losses", is_flag=True, help="Check every differentiable loss in the registry.")
@opt.param_option
@click.option("--seed", type=click.IntRange(min=0), default=_GRADCHECK.seed, show_default=True, help="Seed of the random inputs and probes.")
@click.option("--samples", type=click.IntRange(min=1), default=8, show_default=True, help="N of random inputs.")
@click.option("--classes", type=click.IntRange(min=2), default=4, show_default=True, help="C of random inputs.")
@click.option("--dim", type=click.IntRange(min=1), default=3, show_default=True, help="D of random inputs.")
@click.option("--method", type=click.Choice(list(METHODS)), default=_GRADCHECK.method, show_default=True,
              help="Numeric derivative: " + "; ".join(f"{k}: {text}" for k, (_, text) in METHODS.items()) + ".")
@click.option("--rtol", type=opt.Finite(min=0, min_open=True), default=_GRADCHECK.rtol, show_default=True, help="Relative tolerance per element.")
@click.option("--atol", type=opt.Finite(min=0), default=_GRADCHECK.atol, show_default=True,
              help="Absolute tolerance: an element passes when |analytic - numeric| <= max(ATOL, rtol·|gradient|, "
              "the numeric error bound); one that passes only by ATOL or the error bound is 'below-noise'.")
@click.option("--max-elements", type=click.IntRange(min=1), default=_GRADCHECK.max_elements, show_default=True,
              help="Per role, for batch-coupled losses: check a stratified sample beyond this.")
@click.option("--order", type=click.IntRange(1, 2), default=1, show_default=True,
              help="2: also check second derivatives (the framework's Hessian-vector products against differences "
              "of its gradient); for losses registered with backend='torch' or 'jax'.")
@click.option("--probes", type=click.IntRange(min=0), default=_GRADCHECK.probes, show_default=True,
              help="Random-direction probes per role when sampling.")
@opt.top_option(_GRADCHECK.top, "Worst elements shown.")
@opt.format_option("gradcheck")
@opt.output_option()
@opt.report_option("gradcheck")
def gradcheck_cmd(args, all_losses, params, seed, samples, classes, dim, method, rtol, atol, max_elements,
                  order, probes, top, fmt, output, reports):
    """Compare each loss's analytic gradient with numeric derivatives, element by element.

    \b
    losscli gradcheck focal softmax_ce     at random valid inputs (--seed, ...)
    losscli gradcheck --all                every differentiable loss
    losscli gradcheck focal logits.npy y.csv   at your data

    Exit 0 when every element passes, 1 when any fails, 2 on a usage or input
    error.
    """
    from .commands.gradcheck import run_gradcheck, split_names_and_inputs

    names, inputs = split_names_and_inputs(args)
    opts = GradcheckOptions(method=method, rtol=rtol, atol=atol, max_elements=max_elements, probes=probes,
                   seed=seed, top=top)
    return run_gradcheck(names, inputs, all_losses=all_losses, params=params, samples=samples,
                           classes=classes, dim=dim, seed=seed, opts=opts, fmt=fmt, output=output, reports=reports,
                           order=order)


@main.command("compare", cls=InputsCommand, short_help="Compare a candidate's losses with a baseline's.")
@click.argument("losses", shell_complete=completion.losses)
@click.argument("baseline", shell_complete=completion.inputs)
@click.argument("candidate", shell_complete=completion.inputs)
@click.argument("others", nargs=-1, required=True, metavar="LABELS...", shell_complete=completion.inputs)
@opt.param_option
@opt.reduction_option(SCALAR_REDUCTIONS, "How per-sample losses are reduced.")
@opt.weights_option
@opt.bootstrap_options
@click.option("--fail-if-worse", "fail_if_worse", is_flag=False, flag_value="0", default=None,
              metavar="[TOLERANCE]", help="Exit 1 when the candidate is worse by more than TOLERANCE "
              "(absolute, or relative with %; default 0).")
@click.option("--significant", is_flag=True, help="With --fail-if-worse: only when the whole interval is worse.")
@opt.top_option(help="Worst regressions shown.")
@opt.nan_policy_option
@opt.reading_options
@opt.slice_options
@opt.format_option("compare")
@opt.output_option()
@opt.report_option("compare")
@opt.engine_options
def compare_cmd(losses, baseline, candidate, others, params, reduction, weights, n_boot, confidence, seed,
                fail_if_worse, significant, top, nan_policy, header, on, on_missing, positional, classes, prob_tol, by,
                by_file, min_slice_size, top_slices, fmt, output, reports, engine, cluster):
    """Compare LOSSES of a CANDIDATE's predictions with a BASELINE's on the same LABELS.

    \b
    losscli compare mse old.csv:pred new.csv:pred y.csv --fail-if-worse 1%

    Per loss: both values, the change, the share of samples better, worse and
    equal, and a paired bootstrap confidence interval of the change. Exit 1
    when --fail-if-worse trips.
    """
    from .commands.common import reading_rules
    from .commands.compare import run_compare
    from .commands.slicing import slicing

    if significant and fail_if_worse is None:
        raise click.UsageError("--significant goes with --fail-if-worse")
    return run_compare(losses, baseline, candidate, others, params=params, reduction=reduction,
                         weights=weights, n_boot=n_boot, confidence=confidence, seed=seed,
                         fail_if_worse=fail_if_worse, significant=significant, top=top, fmt=fmt,
                         output=output, nan_policy=nan_policy, engine=engine, cluster=cluster,
                         rules=reading_rules(header, on, on_missing, classes, positional=positional),
                         prob_tol=prob_tol,
                         slicing=slicing(by, by_file, min_slice_size, top_slices, fmt, reports=reports),
                         reports=reports)


@main.command("check", short_help="Run the loss gates of a config file.")
@click.argument("config", required=False, shell_complete=completion.files)
@opt.format_option("check")
@opt.output_option()
@opt.report_option("check")
@opt.engine_options
def check_cmd(config, fmt, output, reports, engine, cluster):
    """Run the loss gates of CONFIG (default: losscli.toml, else [tool.losscli] in pyproject.toml).

    \b
    [[gate]]
    loss = "mse"
    inputs = ["preds.csv:pred", "labels.csv:label"]
    max = 0.5                      # and/or min, and/or:
    baseline = "old_preds.csv:pred"   # compared against, with
    max_increase = "2%"            # absolute or relative; significant = true

    Exit 0 when every gate passes, 1 when one fails, 2 for a malformed config or
    a gate that cannot be evaluated (reported as an error beside the others).
    """
    from .commands.check import run_check

    return run_check(config, fmt=fmt, output=output, engine=engine, cluster=cluster, reports=reports)


@main.command("plot", short_help="Draw losses and their derivatives.")
@click.argument("losses", shell_complete=completion.plottable_losses)
@opt.param_option
@click.option("--range", "span", metavar="LO:HI", help="The axis range (default -3:3; 0.001:0.999 for probabilities).")
@click.option("--points", type=click.IntRange(min=2), default=301, show_default=True, help="Points per curve.")
@click.option("--sweep", metavar="NAME=V1,V2,...", help="One curve per value of a parameter, e.g. gamma=0,0.5,1,2,5.")
@opt.format_option("plot", "A terminal chart, or the sampled points.")
@opt.output_option("Write to FILE; .png/.svg/.pdf draw an image (needs losscli[plot]).")
def plot_cmd(losses, params, span, points, sweep, fmt, output):
    """Draw LOSSES and their derivatives against the natural axis of their family.
    A derivative panel whose ends dwarf the rest (bce, focal) is clipped, and says so.

    \b
    losscli plot mse,mae,huber,log_cosh     against the residual r = y - f(x)
    losscli plot hinge,exponential,zero_one against the margin m = y·f(x)
    losscli plot bce                        against the probability p
    losscli plot bce,focal                  against p_t = p of the true class
    losscli plot focal --sweep gamma=0,0.5,1,2,5 -o focal.png
    """
    from .commands.plot import run_plot

    return run_plot(losses, params=params, span=span, points=points, sweep=sweep, fmt=fmt, output=output)


@main.command("fit", short_help="Fit a linear model by gradient descent.")
@click.argument("loss", shell_complete=completion.losses)
@click.argument("data", shell_complete=completion.files)
@click.option("--target", shell_complete=completion.input_columns,
              help="Target column (default: the last column; refused if it holds text).")
@click.option("--features", shell_complete=completion.input_columns,
              help="Feature columns, comma-separated (default: every other numeric column).")
@opt.param_option
@click.option("--lr", type=opt.Finite(min=0, min_open=True), default=0.1, show_default=True, help="Base learning rate.")
@click.option("--epochs", type=click.IntRange(min=1), default=500, show_default=True, help="Gradient steps.")
@click.option("--schedule", type=click.Choice(list(SCHEDULES)), default=next(iter(SCHEDULES)),
              show_default=True, help="Learning-rate schedule.")
@click.option("--step-size", type=click.IntRange(min=1), default=10, show_default=True, help="step: epochs per decay.")
@click.option("--factor", type=opt.Finite(min=0, max=1), default=0.1, show_default=True, help="step: decay factor.")
@click.option("--decay", type=opt.Finite(min=0), default=0.01, show_default=True, help="exponential / inverse: k.")
@click.option("--l1", type=opt.Finite(min=0), default=0.0,
              help="L1 penalty λ₁·‖w‖₁ on the standardised weights (proximal steps: exact zeros).")
@click.option("--l2", type=opt.Finite(min=0), default=0.0,
              help="L2 penalty λ₂·½‖w‖² on the standardised weights.")
@opt.format_option("fit")
@opt.output_option("Write the result (.json) or the loss curve (.csv, .png/.svg/.pdf).")
def fit_cmd(loss, data, target, features, params, lr, epochs, schedule, step_size, factor, decay, l1, l2, fmt, output):
    """Fit a linear model to DATA (a CSV) by gradient descent on LOSS, with its analytic gradient.

    \b
    losscli fit huber sample_data/regression/outliers.csv --target price --lr 0.5
    losscli fit hinge data.csv --schedule step --step-size 50 --factor 0.5
    """
    from .commands.fit import run_fit

    return run_fit(loss, data, target=target, features=features, params=params, lr=lr, epochs=epochs,
                     schedule=schedule, step_size=step_size, factor=factor, decay=decay, l1=l1, l2=l2,
                     fmt=fmt, output=output)


@main.command("completion", short_help="Print a shell's completion script.")
@click.argument("shell", type=click.Choice(completion.SHELLS))
def completion_cmd(shell):
    """Print the completion script for SHELL (bash, zsh or fish). Completes loss
    names, parameters (-p huber.<TAB> gives huber.delta=), formats, files, and after
    FILE: the column names of its header (or an NPZ's arrays).

    \b
    Install it once:
      bash: eval "$(losscli completion bash)"    # in ~/.bashrc
      zsh:  eval "$(losscli completion zsh)"     # in ~/.zshrc, after compinit
      fish: losscli completion fish > ~/.config/fish/completions/losscli.fish
    Bash keeps its own file-name completion where losscli has nothing to offer.
    """
    from .commands.common import refuse_overwriting_inputs
    from .render import emit

    refuse_overwriting_inputs([("the completion script", "-")])  # (`--plugin pl.py completion bash >> pl.py`)
    emit(completion.script(main, shell))


if __name__ == "__main__":  # pragma: no cover
    main(prog_name="losscli")

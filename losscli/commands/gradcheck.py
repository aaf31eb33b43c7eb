"""The ``gradcheck`` command: choose losses and inputs (files, or random valid inputs), check,
report; and its result record."""

from __future__ import annotations

import math

from ..errors import LossCliError
from ..loss import Loss
from ..resources import require
from ..gradcheck.check import Options, check_loss
from ..gradcheck.record import result_record


#: the share of random inputs drawn near their domain's bounds (tiny probabilities, variances near 0)
RANDOM_BOUNDARY = 0.25


def _trailing(dim: int) -> tuple[int, ...]:
    """What ``...`` in a role's shape stands for at random inputs: --dim elements per sample, and
    1-D rows at --dim 1."""
    return (dim,) if dim > 1 else ()


def split_names_and_inputs(args) -> tuple[list[str], list[str]]:
    """Leading arguments that name registered losses (and are not files) are losses; the rest
    are inputs: ``gradcheck focal softmax_ce`` vs ``gradcheck focal logits.npy labels.csv``."""
    import os

    from ..catalogue import get_loss
    from ..errors import UnknownLossError
    from ..io.spec import reads_stdin

    names: list[str] = []
    for i, arg in enumerate(args):
        if reads_stdin(arg) or os.path.exists(arg.split(":")[0]) or (
                names and (":" in arg or "." in arg or "/" in arg)):
            return names, list(args[i:])
        try:
            for part in arg.split(","):
                get_loss(part)
        except UnknownLossError:
            if names:  # not a loss, not a file: let the reader say "no such file"
                return names, list(args[i:])
            raise
        names.append(arg)
    return names, []


def _random_input_bytes(loss: Loss, samples: int, classes: int, dim: int) -> float:
    """A generous bound of the memory a check at random inputs takes: the inputs, the copies the
    numeric derivatives perturb, and N×N similarity matrices for batch-coupled losses."""
    from ..shapes import concrete

    resolved: dict[str, tuple] = {}
    elements = 0
    for role in loss.inputs:
        resolved[role.name] = concrete(role.shape, {"N": samples, "C": classes}, resolved, default=dim,
                                       trailing=_trailing(dim))
        elements += math.prod(resolved[role.name])
    extra = 8.0 * 8 * samples * samples if loss.coupling == "batch" else 0.0
    return 8.0 * 16 * elements + extra


def check_one(loss: Loss, arrays: dict, params: dict, opts: Options, order: int = 1):
    """The check of one loss: its elements (check.py); for a loss written in PyTorch or JAX also the
    precision it computes in, its differentiable parameters and, with ``order`` 2, its second
    derivatives."""
    result = check_loss(loss, arrays, params, opts)
    if loss.bridge is not None:
        from ..gradcheck.order2 import check_second_order
        from ..gradcheck.parameters import check_parameters, precision_note

        precision = precision_note(loss, arrays, params, result)
        check_parameters(loss, arrays, params, opts, result, precision)
        if order == 2:
            check_second_order(loss, arrays, params, opts, result, precision)
    return result


def run_gradcheck(names, inputs, *, all_losses=False, params=(), samples=8, classes=4, dim=3,
                  seed=0, opts: Options | None = None, fmt="table", output=None, stdin=None, reports=(),
                  order: int = 1) -> int:
    """The ``gradcheck`` command: returns 0 when every loss passes, 1 otherwise. ``order`` 2 adds the
    second derivatives of losses written in PyTorch or JAX (an error for numpy losses)."""
    import time

    from ..catalogue import list_losses
    from ..io.cache import InputCache
    from ..io.replace import together
    from ..render import Timing, publish
    from ..sampling import random_inputs
    from .common import (main_output, parse_param_options, prepare, refuse_overwriting_inputs, report_outputs,
                         report_warnings, select_losses, stamp)

    timing = Timing()

    opts = opts or Options(seed=seed)
    if all_losses:
        if names:
            raise LossCliError("give loss names or --all, not both")
        losses = [l for l in list_losses() if l.has_gradient and (order == 1 or l.bridge is not None)]
        if not losses:
            raise LossCliError("gradcheck --all --order 2: no loss registered with backend='torch' or 'jax' "
                               "(load yours with --plugin)")
    else:
        if not names:
            raise LossCliError("name at least one loss, or use --all")
        losses = select_losses(",".join(names))
    if order not in (1, 2):
        raise LossCliError(f"--order {order}: gradcheck checks first (1) or second (2) derivatives")
    if order == 2:
        from ..gradcheck.order2 import refuse_without_framework

        for loss in losses:
            refuse_without_framework(loss)
    refuse_overwriting_inputs([main_output(output, fmt), *report_outputs(reports)], inputs, params,
                              report=("gradcheck", fmt))
    by_loss = parse_param_options(losses, params)
    results = []
    if inputs:
        prepared = prepare(losses, inputs, InputCache(stdin=stdin), "raise", by_loss)
        report_warnings(prepared)
        for p in prepared:
            since = time.perf_counter()
            results.append(check_one(p.loss, p.checked.arrays, by_loss[p.loss.name], opts, order))
            timing.case(p.loss.name, since)
    else:
        for loss in losses:
            if not loss.has_gradient:
                raise LossCliError(f"gradcheck: {loss.no_gradient_message()}")
            require(_random_input_bytes(loss, samples, classes, dim), "--samples/--classes/--dim",
                    f"checking {loss.name} at random inputs of N={samples}, C={classes}, D={dim}")
            since = time.perf_counter()
            # (N,... roles get --dim trailing elements, none at --dim 1; a quarter of the rows near the
            # domain's bounds)
            arrays = random_inputs(loss, samples=samples, classes=classes, dim=dim, seed=seed, optional=True,
                                   trailing=_trailing(dim), boundary=RANDOM_BOUNDARY, params=by_loss[loss.name])
            results.append(check_one(loss, arrays, by_loss[loss.name], opts, order))
            timing.case(loss.name, since)
    payload = {**stamp(), "passed": all(r.passed for r in results),
               "results": [result_record(r, opts.top) for r in results]}
    with together():  # (the report files and -o: all of them, or none)
        publish("gradcheck", fmt, output, reports, payload, timing=timing)
    return 0 if payload["passed"] else 1



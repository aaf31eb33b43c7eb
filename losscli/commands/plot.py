"""The ``plot`` command: sample the curves of losses along their natural axis, draw or write them."""

from __future__ import annotations

import math

from ..curves import sample
from ..errors import LossCliError
from ..render import FORMATS, draws_image, emit, renderer
from ..resources import PY_FLOAT, require
from .common import main_output, parse_param_options, refuse_overwriting_inputs, select_losses


def parse_range(span: str | None) -> tuple[float | None, float | None]:
    if not span:
        return None, None
    try:
        lo, hi = (float(v) for v in span.split(":"))
    except ValueError:
        raise LossCliError(f"--range: expected LO:HI, got {span!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise LossCliError(f"--range: expected finite LO < HI, got {span!r}")
    if not lo < hi:
        raise LossCliError(f"--range: expected LO < HI, got {span!r}")
    return lo, hi


def parse_sweep(sweep: str | None) -> tuple[str, list[str]] | None:
    if not sweep:
        return None
    if "=" not in sweep:
        raise LossCliError(f"--sweep: expected NAME=V1,V2,..., got {sweep!r}")
    name, values = sweep.split("=", 1)
    listed = [v for v in values.split(",") if v.strip()]
    if not name.strip() or not listed:
        raise LossCliError(f"--sweep: expected NAME=V1,V2,... with at least one value, got {sweep!r}")
    return name.strip(), listed


def run_plot(losses: str, *, params=(), span=None, points=301, sweep=None, fmt="terminal", output=None) -> int:
    selected = select_losses(losses)
    refuse_overwriting_inputs([main_output(output, fmt)], params=params, report=("plot", fmt))
    by_loss = parse_param_options(selected, params)
    lo, hi = parse_range(span)
    sweep_ = parse_sweep(sweep)
    curves = len(selected) * (len(sweep_[1]) if sweep_ else 1) * 2  # bce draws y = 1 and y = 0
    require(curves * points * (6 * 8 + 3 * PY_FLOAT), "--points", f"{curves} curves of {points:,} points")
    data = sample(selected, by_loss, sweep_, lo, hi, points)
    if draws_image("plot", output) or fmt == "terminal":
        from ..render.chart import refuse_undrawable_axis

        refuse_undrawable_axis(data, f"--range {span}" if span else "--range")
    if draws_image("plot", output):
        if fmt != next(iter(FORMATS["plot"])):  # (an explicit text format and an image's name: say which wins)
            raise LossCliError(f"-o {output}: names an image, and --format {fmt} writes text: leave out --format to "
                               f"draw the image, or name a .{fmt} file")
        from ..render.chart import save_image

        save_image(data, output)
        return 0
    emit(renderer("plot", fmt)(data), output)  # (a file: no colour, ASCII rules, as a pipe)
    return 0

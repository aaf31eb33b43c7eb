"""The local engine: read the inputs block by block, in lockstep, in this process (text parsed on
a thread pool), evaluate every selected loss on each block, and accumulate; when exact quantiles
need a second pass, it reads the per-sample values back from a temporary file (``Spill``), never
the inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from ..io.cache import InputCache
from ..io.gradients import prescale
from ..io.spec import split_spec
from ..shapes import whole_inputs
from ..stats.accumulator import Accumulator, Evaluation
from ..validation import validate_weights
from ..vocabulary import QUANTILE_BUDGET, ROW_SUM_TOL
from .block import Warnings, block_gradient, block_rows, evaluate_block, finish

if TYPE_CHECKING:
    from ..loss import Loss


def stream_evaluations(selected: list[Loss], inputs, by_loss: dict, *, cache: InputCache, reduction="mean",
                       weights=None, top=5, per_sample=False, gradients=None, nan_policy="raise",
                       chunk_rows: int | None | Literal["auto"] = "auto", warnings: Warnings | None = None,
                       quantile_budget: int | None = None, summary: bool = True,
                       prob_tol: float = ROW_SUM_TOL) -> list[Evaluation]:
    """Read the inputs block by block, in lockstep, and evaluate every selected loss on each block.
    summary=False skips the standard deviation and quantiles (outputs that print the loss only);
    ``gradients``: the ``io.gradients.GradientFile`` the gradient blocks are written to as they are
    computed (``--save-grad``), None for none."""
    specs = list(inputs) + ([weights] if weights else [])
    if chunk_rows == "auto" or any(l.coupling == "batch" for l in selected):
        chunk_rows = block_rows(selected, cache, specs)  # batch-coupled losses see every row at once
    params = {l.name: l.resolve_params(by_loss.get(l.name, {})) for l in selected}
    # the exact-quantile budget is shared by the losses of one run: memory stays bounded
    budget = QUANTILE_BUDGET if quantile_budget is None else quantile_budget
    share = budget // len(selected)
    readers = [cache.reader(split_spec(s)[0]) for s in specs]
    expected = readers[0].row_estimate()  # sizes the exact-quantile buffer
    # files that can be read again get exact quantiles in bounded memory: bracketed after a
    # warm-up, read a second time only if the data drifted out of a bracket; standard input and
    # URLs hold the values up to the budget, then sketch
    again = chunk_rows is not None and all(r.rereadable() for r in readers)
    sliced = cache.slice_keys is not None  # --by: each block ends with its rows' slice codes
    # rows the gradient's mean divides by, if known before the run (io.gradients.prescale)
    known = _exact_rows(readers[0]) if gradients is not None and not cache.rules.on else None
    accs = {l.name: Accumulator(l, params[l.name], reduction, top, per_sample, share, summary,
                                expected, two_pass=again, sliced=sliced,
                                gradient_stream=None if gradients is None else gradients.stream(
                                    l.name, len(selected) > 1,
                                    prescale(reduction, l.root, weights is not None, nan_policy == "omit", known)))
            for l in selected}
    again = again and summary  # (only exact quantiles ever need a second pass)
    spill = Spill([l.name for l in selected]) if again else None
    omitted = {l.name: 0 for l in selected}
    warnings = warnings if warnings is not None else Warnings()
    strict = nan_policy != "propagate"
    n_inputs = len(inputs)
    progress = _progress(cache, specs)
    # inputs of several rows per sample (mnrl's hard negatives, k·N rows): read whole, not paired row by row
    whole = whole_inputs(selected, n_inputs)
    cache.read_for(selected, n_inputs)
    for start, arrays in progress(cache.lockstep(specs, chunk_rows, whole=whole)):
        weight_block = arrays[n_inputs] if weights else None
        codes = arrays[-1].data if sliced else None
        finite: set = set()  # input blocks found finite, checked once for all the losses
        for loss in selected:
            bound, checked, rows, values, normaliser, computed = evaluate_block(
                loss, arrays[:n_inputs], start, params[loss.name], nan_policy, finite, prob_tol,
                with_gradient=gradients is not None)
            warnings.add(loss, checked, start)
            kept = checked.kept
            w = validate_weights(weight_block, checked.n_rows, kept) if weight_block is not None else None
            shown = {role: (a.data if kept is None else a.data[kept]) for role, a in bound.items()}
            counting = accs[loss.name].add(values, rows, w, normaliser, inputs=shown,
                                           codes=None if codes is None else codes if kept is None else codes[kept])
            if codes is not None and kept is not None:
                accs[loss.name].add_omitted(codes, kept)
            omitted[loss.name] += checked.omitted
            if gradients is not None:
                cot = None if reduction == "none" else w
                g = {role: np.empty((0,) + bound[role].data.shape[1:]) for role in loss.differentiable
                     if role in bound} if values.shape[0] == 0 else \
                    block_gradient(loss, checked.arrays, params[loss.name], cot, rows, strict, computed)
                if kept is not None:  # rows dropped by --nan-policy omit get NaN
                    g = {k: checked.rows_given(v) for k, v in g.items()}
                accs[loss.name].add_gradient(g)
            if spill is not None:
                spill.write(loss.name, counting)
    try:
        while again and any(a.wants_pass() for a in accs.values()):
            losses = [l for l in selected if accs[l.name].wants_pass()]
            if spill is not None and spill.usable:
                _spilled_pass(losses, accs, spill)
            else:  # the spill could not be written (TMPDIR full): the inputs are read again
                _reread_pass(losses, accs, cache, specs, n_inputs, chunk_rows, params, nan_policy, prob_tol)
    finally:
        if spill is not None:
            spill.close()
    return [finish(accs[l.name], omitted[l.name], weights) for l in selected]


def _exact_rows(reader) -> int | None:
    rows, exact = reader.rows()
    return rows if exact else None


class Spill:
    """Each loss's per-sample values as the first pass computes them, for a second pass of exact
    quantiles (a file sorted by loss) that then reads these instead of parsing the inputs again.
    The first ``HELD`` values of each loss stay in memory (a run of fewer rows touches no disk);
    beyond them all go to an unnamed temporary file in ``TMPDIR`` (8 bytes a row and loss). A
    write that fails (a full disk) ends the spill: a second pass then reads the inputs."""

    HELD = 1 << 20  # values per loss kept in memory before anything is written
    BLOCK = 1 << 20  # values read back at a time

    def __init__(self, names):
        self.held: dict[str, list] = {name: [] for name in names}
        self.count = {name: 0 for name in names}
        self.files: dict = {}
        self.usable = True

    def write(self, name: str, values) -> None:
        if not self.usable:
            return
        self.count[name] += values.shape[0]
        if name not in self.files and self.count[name] <= self.HELD:
            self.held[name].append(np.array(values, dtype=np.float64))
            return
        values = np.ascontiguousarray(values, dtype=np.float64)
        try:
            if name not in self.files:
                import tempfile

                self.files[name] = tempfile.TemporaryFile(prefix="losscli-per-sample-")
                for block in self.held.pop(name):
                    self.files[name].write(block.tobytes())
            self.files[name].write(values.tobytes())
        except OSError:
            self.close()
            self.usable = False

    def read(self, name: str):
        if name not in self.files:
            yield from self.held[name]
            return
        fh = self.files[name]
        fh.seek(0)
        while True:
            data = fh.read(self.BLOCK * 8)
            if not data:
                return
            yield np.frombuffer(data, dtype=np.float64)

    def close(self) -> None:
        for fh in self.files.values():
            fh.close()
        self.files, self.held = {}, {name: [] for name in self.held}


def _spilled_pass(losses: list[Loss], accs: dict, spill: Spill) -> None:
    """Feed each loss's per-sample values, read back from the spill, to its quantile selection."""
    for loss in losses:
        accs[loss.name].begin_pass()
        for values in spill.read(loss.name):
            accs[loss.name].feed_pass(values)
        accs[loss.name].end_pass()


def _reread_pass(losses: list[Loss], accs: dict, cache: InputCache, specs, n_inputs: int, chunk_rows,
                 params: dict, nan_policy: str, prob_tol: float) -> None:
    """Read the inputs again and feed each loss's per-sample values to its quantile selection
    (validated as in the first pass; warnings were given then)."""
    for loss in losses:
        accs[loss.name].begin_pass()
    whole = whole_inputs(losses, n_inputs)
    reread = cache.lockstep(specs, chunk_rows, whole=whole)
    for start, arrays in _progress(cache, specs, "rows (exact quantiles)")(reread):
        finite: set = set()
        weight_block = arrays[n_inputs] if len(specs) > n_inputs else None
        for loss in losses:
            _, checked, _, values, normaliser, _ = evaluate_block(loss, arrays[:n_inputs], start, params[loss.name],
                                                                  nan_policy, finite, prob_tol)
            w = None if weight_block is None else validate_weights(weight_block, checked.n_rows, checked.kept)
            accs[loss.name].feed_pass(values, w, normaliser)
    for loss in losses:
        accs[loss.name].end_pass()


def _progress(cache: InputCache, specs, label: str = "rows"):
    """A progress bar of rows read (``render/progress.py``: on a terminal only). The total is
    known for NPY and Parquet inputs; for text it is estimated from bytes."""
    from ..render.progress import Bar, shown

    if not shown():
        return lambda blocks: blocks

    def wrap(blocks):
        total, exact = cache.reader(split_spec(specs[0])[0]).rows()
        with Bar(label, total, estimated=not exact) as bar:
            for start, arrays in blocks:
                yield start, arrays
                bar.update(start + (arrays[0].data.shape[0] if arrays else 0))

    return wrap

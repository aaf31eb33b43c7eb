"""The ``fit`` command: read a table, fit by gradient descent (``losscli/training.py``), report;
and its result record."""

from __future__ import annotations

import re
import sys

import numpy as np

from ..errors import InputError, LossCliError
from ..loss import Loss
from ..shapes import is_class_table
from ..training import FitResult, fit, require_fittable


def load_data(spec: str, target: str | None, feature_sel: str | None, loss: Loss, params: dict):
    """Features X (N, F), validated labels y, the features' names and the target's, from one table."""
    from ..arrays import Array
    from ..io.cache import InputCache
    from ..io.spec import split_spec
    from ..validation import bind, validate_inputs

    from ..io.rules import ReadRules

    cache = InputCache(rules=ReadRules(features=True))
    path, _ = split_spec(spec)
    block = next(cache.reader(path).blocks(None))
    if block.arrays is not None:
        raise InputError(f"{path}: fit needs a table with named columns (CSV or Parquet)")
    # the data columns (not an index or id column); a table without them is refused here, with the hint
    names = list(block.select(None).columns or ())
    tgt = target or _default_target(path, block, names)
    if tgt not in block.order:
        raise InputError(f"{path}: no target column {tgt!r} (columns: {', '.join(block.order)})")
    feats = feature_sel.split(",") if feature_sel else [n for n in names if n != tgt]
    twice = [f for f in dict.fromkeys(feats) if feats.count(f) > 1]
    if twice:  # (one column fitted twice: the two weights move as one, a model of copies)
        raise InputError(f"--features: {twice[0]!r} is named twice; name each feature once")
    if tgt in feats:  # (a model of the answer: a perfect fit that says nothing)
        chosen = "" if target else " (the last column, as no --target was given)"
        raise InputError(f"--features: {tgt!r} is the target{chosen}; leave it out of the features (or choose "
                         "another --target)")
    if not feats:
        raise InputError(f"{path}: fit needs a feature column beside the target {tgt!r} "
                         f"(numeric columns: {', '.join(names)})")
    whole = cache.load(f"{path}:{','.join(feats)}")
    X = whole.data.reshape(whole.data.shape[0], -1)
    labels = cache.load(f"{path}:{tgt}")
    if not np.all(np.isfinite(X)):
        r, c = (int(v) for v in np.argwhere(~np.isfinite(X))[0])
        raise InputError(f"{whole.where(r, c)}: a feature is {'NaN (missing)' if np.isnan(X[r, c]) else 'infinite'}; "
                         "fit reads complete rows: drop or fill the rows without it first")
    if labels.data.dtype.kind == "f" and np.isnan(labels.data).any():
        r = int(np.flatnonzero(np.isnan(labels.data))[0])
        raise InputError(f"{labels.where(r)}: the target is missing (NaN); fit reads complete rows: drop the rows "
                         f"without one first (frame.dropna(subset=[{tgt!r}]))")
    # the model's outputs at the start (0), as the loss receives them: (N, C) class scores or (N,); a
    # loss whose declared predictions are not any real number is refused first (bce sat at its
    # clipped start, nll fell without end)
    _not_linear(loss, params)
    shape: tuple = (X.shape[0],)
    if is_class_table(loss.inputs[0].shape):
        shape = (X.shape[0], max(int(np.nanmax(labels.data)) + 1 if labels.data.size else 1, 2))
    try:
        checked = validate_inputs(loss, bind(loss, [Array(np.zeros(shape), MODEL_OUTPUTS), labels]), "raise", params)
    except InputError as exc:
        if MODEL_OUTPUTS in str(exc):
            raise _not_linear(loss, params, str(exc)) or exc from None
        raise
    return X, checked.arrays[loss.inputs[1].name], list(whole.columns or feats), tgt


#: the label of the model's outputs in a loss's checks (``_not_linear`` reads its refusals)
MODEL_OUTPUTS = "a linear model's outputs"


def _not_linear(loss: Loss, params: dict, message: str | None = None) -> InputError | None:
    """A loss whose predictions must be probabilities, log-probabilities, positive (declared so, or
    refused by its checks at the model's start, 0: ``message``) cannot take a linear model's outputs
    (bce on them stayed at its clipped start, exit 0; nll went to -3322 and on): refused, with the
    form that takes them (raised when declared; returned for a ``message``, None if it is another)."""
    from ..domain_hints import LOGIT_FORMS
    from ..domains import DOMAIN_TEXT, of_role

    role, target = loss.inputs[0].name, loss.inputs[1].name
    form = FIT_FORMS.get(loss.name) or LOGIT_FORMS.get(loss.name)
    way = f": fit {form}" if form else ": fit a loss that takes any real number as predictions (losscli list)"
    domain = of_role(loss, role, params)
    if domain != "real":
        raise InputError(f"fit: {loss.name} takes {DOMAIN_TEXT[domain]} as {role}, and a linear model's outputs "
                         f"are any real number{way}")
    if message is None:
        return None
    if not message.startswith(MODEL_OUTPUTS):  # (the target's shape against the outputs': kl's rows of labels)
        return InputError(f"fit: {loss.name}'s {target} are {DOMAIN_TEXT[of_role(loss, target, params)]}, and fit "
                          "reads one target column")
    reason = re.search(r"found 0 \((.*)\)", message)  # (its checks' own words: tweedie_deviance's power)
    if reason is None:
        return None
    return InputError(f"fit: a linear model's outputs are any real number, which {loss.name} refuses at its start, 0, "
                      f"as {role} ({reason.group(1)}){way}")


#: the loss to fit in place of one whose predictions a linear model cannot give (beside LOGIT_FORMS)
FIT_FORMS = {"nll": "softmax_ce (logits, one row per sample)", "poisson_deviance": "poisson_nll (log-rates)",
             "tweedie_deviance": "tweedie_deviance -p power=0, or poisson_nll (log-rates)",
             "gamma_deviance": "mse on the log of the target"}


def _default_target(path: str, block, names: list[str]) -> str:
    """The last column, when it holds numbers; a last column of text is refused, naming the last one
    of numbers (it was taken silently: a text target of high/low fitted column b on a)."""
    from ..io.rules import is_id_name

    text = [n for n in block.text_columns if n not in block.index and not is_id_name(n)]  # (not ids: keys)
    last = [n for n in block.order if n in names or n in text][-1:]
    if not last or last[0] in names or not names:
        return names[-1] if names else last[0] if last else block.order[-1]
    value = block.text_columns.get(last[0], "")
    raise InputError(f"{path}: the last column, {last[0]!r}, holds text ({value!r}), and fit's target is the last column "
                     f"unless --target names one: --target {names[-1]} fits the last column of numbers")


def run_fit(loss_name: str, data: str, *, target=None, features=None, params=(), lr=0.1, epochs=200,
            schedule="constant", step_size=10, factor=0.1, decay=0.01, l1=0.0, l2=0.0, fmt="table",
            output=None) -> int:
    from ..io.replace import together
    from ..render import draws_image, emit, renderer
    from ..render.chart import save_curve
    from ..render.progress import Bar, shown
    from .common import main_output, parse_param_options, refuse_overwriting_inputs, select_losses

    losses = select_losses(loss_name)
    if len(losses) != 1:
        raise LossCliError("fit takes one loss")
    loss = losses[0]
    require_fittable(loss)
    # -o curve.png draws the curve and the table still goes to standard output: both are checked
    image = output if draws_image("fit", output) else None
    shown_on = None if image else output
    refuse_overwriting_inputs([main_output(shown_on, fmt), ("--output", image)], [data], params, report=("fit", fmt))
    by_loss = parse_param_options(losses, params)[loss.name]
    X, y, names, target = load_data(data, target, features, loss, by_loss)
    with Bar("epochs", epochs, unit="epochs") as bar:  # the current loss beside it: a run going wrong shows
        tick = (lambda t, value: bar.update(t, note=f"loss {value:.6g}")) if shown() else None
        result = fit(loss, X, y, by_loss, lr=lr, epochs=epochs, schedule=schedule, step_size=step_size,
                     factor=factor, decay=decay, l1=l1, l2=l2, features=names, progress=tick)
    payload = fit_record(result, target, schedule, lr, loss.resolve_params(by_loss), l1=l1, l2=l2)
    for warning in result.warnings:
        print(f"losscli: warning: {warning}", file=sys.stderr, flush=True)
    with together():  # (the image and the table: both, or neither; a full stdout keeps the old image)
        if image:
            save_curve(payload, image)
        emit(renderer("fit", fmt)(payload), shown_on)  # (-o curve.csv: --format csv, from the suffix)
    return 0


def fit_record(r: FitResult, target: str, schedule: str, lr: float, params: dict | None = None, *,
               l1: float = 0.0, l2: float = 0.0) -> dict:
    """The result: the ``target`` column fitted on the ``features``, ``epochs`` run, and the
    ``history`` of every ``history_every``-th of them
    (the last one always in; at most ``training.HISTORY_LIMIT`` entries). Each entry's
    ``objective`` is its ``risk`` plus its ``penalty`` (what the descent lowers); ``final_loss`` is
    the last entry's objective."""
    from .common import stamp

    history = [{"epoch": t, "lr": rate, "risk": risk, "penalty": pen, "objective": risk + pen}
               for t, rate, risk, pen in r.history]
    return {**stamp(), "loss": r.loss, "params": params or {}, "target": target, "features": r.features, "coef": r.coef.tolist(),
            "intercept": r.intercept.tolist(), "final_loss": history[-1]["objective"], "epochs": r.epochs,
            "schedule": schedule, "lr": lr, "l1": l1, "l2": l2, "history_every": r.history_every,
            "warnings": r.warnings, "history": history}


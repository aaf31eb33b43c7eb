"""Registry-driven tests: every registered loss gets them the moment it is registered."""

import json
import math

import numpy as np
import pytest

from losscli import list_losses
from .conftest import evaluate_dict as evaluate
from losscli.commands.catalogue import loss_record
from losscli.domains import BY_PARAM
from losscli.sampling import random_inputs

from .conftest import central_difference

LOSSES = list_losses()
IDS = [l.name for l in LOSSES]
DIFFERENTIABLE = [l for l in LOSSES if l.has_gradient]
SHAPES = [dict(samples=1, classes=2, dim=1), dict(samples=7, classes=4, dim=3),
          dict(samples=5, classes=3, dim=2, trailing=(2, 3)), dict(samples=6, classes=5, dim=4, label_rows=True)]


def _args(loss, inputs):
    return [inputs[r.name] for r in loss.inputs if r.name in inputs]


@pytest.mark.parametrize("loss", LOSSES, ids=IDS)
def test_declaration_is_complete(loss):
    rec = loss_record(loss)
    assert rec["formula"] and rec["summary"], "formula and summary are required"
    assert loss.references, "every loss cites a reference"
    assert loss.fn.__doc__, "the per-sample function has a docstring"
    if loss.has_gradient:
        assert loss.gradient_formula


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "-".join(f"{k}{v}" for k, v in s.items()))
@pytest.mark.parametrize("loss", LOSSES, ids=IDS)
def test_per_sample_shape_and_finite(loss, shape):
    for seed in range(3):
        inputs = random_inputs(loss, seed=seed, **shape)
        values = loss(*_args(loss, inputs))
        n = next(iter(inputs.values())).shape[0]  # a sampler with group constraints may round N
        assert values.shape == (n,)
        assert np.all(np.isfinite(values))
        if loss.nonnegative:
            assert np.all(values >= 0)


@pytest.mark.parametrize("loss", LOSSES, ids=IDS)
def test_reductions_and_weights(loss):
    inputs = random_inputs(loss, samples=9, seed=1)
    per = loss(*_args(loss, inputs))
    n = per.shape[0]
    outer = math.sqrt if loss.root else float  # (rmse reports the root of the reduction)
    mean = evaluate(loss, inputs, {}, "mean").value
    total = evaluate(loss, inputs, {}, "sum").value
    assert total == pytest.approx(outer(np.sum(per)), rel=1e-12)
    assert mean == pytest.approx(outer(np.sum(per) / n), rel=1e-12)
    assert evaluate(loss, inputs, {}, "none").value is None
    ones = np.ones(n)
    assert evaluate(loss, inputs, {}, "mean", ones).value == pytest.approx(mean, rel=1e-12)
    w = np.arange(1.0, n + 1.0)
    assert evaluate(loss, inputs, {}, "mean", w).value == pytest.approx(outer(np.sum(w * per) / np.sum(w)), rel=1e-12)
    assert evaluate(loss, inputs, {}, "sum", w).value == pytest.approx(outer(np.sum(w * per)), rel=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "-".join(f"{k}{v}" for k, v in s.items()))
@pytest.mark.parametrize("loss", DIFFERENTIABLE, ids=[l.name for l in DIFFERENTIABLE])
def test_gradient_matches_central_difference(loss, shape):
    for seed in range(2):
        inputs = random_inputs(loss, seed=100 + seed, **shape)
        grads = loss.grad(*_args(loss, inputs))
        present = [r for r in loss.differentiable if r in inputs]
        assert set(grads) == set(present)
        for role in present:
            assert grads[role].shape == inputs[role].shape

            def f(x, role=role):  # the raw function: a perturbed probability row is not renormalised
                return float(np.sum(loss.fn(*_args(loss, {**inputs, role: x}), **loss.resolve_params({}))))

            numeric = central_difference(f, inputs[role].astype(float).copy())
            np.testing.assert_allclose(grads[role], numeric, rtol=1e-6, atol=1e-7,
                                       err_msg=f"{loss.name} d/d{role}")


@pytest.mark.parametrize("loss", DIFFERENTIABLE, ids=[l.name for l in DIFFERENTIABLE])
def test_weighted_gradient_is_gradient_of_weighted_value(loss):
    inputs = random_inputs(loss, samples=6, seed=7)
    w = np.linspace(0.5, 3.0, next(iter(inputs.values())).shape[0])
    ev = evaluate(loss, inputs, {}, "mean", w, gradient=True)
    role = loss.differentiable[0]

    def f(x):  # the raw function's weighted mean (no renormalisation of perturbed rows), or its root
        per = loss.fn(*_args(loss, {**inputs, role: x}), **loss.resolve_params({}))
        mean = float(np.sum(w * per) / np.sum(w))
        return math.sqrt(mean) if loss.root else mean

    numeric = central_difference(f, inputs[role].astype(float).copy())
    np.testing.assert_allclose(ev.gradients[role], numeric, rtol=1e-6, atol=1e-8)


# every input whose domain a parameter chooses (poisson_nll's log_input, kl's log_target,
# binary_focal's from_logits), under each value of that parameter
_CHOSEN = [(loss, role.name, param, value, domain)
           for loss in LOSSES for role in loss.inputs if role.domain in BY_PARAM
           for param, by_value in [BY_PARAM[role.domain]] for value, domain in by_value.items()]
_CHOSEN_IDS = [f"{l.name}-{p}={str(v).lower()}" for l, _, p, v, _ in _CHOSEN]


@pytest.mark.parametrize("loss, role, param, value, domain", _CHOSEN, ids=_CHOSEN_IDS)
def test_gradcheck_draws_random_inputs_from_the_domain_a_parameter_chooses(run, loss, role, param, value, domain):
    """``gradcheck poisson_nll -p log_input=false`` drew log-rates (negative) as rates and exited 2,
    "too extreme"; kl with log_target=true was checked at labels that are no log-probabilities.
    (binary_focal's probabilities are logits too: from_logits=true keeps them.)"""
    given = {param: value}
    for seed in range(3):
        inputs = random_inputs(loss, samples=40, seed=seed, optional=True, boundary=0.25, params=given)
        loss(*_args(loss, inputs), **given)  # the loss's own validation accepts them
    flag = str(value).lower()
    result = run("gradcheck", loss.name, "-p", f"{param}={flag}", "--samples", 40, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["verdict"] == "PASS"

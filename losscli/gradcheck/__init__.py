"""Element-by-element verification of analytic gradients against numeric derivatives.

- ``check.py``: one loss at given inputs, role by role: the coupling measured, the precision
  detected, every element (or a sample, for large batch-coupled roles) judged;
- ``evaluator.py``: the loss as the checker calls it (calls counted), and on a slice of its rows;
  ``draws.py``: the random draws (directions, samples), one numpy Generator per named stream;
- ``result.py``: the statuses (ok / below-noise / kink / inconclusive / FAIL) and their reasons,
  the results, the rules that judge an estimate;
- ``ladder.py``: row-local roles column by column, with the ladder of steps and measured noise;
  ``rungs.py``: one rung of it (a column's estimates at a step, its noise table);
  ``finer.py``: below the ladder, for bounds wide from truncation and kinks beside x;
  ``complex_step.py``: the complex step there, kept only where the ladder confirms it;
- ``batch.py``: batch-coupled roles element by element, and the coupling a role really has;
  ``copies.py``: perturbed copies of such a role evaluated at once, and the noise of its total;
- ``steps.py`` (steps inside the declared domain, precision), ``noise.py`` (ECnoise),
  ``methods.py`` (``METHODS``: richardson, central, complex step);
- ``probes.py``: random-direction probes and bisection, gradient identities, the Taylor test;
- ``parameters.py``, ``order2.py``: differentiable parameters and second derivatives of losses
  written in PyTorch or JAX (``losscli/backends/``);
- ``record.py``: a result as the record every output format renders.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Options:
    """How a check is run; the defaults are the CLI's."""

    method: str = "richardson"
    #: float64 built-ins sit near 1e-10; a 1e-4 relative error in one element fails
    rtol: float = 1e-6
    #: absolute tolerance on |analytic - numeric| (an element passes when the difference is within
    #: max(atol, rtol·|gradient|, its numeric error bound)): gradients this small are not told apart from 0
    atol: float = 1e-12
    #: per role, for batch-coupled losses: a stratified sample beyond this
    max_elements: int = 4096
    #: random-direction probes per role when sampling
    probes: int = 8
    seed: int = 0
    #: worst elements shown
    top: int = 10

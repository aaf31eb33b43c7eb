"""Element-by-element verification of analytic gradients against numeric derivatives.

- ``methods.py``: the numeric derivatives (``METHODS``: richardson, central, complex step);
- ``check.py``: one loss at given inputs, every element (or a sample, for batch-coupled
  losses), each classified ok / below-noise / kink / FAIL;
- ``probes.py``: random-direction probes and bisection, gradient identities, the Taylor test.
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

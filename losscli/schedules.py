"""Learning-rate schedules of ``fit``, declared once (the CLI's ``--schedule`` choices come from
``SCHEDULES``). t is the epoch, from 0:

    constant     lr = base
    step         lr = base · factor^floor(t / step_size)
    exponential  lr = base · e^(-k t)
    inverse      lr = base / (1 + k t)
"""

from __future__ import annotations

import math
from typing import Callable

from .errors import LossCliError

#: name -> learning rate at epoch t (base, t, step_size, factor, decay)
SCHEDULES: dict[str, Callable[[float, int, int, float, float], float]] = {
    "constant": lambda base, t, step_size, factor, decay: base,
    "step": lambda base, t, step_size, factor, decay: base * factor ** (t // step_size),
    "exponential": lambda base, t, step_size, factor, decay: base * math.exp(-decay * t),
    "inverse": lambda base, t, step_size, factor, decay: base / (1.0 + decay * t),
}


def learning_rate(schedule: str, base: float, t: int, *, step_size: int = 10, factor: float = 0.1,
                  decay: float = 0.01) -> float:
    if schedule not in SCHEDULES:
        raise LossCliError(f"--schedule: expected one of {', '.join(SCHEDULES)}, got {schedule!r}")
    return SCHEDULES[schedule](base, t, step_size, factor, decay)

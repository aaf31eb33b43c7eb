"""A gradcheck result as the record every output format renders (JSON's ``results`` entries)."""

from __future__ import annotations

import math

from .check import LossCheck


def result_record(r: LossCheck, top: int) -> dict:
    from ..render.values import json_safe, number

    counts = r.counts
    return {
        "loss": r.loss, "passed": r.passed, "params": {k: (list(v) if isinstance(v, tuple) else v)
                                                       for k, v in r.params.items()},
        "inputs": {k: list(v) for k, v in r.inputs.items()}, "method": r.method,
        "checked": r.checked, "elements": r.total_elements, "evaluations": r.evaluations,
        "max_abs_error": number(r.max_abs_error) if math.isfinite(r.max_abs_error) else None,
        "max_rel_error": number(r.max_rel_error) if math.isfinite(r.max_rel_error) else None,
        "kinks": counts["kink"], "failures": counts["FAIL"], "below_noise": counts["below-noise"],
        "consistency": json_safe(r.consistency), "taylor": json_safe(r.taylor), "probes": json_safe(r.probes),
        "notes": r.notes,
        "worst": [{k: (number(v) if isinstance(v, float) else v) for k, v in w.items()}
                  for w in r.worst(top)],
    }

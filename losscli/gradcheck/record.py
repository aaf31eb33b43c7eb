"""A gradcheck result as the record every output format renders (JSON's ``results`` entries).

Besides the checker's own numbers the record says, in the same words in every format, *why*
the verdict was given (``verdict``, ``reasons``, a ``reason`` per listed element) and how far
apart the two sides are in plain terms: the relative difference |a - n| / max(|a|, |n|) and the
difference in units of the numeric error bound (``error_ratio``), taken over the elements the
verdict rests on (``ok`` and ``FAIL``: kinks, below-noise and inconclusive elements are counted
apart). ``max_rel_error`` keeps its older meaning (floored by the error bound, over every
element, kinks included).
"""

from __future__ import annotations

import math

import numpy as np

from .methods import chunks
from .result import FAIL, OK, LossCheck

#: the statuses whose comparison of analytic and numeric decides the verdict (ok, FAIL)
JUDGED = ("ok", "FAIL")
#: no numeric estimate resolves a value better than its last bit: the bound's floor, relative
_ULP = float(np.finfo(np.float64).eps)


def rel_difference(a: float, n: float) -> float:
    """|a - n| / max(|a|, |n|): 0 when both are 0, inf when either is not finite."""
    if not (math.isfinite(a) and math.isfinite(n)):
        return math.inf
    mag = max(abs(a), abs(n))
    return abs(a - n) / mag if mag else 0.0


def error_ratio(a: float, n: float, bound: float) -> float:
    """|a - n| in units of the numeric error bound (floored at the last bit of the values)."""
    if not (math.isfinite(a) and math.isfinite(n)):
        return math.inf
    diff = abs(a - n)
    floor = max(bound, _ULP * max(abs(a), abs(n))) if math.isfinite(bound) else math.inf
    return diff / floor if floor else (0.0 if diff == 0 else math.inf)


def _judged_maxima(r: LossCheck) -> tuple[float | None, float | None, float | None]:
    """(max |a - n|, max relative difference, max |a - n| / bound) over ``JUDGED`` elements;
    None where no element is judged."""
    diff_max = rel_max = ratio_max = -1.0
    for role in r.roles:
        if role.codes is None or not role.codes.size:
            continue
        for s in chunks(role.codes.size):  # (a chunk at a time: the temporaries stay in the cache)
            codes = role.codes[s]
            keep = (codes == OK) | (codes == FAIL)
            if not keep.any():
                continue
            # finish() made abs_err (inf where either side is not finite) and rel_err alike
            diff, rel = role.abs_err[s][keep], role.rel_err[s][keep]
            mag = np.maximum(np.abs(role.analytic[s][keep]), np.abs(role.numeric[s][keep]))
            bound = role.err_est[s][keep]
            with np.errstate(all="ignore"):
                floor = np.where(np.isfinite(bound), np.maximum(bound, _ULP * mag), np.inf)
                ratio = np.where(np.isfinite(diff), np.where(floor > 0, diff / np.where(floor > 0, floor, 1),
                                                             np.where(diff == 0, 0.0, np.inf)), np.inf)
            diff_max = max(diff_max, float(np.max(diff)))
            rel_max = max(rel_max, float(np.max(rel)))
            ratio_max = max(ratio_max, float(np.max(ratio)))
    if diff_max < 0:
        return None, None, None
    return diff_max, rel_max, ratio_max


def _g(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def slopes_text(w: dict, digits: int = 8) -> str:
    """An element's one-sided slopes as a bracket ``[left, right]`` (the interval a valid
    subgradient lies in at a kink)."""
    return f"[{_g(w.get('left_slope'), digits)}, {_g(w.get('right_slope'), digits)}]"


def row_reason(w: dict) -> str:
    """Why a listed element got its status: the checker's reason when it gave one (a FAIL's with
    how far beyond the error bound), else from the element's own numbers."""
    a, n, status = w["analytic"], w["numeric"], w["status"]
    if w.get("reason"):
        ratio = w.get("error_ratio")
        beyond = (f": {_g(ratio)} times the numeric error bound apart" if status == "FAIL" and ratio is not None
                  and isinstance(ratio, (int, float)) and math.isfinite(ratio) else "")
        return str(w["reason"]) + beyond
    if a is None or not math.isfinite(a):
        return "the analytic gradient is not finite here"
    if n is None or not math.isfinite(n):
        return "the numeric derivative is not finite here"
    if status == "kink":
        return "a kink: the analytic value lies between the one-sided slopes (a valid subgradient)"
    if status == "below-noise":
        return "analytic and numeric agree within the numeric error bound, which is wider than --rtol there"
    if status == "ok":
        return "agrees within the tolerance"
    if status == "FAIL":
        return f"differs by {_g(w['error_ratio'])} times the numeric error bound"
    return "the checker could not decide for this element (see the notes)"


def _row(w: dict) -> dict:
    from ..render.values import number

    row = {k: (number(v) if isinstance(v, float) else v) for k, v in w.items()}
    a, n = float(w["analytic"]), float(w["numeric"])
    row["rel_difference"] = number(rel_difference(a, n))
    row["error_ratio"] = number(error_ratio(a, n, float(w["error_estimate"])))
    row["reason"] = row_reason(row)
    return row


def _declared_coupling(r: LossCheck) -> str | None:
    declared = getattr(r, "declared_coupling", None)
    if declared:
        return str(declared)
    from ..catalogue import get_loss
    from ..errors import LossCliError

    try:
        return get_loss(r.loss).coupling
    except LossCliError:  # (a loss unregistered since it was checked)
        return None


def verdict(rec: dict, unseen: int = 0, trivial: int = 0, hidden: int = 0) -> str:
    """``FAIL`` (exit 1), ``inconclusive`` (passed, but some elements could not be decided, or
    ``hidden`` ones had a gradient as large as the others' that the loss never showed, or no element
    was verified while ``unseen`` ones had a gradient the loss never showed) or ``PASS``."""
    if not rec["passed"]:
        return "FAIL"
    return "inconclusive" if rec["inconclusive"] or hidden or _nothing_verified(rec, unseen, trivial) else "PASS"


def _nothing_verified(rec: dict, unseen: int, trivial: int = 0) -> bool:
    """No element verified and no kink judged, while elements had a gradient the loss never showed
    (``unseen``), or every element lay below the numeric noise: then nothing has checked the
    gradient element by element. (A Taylor order measured along random directions does not count:
    1e6 + x² with one element 1e-4 wrong measured 2.00 and PASSed on no verified element.)
    Elements verified only as a gradient of exactly 0 where the loss did not move (``trivial``) do
    not count beside such elements (one x = 0 made a sign-flipped gradient of 1e12 + x² PASS); alone,
    they are a verified check (a hinge whose margins all hold)."""
    if rec["kinks"] or not rec["checked"] or rec["verified"] > trivial:
        return False
    if unseen > 0:
        return True
    return rec["below_noise"] > 0 and rec["below_noise"] + rec["verified"] == rec["checked"]


def reasons(rec: dict, unseen: int = 0, trivial: int = 0, hidden: int = 0) -> list[str]:
    """Why the verdict was given, one finding a line: what failed, or what was verified and what
    was not."""
    out = []
    if rec["passed"] and _nothing_verified(rec, unseen, trivial) and unseen:
        out.append(f"nothing verified: at {unseen} elements with a nonzero analytic gradient the loss did not "
                   "change at any step tried (a large constant in the loss, a cancellation such as "
                   "sqrt(1 + d²) - 1 at |d| < 1e-8, or steps held small by a domain bound), so a wrong gradient "
                   "there would pass too; check at inputs where the loss moves")
    elif rec["passed"] and _nothing_verified(rec, unseen, trivial):
        which = f"all {rec['checked']} elements lie" if not rec["verified"] else \
            f"{rec['below_noise']} of {rec['checked']} elements lie (the others: a gradient of exactly 0 where the " \
            "loss does not move)"
        orders = [t["order"] for t in rec["taylor"] if t.get("order") is not None and t["passed"] and "note" not in t]
        taylor = f"the Taylor test measured order {min(orders):.2f} along random directions, which checks the " \
            "gradient as a whole, not element by element (one element wrong by 1e-4 of 1e6 + x² passes it)" \
            if orders else "the Taylor test could not measure an order"
        out.append(f"nothing verified: {which} below the numeric noise or --atol, and {taylor} "
                   "(the loss's rounding, a large constant in it, float32 "
                   "code, gradients below --atol, or inputs near 0, where the steps follow |x| and the rounding "
                   "over them is large: nothing tells the changes its gradient predicts apart from 0), so a wrong "
                   "gradient would pass too; check at other inputs, in float64, or with a smaller --atol")
    elif rec["passed"] and hidden:
        out.append(f"not verified: at {hidden} elements with an analytic gradient as large as the others' the loss "
                   "did not change at any step tried, or changed under a bound as wide as the largest gradient (the "
                   "steps follow |x|, and at x = 1e-12, or 0 beside it, they move no loss or less than its rounding "
                   "could tell), so a wrong gradient there would pass too; check at inputs where the loss moves")
    shape_notes = [n for n in rec["notes"] if ": the analytic gradient has no " in n or
                   ": the analytic gradient returned shape " in n]
    if rec["failures"] and rec["max_rel_difference"] is None and shape_notes:  # nothing to compare (notes say why)
        out.append(f"{rec['failures']} of {rec['checked']} elements fail: the analytic gradient is missing or has "
                   "the wrong shape")
    elif rec["failures"] and rec["max_rel_difference"] is None:
        out.append(f"{rec['failures']} of {rec['checked']} elements fail: the analytic gradient is not finite there")
    elif rec["failures"]:
        out.append(f"{rec['failures']} of {rec['checked']} elements fail: analytic and numeric differ by up to "
                   f"{_g(rec['max_rel_difference'])} relative, {_g(rec['max_error_ratio'])} times the numeric error bound")
    for c in rec["consistency"]:
        if not c["passed"]:
            out.append(f"{c['check']}: residual {_g(c['residual'])}")
    for t in rec["taylor"]:
        if not t["passed"]:
            order = "-" if t["order"] is None else f"{t['order']:.2f}"
            out.append(f"Taylor remainder order for {t['role']}: {order} (2 = right, 1 = wrong)")
    for p in rec["probes"]:
        if not p["passed"]:
            out.append(f"probe {p['probe']} of {p['role']}: analytic {_g(p['analytic'], 6)}, numeric "
                       f"{_g(p['numeric'], 6)}; localised to {p.get('localised')}")
    if rec["passed"]:
        out.append(f"{rec['verified']} of {rec['checked']} elements agree within the tolerance"
                   + ("" if rec["max_rel_difference"] is None else
                      f" (up to {_g(rec['max_rel_difference'])} relative, "
                      f"{_g(rec['max_error_ratio'])} times the numeric error bound)"))
    if rec["kinks"]:
        out.append(f"{rec['kinks']} at kinks with a valid subgradient (the analytic value between the "
                   "one-sided slopes)")
    if rec["below_noise"]:
        out.append(f"{rec['below_noise']} below noise (they agree within the numeric error bound, but it is wider "
                   "than --rtol there: a gradient near 0, or an element small against its step)")
    if rec["inconclusive"]:
        why = list(dict.fromkeys(w["reason"] for w in rec["worst"] if w["status"] == "inconclusive"))
        out.append(f"{rec['inconclusive']} inconclusive: " + ("; ".join(why) if why else "see the notes"))
    return out


def result_record(r: LossCheck, top: int) -> dict:
    from ..render.values import json_safe, number

    counts = r.counts
    max_diff, max_rel, max_ratio = _judged_maxima(r)
    rec = {
        "loss": r.loss, "passed": r.passed, "params": {k: (list(v) if isinstance(v, tuple) else v)
                                                       for k, v in r.params.items()},
        "inputs": {k: list(v) for k, v in r.inputs.items()}, "method": r.method,
        "checked": r.checked, "elements": r.total_elements, "evaluations": r.evaluations,
        "max_abs_error": number(r.max_abs_error) if math.isfinite(r.max_abs_error) else None,
        "max_rel_error": number(r.max_rel_error) if math.isfinite(r.max_rel_error) else None,
        "kinks": counts["kink"], "failures": counts["FAIL"], "below_noise": counts["below-noise"],
        "inconclusive": counts.get("inconclusive", 0), "verified": counts["ok"],
        # over the elements the verdict rests on (ok, FAIL); None when there are none
        "max_difference": None if max_diff is None else number(max_diff),
        "max_rel_difference": None if max_rel is None else number(max_rel),
        "max_error_ratio": None if max_ratio is None else number(max_ratio),
        "precision": getattr(r, "precision", None),
        "declared_coupling": _declared_coupling(r),
        "couplings": json_safe(dict(getattr(r, "couplings", None) or {})),
        "noise": json_safe({k: np.asarray(v, dtype=float).tolist() for k, v in (getattr(r, "noise", None) or {}).items()}),
        "consistency": json_safe(r.consistency), "taylor": json_safe(r.taylor), "probes": json_safe(r.probes),
        "notes": r.notes,
        "worst": [_row(w) for w in r.worst(top)],
    }
    rec["verdict"] = verdict(rec, r.unseen, r.trivial, r.hidden)
    rec["reasons"] = reasons(rec, r.unseen, r.trivial, r.hidden)
    return rec

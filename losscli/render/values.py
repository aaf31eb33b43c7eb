"""How numbers and parameters are written, the same in every format."""

from __future__ import annotations

import json
import math
from typing import Any


#: lists written one item per line, each item on one line: thousands of slices stay readable
#: (and are written by the C encoder: an indented dump of 1,000 slices took 0.6 s)
ONE_LINE_ITEMS = ("slices",)


def dump_json(payload) -> str:
    """Indented JSON; NaN and ±inf written as null (JSON has no spelling for them). The items of
    ``ONE_LINE_ITEMS`` lists are written one per line."""
    import os
    import re

    pieces: list[str] = []
    token = os.urandom(8).hex()  # (secrets.token_hex(8), without importing secrets: hmac, hashlib, 8 ms)

    def mark(obj):
        if isinstance(obj, dict):
            return {k: [hold(x) for x in v] if k in ONE_LINE_ITEMS and isinstance(v, list) else mark(v)
                    for k, v in obj.items()}
        if isinstance(obj, list):
            return [mark(v) for v in obj]
        return None if isinstance(obj, float) and not math.isfinite(obj) else obj

    def hold(item) -> str:
        pieces.append(json_text(item))
        return f"{token}:{len(pieces) - 1}"

    text = json.dumps(mark(payload), indent=2, allow_nan=False)
    if pieces:
        text = re.sub(f'"{token}:(\\d+)"', lambda m: pieces[int(m.group(1))], text)
    return text + "\n"


def stamp() -> dict:
    """The first keys of every command's JSON result: the layout's version and losscli's."""
    import losscli

    from ..vocabulary import JSON_SCHEMA_VERSION

    return {"schema_version": JSON_SCHEMA_VERSION, "version": losscli.__version__}


def number(x: Any) -> float | None:
    """A JSON-safe float: NaN and ±inf become null (JSON has no spelling for them)."""
    x = float(x)
    return x if math.isfinite(x) else None


def real(x: Any) -> float:
    """A float for a result record, ±inf and NaN kept: tables and CSV print them (``inf``, ``nan``);
    JSON, which has no spelling for them, writes null (:func:`dump_json`, :func:`json_safe`)."""
    return float(x)


def fmt(x: float | None, digits: int = 6) -> str:
    if x is None:
        return "-"
    return f"{x:.{digits}g}"


def judged_change(r: dict, digits: int = 4, rel_digits: int = 2, signed: bool = False) -> tuple[str, str]:
    """A comparison's (or a slice's) change (``signed``: with its sign) and relative change as shown
    beside its gate: where the gate failed, apart from the increase it allows (:func:`apart`: never
    shown as it); else as they are (a change at its tolerance, within rounding, passes as it)."""
    gate = r.get("gate") or {}
    allowed, failed, base = gate.get("allowed_increase"), gate.get("passed") is False, r.get("baseline")
    relative = None if allowed is None or not base else allowed / abs(base)
    return (beside(r["change"], allowed, failed, digits, sign=signed),
            beside(r["relative_change"], relative, failed, rel_digits, percent=True))


def beside(x: float | None, bound: float | None, failed: bool, digits: int, *, sign: bool = False,
           percent: bool = False) -> str:
    """``x`` as shown beside the verdict on it against ``bound``: never reading as the bound or within
    it where it failed, nor above it where it passed below it (0.123455 read 0.1235 beside PASS at
    0.12346; :func:`apart` then); else in ``digits`` (a value at its bound within rounding passes, as it)."""
    text = apart(x, None, digits, sign=sign, percent=percent)
    if x is None or bound is None or not (math.isfinite(x) and math.isfinite(bound)):
        return text
    read = float(text[:-1]) / 100 if percent else float(text)
    return apart(x, bound, digits, sign=sign, percent=percent) if failed or x <= bound < read else text


def judged_interval(r: dict, digits: int = 4, signed: bool = False) -> str:
    """A comparison's bootstrap interval; where a --significant gate failed on its low end, that end
    apart from the increase the gate allows (it read as the tolerance beside FAIL)."""
    gate, interval = r.get("gate") or {}, (r.get("bootstrap") or {}).get("interval")
    if interval is None or interval_text(interval) == "-":
        return "-"
    lo, hi = interval
    bound = gate.get("allowed_increase") if gate.get("significant") else None
    plus = "+" if signed else ""
    low = beside(lo, bound, gate.get("passed") is False, digits, sign=signed)
    return f"[{low}, {'-' if hi is None else format(hi, f'{plus}.{digits}g')}]"


def interval_text(interval, digits: int = 4) -> str:
    """A bootstrap interval ``[lo, hi]``; ``-`` where there is none (``--bootstrap 0``, a slice of
    no sample: both ends NaN or null)."""
    lo, hi = interval or (None, None)
    if all(x is None or math.isnan(x) for x in (lo, hi)):
        return "-"
    return f"[{fmt(lo, digits)}, {fmt(hi, digits)}]"


def exact(x: float | None) -> str:
    """A number as short as it is written (``0.29``), with every digit it needs to be itself
    (``0.29000000004``): a value that failed a bound is never printed equal to it."""
    if x is None:
        return "-"
    short = f"{x:g}"
    return short if float(short) == x else repr(float(x))


def apart(x: float | None, bound: float | None, digits: int = 6, *, sign: bool = False, percent: bool = False) -> str:
    """``x`` with the fewest digits (``digits`` or more: significant ones, or decimals of a
    ``percent``) that keep it nearer to itself than to ``bound``: ``0.29000000004`` above a bound of
    0.29, ``1.91578`` above 1.84, ``1.6580588932508622`` (not ``1.65806``, which is above the bound by a
    rounding 5·10^9 times the real distance) above 1.658058893250862; ``+10.0000003%`` above 10%
    (not ``+10.00%`` beside a FAIL). At the bound, or without one: ``digits``."""
    if x is None:
        return "-"
    plus = "+" if sign or percent else ""

    def shown(d: int) -> str:
        return f"{100 * x:{plus}.{d}f}%" if percent else f"{x:{plus}.{d}g}"

    if bound is None or x == bound or not (math.isfinite(x) and math.isfinite(bound)):
        return shown(digits) if percent or bound is None or x == bound else exact(x)
    for d in range(digits, 18):
        text = shown(d)
        if abs((float(text[:-1]) / 100 if percent else float(text)) - x) < abs(x - bound):
            return text
    return f"{100 * x:{plus}.17g}%" if percent else repr(float(x))


def judged(x: float | None, checks: list, digits: int = 8) -> str:
    """A gated value for a table: ``digits`` where every check passed, else :func:`exact`."""
    return fmt(x, digits) if all(c["passed"] for c in checks) else exact(x)


def params_text(params: dict) -> str:
    return ", ".join(f"{k}={param_value(v)}" for k, v in params.items()) or "-"


def param_value(v) -> str:
    """A parameter as written back: short where that is the value (``delta=1``), with every digit
    it needs to be itself (``delta=1.2345681``: two runs of other parameters never print alike)."""
    if isinstance(v, (list, tuple)):
        return ",".join(param_value(x) for x in v)
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return exact(v)
    return str(v)


def json_safe(obj: Any) -> Any:
    """A record with every float made JSON-safe by :func:`number` (NaN and ±inf become null),
    at any depth of dicts, lists and tuples."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float):
        return number(obj)
    return obj


def json_text(obj: Any) -> str:
    """``obj`` as one line of JSON, NaN and ±inf written as null (:func:`json_safe`)."""
    return json.dumps(json_safe(obj), allow_nan=False)


def key_text(key: dict, sep: str = ", ") -> str:
    """A slice's key for people: ``region=EU, device=phone`` (a missing one: ``(missing)``, as
    the tables write it)."""
    return sep.join(f"{k}={key_value(v)}" for k, v in key.items())


def key_value(value) -> str:
    """One value of a slice's key as text; a missing one: ``(missing)``."""
    return "(missing)" if value is None else str(value)


def said(check: dict) -> str:
    """A check's outcome as the table and JUnit write it: ok, FAILED, or undecided (a --significant
    gate of too few samples to show a change: not tripped)."""
    return "undecided" if check.get("undecided") else "ok" if check["passed"] else "FAILED"


def slice_verdict(s: dict) -> dict:
    """A slice's gate verdict (compute's and check's ``passed``, compare's ``gate``), with why it is
    ``undecided`` where it is, for :func:`~losscli.render.table.status` and the other formats."""
    gate = s.get("gate", {})
    why = s.get("undecided") or gate.get("undecided")
    return {"passed": s.get("passed", gate.get("passed")), **({"undecided": why} if why else {})}


def check_text(check: dict) -> str:
    """A gate's check as every format writes it: what was required, and what it was judged on
    where the record says (a baseline gate's values, change and interval)."""
    return f"{check['check']} ({check['measured']})" if check.get("measured") else check["check"]

"""How numbers and parameters are written, the same in every format."""

from __future__ import annotations

import json
import math
from typing import Any


def dump_json(payload) -> str:
    """Indented JSON; NaN/inf were already turned into null (JSON has no spelling for them)."""
    return json.dumps(payload, indent=2, allow_nan=False) + "\n"


def number(x: Any) -> float | None:
    """A JSON-safe float: NaN and ±inf become null (JSON has no spelling for them)."""
    x = float(x)
    return x if math.isfinite(x) else None


def fmt(x: float | None, digits: int = 6) -> str:
    if x is None:
        return "-"
    return f"{x:.{digits}g}"


def params_text(params: dict) -> str:
    return ", ".join(f"{k}={param_value(v)}" for k, v in params.items()) or "-"


def param_value(v) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(f"{x:g}" for x in v)
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def pct(x) -> str:
    """A relative change as a signed percentage."""
    return "-" if x is None else f"{100 * x:+.2f}%"


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


def key_text(key: dict, sep: str = ", ") -> str:
    """A slice's key for people: ``region=EU, device=phone``."""
    return sep.join(f"{k}={v}" for k, v in key.items())

"""Typed loss parameters: what ``-p NAME=VALUE`` (and a TOML gate's ``params``) may set, parsed as
typed values (never evaluated) and checked against a declared constraint such as ``>0`` or
``(0,1]`` at registration and at every use."""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from typing import Any, Callable

from .errors import ParameterError, RegistrationError

_TRUE = {"true", "1", "yes", "on", "y", "t"}
_FALSE = {"false", "0", "no", "off", "n", "f"}


@dataclass(frozen=True)
class Param:
    """A typed loss parameter.

    ``kind`` is one of ``float``, ``int``, ``bool``, ``str``, ``floats`` (a comma list, e.g.
    class weights; the command line also accepts a file, read before the value reaches here). ``constraint`` is a readable rule that is also checked: ``>0``,
    ``>=0``, ``<1``, ``[0,1]``, ``(0,1]``, ... ``choices`` restricts a ``str`` parameter.
    """

    default: Any
    kind: str = ""
    constraint: str = ""
    choices: tuple = ()
    help: str = ""

    def __post_init__(self):
        if not self.kind:
            kind = {bool: "bool", int: "int", float: "float", str: "str"}.get(type(self.default))
            if kind is None:
                raise RegistrationError(f"cannot infer the type of parameter default {self.default!r}")
            object.__setattr__(self, "kind", kind)
        if self.kind not in ("float", "int", "bool", "str", "floats"):
            raise RegistrationError(f"unknown parameter kind {self.kind!r}")
        if self.constraint:
            _parse_constraint(self.constraint)  # fail at registration, not at use

    def describe(self) -> str:
        parts = [self.kind]
        if self.constraint:
            parts.append(self.constraint)
        if self.choices:
            parts.append("one of " + "|".join(map(str, self.choices)))
        return ", ".join(parts)

    def parse(self, text: str, where: str) -> Any:
        """Parse a command-line string into a typed value (never evaluated as code)."""
        raw = text.strip()
        try:
            if self.kind == "bool":
                low = raw.lower()
                if low in _TRUE:
                    value: Any = True
                elif low in _FALSE:
                    value = False
                else:
                    raise ValueError
            elif self.kind == "int":
                value = int(raw)
            elif self.kind == "float":
                value = float(raw)
            elif self.kind == "floats":
                value = _floats(raw, where)
            else:
                value = raw
        except ValueError:
            raise ParameterError(f"{where}: expected {_EXPECTED[self.kind]}, got {text!r}") from None
        return self.check(value, where)

    def check(self, value: Any, where: str) -> Any:
        """Check a typed value (from ``parse`` or from Python) against the declared kind and
        constraint; return it normalised (numpy scalars become Python ones). A value of another
        type is refused, never converted: ``top_k=1.5`` for an int, ``"yes"`` or ``1`` for a bool."""
        value = self._typed(value, where)
        if self.kind == "float" and not math.isfinite(value):
            raise ParameterError(f"{where}: expected a finite number, got {value!r}")
        if self.kind == "floats" and not all(math.isfinite(v) for v in value):
            raise ParameterError(f"{where}: expected finite numbers, got {value!r}")
        if self.choices and value not in self.choices:
            raise ParameterError(
                f"{where}: expected one of {', '.join(map(str, self.choices))}, got {value!r}")
        if self.constraint:
            values = value if self.kind == "floats" else (value,)
            test = _parse_constraint(self.constraint)
            for v in values:
                if not test(v):
                    raise ParameterError(f"{where}: must be {self.constraint}, got {v!r}")
        return value


    def _typed(self, value: Any, where: str) -> Any:
        if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
            value = value.tolist()  # numpy scalars and arrays (and pandas Series) as Python values
        if isinstance(value, bool):
            if self.kind == "bool":
                return value
        elif self.kind == "int" and isinstance(value, numbers.Integral):
            return int(value)
        elif self.kind == "float" and isinstance(value, numbers.Real):
            try:
                return float(value)
            except OverflowError:  # an int beyond float64 (10**400)
                raise ParameterError(f"{where}: expected a finite number, got {value!r}") from None
        elif self.kind == "str" and isinstance(value, str):
            return value
        elif self.kind == "floats" and isinstance(value, (tuple, list)):
            if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value):
                return tuple(float(v) for v in value)  # () is the default: none given
        raise ParameterError(f"{where}: expected {_EXPECTED[self.kind]}, got {value!r}")


_EXPECTED = {"bool": "true or false", "int": "an integer", "float": "a number",
             "floats": "a comma-separated list of numbers", "str": "a string"}


def _floats(raw: str, where: str) -> tuple:
    """A comma list of numbers."""
    value = tuple(float(v) for v in raw.split(",") if v.strip() != "")
    if not value:
        raise ValueError
    return value


def _parse_constraint(text: str) -> Callable[[float], bool]:
    t = text.replace(" ", "")
    m = re.fullmatch(r"(>=|<=|>|<|!=)(-?[0-9.eE+-]+)", t)
    if m:
        op, bound = m.group(1), float(m.group(2))
        return {
            ">": lambda v: v > bound, ">=": lambda v: v >= bound,
            "<": lambda v: v < bound, "<=": lambda v: v <= bound, "!=": lambda v: v != bound,
        }[op]
    m = re.fullmatch(r"([\[(])(-?[0-9.eE+-]+|-inf),(-?[0-9.eE+-]+|inf)([\])])", t)
    if m:
        lo, hi = float(m.group(2)), float(m.group(3))
        lo_ok = (lambda v: v >= lo) if m.group(1) == "[" else (lambda v: v > lo)
        hi_ok = (lambda v: v <= hi) if m.group(4) == "]" else (lambda v: v < hi)
        return lambda v: lo_ok(v) and hi_ok(v)
    raise RegistrationError(f"cannot read parameter constraint {text!r}")

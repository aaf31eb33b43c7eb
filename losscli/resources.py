"""Memory an option implies, checked before it is spent.

Every option that sizes an allocation (``gradcheck --samples/--classes/--dim``, ``plot --points``,
``fit --epochs``, ``--top``) is estimated here and refused when the estimate exceeds what this run
may use: ``--max-memory`` (``losscli --max-memory 4G``), by default 80% of the memory the machine
has available now. The message names the option and the estimate, so the user knows what to
lower. Estimates are deliberately generous (intermediate copies included); they bound, they do
not predict.
"""

from __future__ import annotations

import os
import re

from .errors import LossCliError

#: share of the available memory a run may plan for when --max-memory is not given
DEFAULT_SHARE = 0.8
#: bytes one Python float costs once it is in a list (JSON records, histories): object + pointer
PY_FLOAT = 32

_limit: int | None = None  # set by --max-memory
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(text: str, option: str = "--max-memory") -> int:
    """``512M``, ``4G``, ``1.5T``, ``1000000`` (bytes) -> bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", str(text), flags=re.IGNORECASE)
    if not m or float(m.group(1)) <= 0:
        raise LossCliError(f"{option}: expected a size such as 512M or 4G, got {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def set_limit(nbytes: int | None) -> None:
    global _limit
    _limit = nbytes


def available() -> int:
    """Memory available now (MemAvailable), else the machine's physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def limit() -> int:
    return _limit if _limit is not None else int(DEFAULT_SHARE * available())


def human(nbytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if nbytes < 1024 or unit == "PB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} PB"  # pragma: no cover


def require(nbytes: float, option: str, what: str) -> None:
    """Refuse, naming ``option``, when ``what`` would take more than this run may use."""
    allowed = limit()
    if nbytes > allowed:
        raise LossCliError(f"{option}: {what} would take about {human(nbytes)}, more than the {human(allowed)} "
                           "this run may use (lower it, or raise --max-memory)")

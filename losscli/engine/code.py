"""Which losscli a process runs: its version and a digest of its modules' text, which a Dask worker
must share with its client (another losscli can give other numbers under the same version)."""

from __future__ import annotations

import functools
import os


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """losscli's version and a digest of its modules' text (what a worker must share with its client:
    the version alone is the same across development commits). Read once per process."""
    import hashlib
    from pathlib import Path

    import losscli

    root = Path(losscli.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{losscli.__version__} (code {digest.hexdigest()[:12]})"


def where_and_what() -> tuple[str, str]:
    """On a worker: where its losscli is, and its :func:`code_version`."""
    import losscli

    return os.path.dirname(losscli.__file__), code_version()


def other_code(worker: str, theirs: str, path: str, mine: str) -> str:
    return (f"the worker at {worker} runs losscli {theirs} from {path}, this client {mine}: install the client's "
            "losscli on every worker and restart them")

"""Where ``losscli`` starts (the console script, ``python -m losscli``): Ctrl-C while the CLI's
modules are still being imported ends as any other interrupt does, exit 130 and "Aborted." on
stderr, not in a traceback (the CLI itself handles it once it runs)."""

from __future__ import annotations

import sys


#: options whose value is an output, not an input (``-o out.txt 2>> out.txt`` is no input's harm)
_OUTPUT_OPTIONS = ("-o", "--output", "--report", "--save-grad")


def _stderr_on_an_argument() -> str | None:
    """The argument naming the file standard error was opened on (``2>> preds.csv``), or a directory
    holding it (a dataset), or None. The run's own check knows every input (io.output), but comes
    after the command line is parsed, losses named and plugins loaded, whose errors and warnings
    would already be in the input; this one comes first, with a few ``stat`` calls."""
    import os
    import stat

    try:
        err = os.fstat(2)
    except OSError:
        return None
    if not stat.S_ISREG(err.st_mode):
        return None
    try:
        where = os.path.realpath("/proc/self/fd/2")
    except OSError:
        where = None
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if i and args[i - 1] in _OUTPUT_OPTIONS or arg.startswith(tuple(f"{o}=" for o in _OUTPUT_OPTIONS)):
            continue
        text = arg.split("=", 1)[-1]
        for path in dict.fromkeys([arg, text, text.rsplit(":", 1)[0], text.removeprefix("file://")]):
            try:
                st = os.stat(path)
            except (OSError, ValueError):
                continue
            if (st.st_dev, st.st_ino) == (err.st_dev, err.st_ino):
                return arg
            if stat.S_ISDIR(st.st_mode) and where and os.path.exists(where):
                top = os.path.realpath(path)
                if os.path.commonpath([where, top]) == top:
                    return arg
    return None


def main() -> None:
    named = _stderr_on_an_argument()
    if named is not None:
        from .io.output import refuse_standard_error
        from .errors import LossCliError

        try:
            refuse_standard_error(named)
        except LossCliError:
            sys.exit(2)
    try:
        from .cli import main as cli
    except KeyboardInterrupt:
        from .exits import INTERRUPTED

        sys.stderr.write("Aborted.\n")
        sys.exit(INTERRUPTED)
    cli(prog_name="losscli")

"""Where ``losscli`` starts (the console script, ``python -m losscli``): Ctrl-C while the CLI's
modules are still being imported ends as any other interrupt does, exit 130 and "Aborted." on
stderr, not in a traceback (the CLI itself handles it once it runs)."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from .cli import main as cli
    except KeyboardInterrupt:
        from .exits import INTERRUPTED

        sys.stderr.write("Aborted.\n")
        sys.exit(INTERRUPTED)
    cli(prog_name="losscli")

"""Run losscli with its standard output on a real pseudo-terminal of a given size (standard
error in a pipe), as a user's terminal would show it."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

#: an ANSI escape sequence (colour, style, cursor)
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def in_terminal(args, columns: int, env: dict | None = None, cwd=None, timeout: float = 120):
    """(exit code, what the terminal received, stderr) of ``losscli ARGS`` on a ``columns``-wide
    terminal. The environment is this one without COLUMNS/LINES/NO_COLOR/CI, plus ``env``."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    full = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "CI")}
    full.update(env or {})
    proc = subprocess.Popen([sys.executable, "-m", "losscli", *map(str, args)], stdout=secondary,
                            stderr=subprocess.PIPE, env=full, cwd=cwd)
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # (the other end closed: the process is done writing)
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, seen.decode().replace("\r\n", "\n"), err.decode()


def screen_lines(text: str) -> list[str]:
    """The lines as they appear (escape sequences removed)."""
    return ESCAPE.sub("", text).split("\n")

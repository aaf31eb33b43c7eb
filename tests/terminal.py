"""Run a command with its standard output, standard error or both on a real pseudo-terminal of
a given size, as a user's terminal would show it (the other stream in a pipe)."""

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


def on_terminal(argv, columns: int = 80, env: dict | None = None, cwd=None, streams: str = "stdout",
                timeout: float = 300) -> tuple[int, str, str]:
    """(exit code, what the terminal received, the other stream) of ``argv`` with ``streams``
    ("stdout", "stderr" or "both") on a ``columns``-wide terminal. The environment is this one
    without COLUMNS/LINES/NO_COLOR/CI, plus ``env``."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    full = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "CI")}
    full.update(env or {})
    out = secondary if streams in ("stdout", "both") else subprocess.PIPE
    err = secondary if streams in ("stderr", "both") else subprocess.PIPE
    proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=full,
                            cwd=cwd)
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
    stdout, stderr = proc.communicate(timeout=timeout)
    other = stderr if streams == "stdout" else stdout if streams == "stderr" else b""
    return proc.returncode, seen.decode().replace("\r\n", "\n"), (other or b"").decode()


def in_terminal(args, columns: int, env: dict | None = None, cwd=None) -> tuple[int, str, str]:
    """``losscli ARGS`` with its standard output on a ``columns``-wide terminal."""
    return on_terminal([sys.executable, "-m", "losscli", *args], columns, env, cwd)


def screen_lines(text: str) -> list[str]:
    """The lines as they appear (escape sequences removed)."""
    return ESCAPE.sub("", text).split("\n")

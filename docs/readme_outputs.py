"""Re-run every ``$ command`` of the README's console blocks on a real 100-column terminal (a
pseudo-terminal, NO_COLOR, no progress bars: what a reader's terminal shows, stdout and stderr
interleaved) and compare, or with ``--write`` replace, the outputs pasted under it.

    python docs/readme_outputs.py            # show what differs
    python docs/readme_outputs.py --write    # paste the real outputs
    python docs/readme_outputs.py --write compare   # only commands containing "compare"
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import sys
import tempfile

COLUMNS = 100
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = "@@readme-output@@"


def file_blocks(text: str) -> dict[str, str]:
    """The files the README shows for the reader to save: a code block whose first line names it
    (``# my_torch.py``), name -> the block's text."""
    return {m.group(2): m.group(1) for m in re.finditer(r"```\w+\n(# ([\w.-]+\.\w+)\n.*?)```", text, re.S)}


@contextlib.contextmanager
def reader_tree(text: str):
    """Where a reader runs the README's commands: the repository (a copy made of links, without
    .git) with the files the README shows saved in it."""
    with tempfile.TemporaryDirectory(prefix="readme-") as tmp:
        for entry in os.listdir(ROOT):
            if entry != ".git":
                os.symlink(os.path.join(ROOT, entry), os.path.join(tmp, entry))
        for name, body in file_blocks(text).items():
            target = os.path.join(tmp, name)
            if os.path.lexists(target):
                raise SystemExit(f"the README's {name} would hide the repository's")
            with open(target, "w", encoding="utf-8") as fh:
                fh.write(body)
        yield tmp


def on_terminal(command: str, cwd: str) -> str:
    """What a 100-column terminal shows for ``command`` (run by bash in ``cwd``)."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from tests.terminal import ESCAPE, on_terminal as run

    # (CI: no progress bar between the lines)
    _, seen, _ = run(["bash", "-c", command], COLUMNS, {"NO_COLOR": "1", "CI": "1"}, cwd, streams="both")
    return "\n".join(line.rstrip() for line in ESCAPE.sub("", seen).rstrip("\n").split("\n"))


def main(argv: list[str]) -> int:
    write = "--write" in argv
    only = [a for a in argv if a != "--write"]
    path = os.path.join(ROOT, "README.md")
    text = open(path, encoding="utf-8").read()
    differ = 0

    def block(match: re.Match) -> str:
        """The commands of one block run in one shell, in order (``echo $?`` sees the one before)."""
        nonlocal differ
        lines = match.group(1).split("\n")
        starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
        if not starts:
            return match.group(0)
        script = "".join(("" if n == 0 else "__rc=$?; ") + f"printf '\\n{MARK}%d{MARK}\\n' {n}; "
                         + ("" if n == 0 else "(exit $__rc); ") + lines[i][2:] + "\n" for n, i in enumerate(starts))
        outputs = re.split(f"\n?{MARK}\\d+{MARK}\n", "\n" + on_terminal(script, cwd))[1:]
        out = lines[:starts[0]]
        for n, i in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else len(lines)
            pasted = lines[i + 1:end]
            blank = 0
            while pasted and pasted[-1] == "":  # (blank lines between commands stay)
                pasted.pop()
                blank += 1
            got = outputs[n].rstrip("\n")
            out.append(lines[i])
            chosen = not only or any(o in lines[i] for o in only)
            if got != "\n".join(line.rstrip() for line in pasted) and chosen:
                differ += 1
                if not write:
                    print(f"=== {lines[i]}")
                    print("\n".join(list(difflib.unified_diff(pasted, got.split("\n"), lineterm="", n=1))[:40]))
                else:
                    print("updated:", lines[i])
                    pasted = got.split("\n") if got else []
            out.extend(pasted + [""] * blank)
        return "```console\n" + "\n".join(out) + "```"

    with reader_tree(text) as cwd:
        new = re.sub(r"```console\n(.*?)```", block, text, flags=re.S)
    if write:
        open(path, "w", encoding="utf-8").write(new)
    print(f"{differ} output(s) {'rewritten' if write else 'differ'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

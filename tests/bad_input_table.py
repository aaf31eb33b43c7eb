"""The README's table "What happens with bad input", generated from the test tables that check each
message through the CLI (tests/test_bad_input.py and tests/test_contract.py). Regenerate with
``python -m tests.bad_input_table`` and paste; tests/test_docs.py fails when they drift."""

from __future__ import annotations

from . import test_bad_input, test_contract

LONGEST = 240  # messages echoing long content (a 300-character file name) are left out of the README


def rows() -> list[tuple[str, str]]:
    out = []
    for module in (test_bad_input, test_contract):
        cases = {**module.CASES, **getattr(module, "USAGE", {})}
        for name, case in cases.items():
            message = case[-1].replace("{d}/", "")
            message = message if message.startswith("Error: ") else f"Error: {message}"
            if "{n}" in message or len(message) > LONGEST:
                continue
            out.append((name, message))
    return out


def table() -> str:
    lines = ["| case | message on stderr |", "|---|---|"]
    for name, message in rows():
        cell = message.replace("|", "\\|")
        fence = "``" if "`" in cell else "`"
        lines.append(f"| {name.replace('|', '/')} | {fence}{cell}{fence} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(table(), end="")

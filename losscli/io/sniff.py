"""What a delimited text file's first lines say: its delimiter (comma, tab, semicolon, pipe,
whitespace), its leading comment lines (np.savetxt's header), Excel's ``sep=`` line, and how far to
read to see enough of them. ``csv.py`` reads the file on that."""

from __future__ import annotations

import csv
import re

from ..errors import InputError
from .rules import is_number
from .textparse import WHITESPACE

_DELIMITERS = (",", "\t", ";", "|")


#: a number as pandas writes it with decimal=','
_DECIMAL_COMMA = re.compile(r"[+-]?\d+(?:,\d+)?(?:[eE][+-]?\d+)?")


#: a quoted field, its doubled quotes inside it
_QUOTED = re.compile(r'"(?:[^"]|"")*"')


#: a quote that opens a quoted field: at the start of a line or after a delimiter (a quote inside
#: a field, ``5" screen``, is a character like any other, as the parser reads it)
_OPENS = re.compile(r'(?:^|(?<=[,\t;| ]))"')
#: the rest of a quoted field, up to its closing quote (doubled quotes are inside it)
_CLOSES = re.compile(r'(?:[^"]|"")*"(?!")')


def records(lines: list[str], whole: bool, limit: int = 50) -> list[str]:
    """The first lines as the rows they are: a quoted field holding a line end (pandas quotes a
    text with one) joins its lines into one, so the sniffer counts the fields of rows, not of
    pieces of them. Comment lines at the top are left as they are; a row still open at the end of
    what was read is left out unless that is the whole file (the parser then says it is never
    closed). At most ``limit`` rows."""
    out: list[str] = []
    pending: list[str] = []  # the lines of a row whose quoted field is open (joined once it closes)
    top = True  # (still in the comment lines at the top: np.savetxt's header, '# the "best" model')
    for line in lines:
        if len(out) >= limit:
            return out
        top = top and not pending and is_comment(line)
        if top:
            out.append(line)
            continue
        inside, pos = bool(pending), 0  # (a line of an open field is scanned from its start, inside it)
        while True:
            if inside:
                m = _CLOSES.match(line, pos)
                if m is None:
                    break
                inside, pos = False, m.end()
            m = _OPENS.search(line, pos)
            if m is None:
                break
            inside, pos = True, m.end()
        pending.append(line)
        if not inside:
            out.append("\n".join(pending))
            pending = []
    if pending and whole:
        out.append("\n".join(pending))
    return out


def sniff_delimiter(lines: list[str]) -> str | None:
    """The delimiter that splits the first lines into the same number (> 1) of fields (a delimiter
    inside a quoted field, ``"Paris, FR"`` as pandas writes it, splits nothing)."""
    lines = [_QUOTED.sub("x", line) for line in lines]
    best, best_fields = None, 1
    for d in _DELIMITERS:
        counts = {line.count(d) for line in lines}
        if len(counts) != 1:
            continue
        n = counts.pop()
        if n + 1 > best_fields:
            best, best_fields = d, n + 1
        elif best == "," and d == ";" and n and all(_DECIMAL_COMMA.fullmatch(f.strip())
                                                    for line in lines[1:] or lines for f in line.split(";")):
            best, best_fields = ";", n + 1  # numbers with a decimal comma between the ';' (the header aside)
    if best is None:
        if all(len(line.split()) == len(lines[0].split()) > 1 for line in lines):
            return WHITESPACE
        if len(lines) > 2:  # a header with fewer fields than the rows (an implicit index): the rows decide
            return sniff_delimiter(lines[1:])
        for d in _DELIMITERS:  # inconsistent counts: let the parser report the ragged line
            if d in lines[0]:
                return d
    return best


def delimiter(lines: list[str], label: str) -> str:
    """The sniffed delimiter; but a file named as tab-separated (``.tsv``, ``.tab``, compressed too)
    of one column whose lines are numbers with a decimal comma is one column: '-4,2' of
    to_csv(sep='\\t', decimal=',') is no two fields (a .tsv the sniffer finds separated otherwise,
    by commas between names or by spaces, is read as it is written)."""
    sniffed = sniff_delimiter(lines)
    name = label.lower()
    for packed in (".gz", ".bz2", ".xz", ".zst"):
        name = name.removesuffix(packed)
    if name.endswith((".tsv", ".tab")) and sniffed == "," and \
            all(_DECIMAL_COMMA.fullmatch(ln.strip()) for ln in lines[1:] or lines):
        return "\t"
    return sniffed or ","


#: bytes looked at to find the delimiter and the header: the first lines, as long as they are
SNIFF_LINES, SNIFF_BYTES = 5, 16 * 2**20


def sniffing_head(opener, head: bytes) -> tuple[bytes, bool]:
    """``head`` (the first 64 kB), read on while it holds fewer than SNIFF_LINES whole lines
    (a line of 4096 numbers is ~100 kB; a 100,000-column header ~700 kB), up to SNIFF_BYTES; and
    whether it is the whole file."""
    if head.count(b"\n") >= SNIFF_LINES:
        return head, False
    if len(head) < 65536:
        return head, True
    with opener() as fh:
        data = fh.read(len(head))
        while data.count(b"\n") < SNIFF_LINES and len(data) < SNIFF_BYTES:
            more = fh.read(len(data))
            if not more:
                return data, True
            data += more
    return data, False


def split_fields(line: str, sep: str, label: str = "input") -> list[str]:
    """The fields of one line (quotes as CSV has them; spaces after a delimiter skipped)."""
    if sep == WHITESPACE:
        return line.split()
    try:
        return next(csv.reader([line], delimiter=sep, skipinitialspace=True), [])
    except csv.Error as exc:  # e.g. a header field over the csv module's 131072 characters
        raise InputError(f"{label}: cannot split its first lines into fields ({exc})") from None


#: the header decision for np.savetxt's header (``# pred label``: a comment line of names)
COMMENT_HEADER = "yes (np.savetxt's header: the names after '#' on its last comment line)"


def is_comment(line: str) -> bool:
    """A comment line as np.savetxt writes its header (``# ...``); not ``#,pred`` (a column named '#')."""
    text = line.lstrip()
    return text.startswith("#") and (len(text) == 1 or text[1] not in ",;|\t")


def uncomment(line: str) -> str:
    return line.lstrip()[1:].lstrip()


#: Excel's first line naming the delimiter of the lines below it
EXCEL_SEP = re.compile(r"sep=([,;\t|]) *")


def comments(lines: list[str]) -> tuple[int, bool]:
    """The leading comment lines of a text file (np.savetxt's header, ``# trained 2024-01-01`` /
    ``# pred label``): how many, and whether the last of them names the columns (as many names as
    the next line has fields, one of them not a number, unless that line is a header itself: text
    above numbers). Those lines are not data; without such names, the line after them is read as a
    first line is (a header, or data)."""
    skip = 0
    while skip < len(lines) - 1 and is_comment(lines[skip]):
        skip += 1
    if not skip:
        return 0, False
    names = uncomment(lines[skip - 1])
    sep = sniff_delimiter([names, *lines[skip:]]) or ","
    try:
        fields, below = split_fields(names, sep), split_fields(lines[skip], sep)
    except InputError:
        return skip, False
    if len(fields) == len(below) and any(not is_number(f) for f in fields):
        try:
            after = split_fields(lines[skip + 1], sep) if skip + 1 < len(lines) else []
        except InputError:
            after = []
        from .textvalues import NA_VALUES

        def text(f: str) -> bool:  # (a word, not a number, nor a missing value: NA, an empty cell)
            return not is_number(f) and f.strip() not in NA_VALUES

        if len(after) == len(below) and any(text(b) and is_number(a) for b, a in zip(below, after)):
            return skip, False  # (its next line, text above numbers, is the header: '# a note' above pandas')
        return skip - 1, True
    return skip, False

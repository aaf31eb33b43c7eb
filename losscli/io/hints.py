"""What a value losscli does not read is, and how to get it read: numbers written for people
(decimal commas, thousands separators, percent and currency signs, a minus that is not '-',
accounting negatives, a Ctrl-Z), marks for a missing value, np.savetxt's footer, a list in a text
field, and a file of one number a line with a decimal comma that reads as two columns of integers
(:func:`refuse_decimal_commas`). Declared once; the readers say them in their errors (``csv.py``,
``table.py``)."""

from __future__ import annotations

import re

from ..errors import InputError

#: numbers written for people, which losscli does not read: (pattern, why and the fix); the
#: patterns are RE2 as well (Arrow looks for them in whole columns)
#: (``{read}``, ``{write}``: how pandas reads the file and writes it back, from its delimiter and
#: whether its first line is a header: :func:`numeric_text_hint`)
_HINTS = (
    (r"[-+]?\d{1,3}(?:[. ']\d{3})+,\d+|[-+]?\d+,\d+", "it looks like a decimal comma: losscli reads '.' as the "
     "decimal separator; convert the file, e.g. pandas: pd.read_csv(f, {read}decimal=',', thousands='.')"
     ".to_csv(out, index=False{write})"),
    (r"[-+]?\d+,\d+[eE][-+]?\d+", "it looks like a decimal comma: losscli reads '.' as the decimal separator; "
     "convert the file, e.g. pandas: pd.read_csv(f, {read}decimal=',').to_csv(out, index=False{write})"),
    (r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?|[-+]?\d{1,3}(?:[ ']\d{3})+(?:\.\d*)?", "it looks like a number with "
     "thousands separators, which losscli does not read; write plain numbers, e.g. pandas: "
     "pd.read_csv(f, {read}thousands=',').to_csv(out, index=False{write})"),
    (r"[-+]?(?:\d+\.?\d*|\.\d+)\s*%", "it looks like a percentage, which losscli does not read; "
     "write fractions (12% as 0.12)"),
    (r"[$€£¥]\s*[-+]?\d[\d,]*(?:\.\d*)?|[-+]?\d[\d,]*(?:\.\d*)?\s*[$€£¥]",
     "it looks like an amount with a currency sign, which losscli does not read; write plain numbers"),
    ("[\u2212\u2013]\\s*\\d+(?:[.,]\\d+)?(?:[eE][-+]?\\d+)?", "it looks like a number with a minus sign that is not "
     "'-' (U+2212 or a dash), which losscli does not read; write '-'"),
    (r"\(\s*\d[\d,]*(?:\.\d+)?\s*\)", "it looks like a negative number in parentheses (accounting style), "
     "which losscli does not read; write '-0.38'"),
    (r"\x1a", "it is a Ctrl-Z (byte 0x1a), the end-of-file mark DOS-era tools append, not a value; remove it, "
     "e.g. tr -d '\\032'"),
)
_COMPILED = tuple((re.compile(p), hint) for p, hint in _HINTS)
#: any of them, for a whole column (RE2 syntax)
NUMERIC_TEXT = r"^\s*(?:" + "|".join(p for p, _ in _HINTS) + r")\s*$"


def numeric_text_hint(value: str, sep: str | None = None, header: bool = True) -> str | None:
    """Why a text value that looks like a number is not read as one, and how to fix the file:
    ``sep``, the delimiter of the text file it is in (None: pandas finds it itself, for values of
    other files); ``header``, whether the file's first line is a header (not: ``0,5`` on a first
    line of data taken for a name)."""
    text = value.strip()
    for pattern, hint in _COMPILED:
        if pattern.fullmatch(text):
            read = f"sep={sep!r}, " if sep is not None else "sep=None, engine='python', "
            return hint.format(read=read + ("" if header else "header=None, "), write="" if header else ", header=False")
    return None


#: what people write for a missing value that is not one of pandas' NA spellings
_MISSING_MARKS = ("-", "--", "?", ".", "n.a.", "N.A.", "missing", "NULL()", "(null)", "nil")


def hint_suffix(value: str, text_file: bool = True, sep: str | None = None, header: bool = True) -> str:
    """``numeric_text_hint`` as the end of a message ("; it looks like ..."), or, in a text file,
    what a line that starts with ``#`` below the data is (np.savetxt's ``footer``) or a field that
    holds a list, or nothing."""
    hint = numeric_text_hint(value, sep, header)
    if hint is not None or not text_file:
        return f"; {hint}" if hint else ""
    if value.strip() in _MISSING_MARKS:
        hint = ("a mark for a missing value, which losscli does not read as one: leave the field empty or write NA "
                "(pandas: to_csv(na_rep='')); with --nan-policy omit such rows are dropped")
    elif value.lstrip().startswith("#"):
        hint = ("a comment line (np.savetxt's footer?): only the comment lines above the data are skipped; drop the "
                "others first, as <(grep -v '^#' FILE) does")
    elif re.fullmatch(r"\s*\[[-+0-9.eE, ]*\]\s*", value) and any(c.isdigit() for c in value):
        hint = ("a list of numbers in a text field (DuckDB's CSV of a LIST column): losscli reads lists "
                "from Parquet or Arrow (COPY ... TO 'x.parquet' (FORMAT parquet), write_parquet), or one column a value")
    return f"; {hint}" if hint else ""


#: two whole numbers a line, the second written with a leading zero (``1,05``)
_PAIR = re.compile(r"\s*-?[0-9]+,[0-9]+\s*")
_LEADING_ZERO = re.compile(r"\s*-?[0-9]+,0[0-9]+\s*")


def refuse_decimal_commas(lines: list[str], label: str) -> None:
    """A file without a header whose every line is two whole numbers, some second one written with a
    leading zero (``0,12``, ``1,05``): one number a line with a decimal comma (a series written
    with ``sep=';', decimal=','``), which read as two columns of integers gave a wrong value.
    Integers are not written with leading zeros; refused, with the pandas line that converts it, and
    the selectors that read two columns of codes or clock times written %02d (12,05: as written, a
    number with two decimals). Not where the first count 0, 1, 2, ... (pandas' index beside codes)."""
    if len(lines) < 2 or not all(_PAIR.fullmatch(ln) for ln in lines) or \
            not any(_LEADING_ZERO.fullmatch(ln) for ln in lines):
        return
    firsts = [ln.strip().split(",")[0] for ln in lines]
    if [int(f) for f in firsts] == list(range(len(firsts))):
        return
    at = next(ln.strip() for ln in lines if _LEADING_ZERO.fullmatch(ln))
    # (three digits after every comma: as likely thousands, 12,050, as decimals written %.3f)
    thousands = all(len(ln.strip().split(",")[1]) == 3 for ln in lines)
    what, instead = ("a decimal comma or a thousands separator", "; thousands=',' instead of decimal=',' reads "
                     "12,050 as 12050") if thousands else ("a decimal comma", "")
    raise InputError(f"{label}: every line is two whole numbers, some written with a leading zero ({at!r}): "
                     f"one number a line with {what}, not two columns; convert the file, e.g. pandas: "
                     "pd.read_csv(f, sep=';', header=None, decimal=',').to_csv(out, index=False, header=False)"
                     f"{instead}; if they are two columns of codes or times (12,05), name them: {label}:0 and "
                     f"{label}:1")

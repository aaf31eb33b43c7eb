"""CSV/TSV read in pieces on the parse pool: the pieces (any size), the two ways a piece is read
(Arrow's CSV reader, and a cast of each line for one number a line), and the block sizes never
change a value, a column or an error message."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import losscli.io.textparse as tp
from losscli.errors import InputError
from losscli.io.cache import FileReader, InputCache

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

number = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["", "nan", "NaN", "inf", "-inf", " 2.5", "  -1e-3", "1e308", "0x1", '"7"']),
)
text = st.sampled_from(["abc", '"a,b"', '"two\nlines"', '"say ""hi"""', " x"])


@st.composite
def tables(draw):
    width = draw(st.integers(1, 3))
    kinds = draw(st.lists(st.sampled_from(["num", "num", "text"]), min_size=width, max_size=width))
    rows = []
    for _ in range(draw(st.integers(1, 40))):
        if draw(st.integers(0, 9)) == 0:
            rows.append("")  # a blank line inside the data
        else:
            rows.append(",".join(draw(number if k == "num" else text) for k in kinds))
    header = [",".join(f"c{i}" for i in range(width))] if draw(st.booleans()) else []
    end = draw(st.sampled_from(["\n", "\r\n"]))
    tail = draw(st.sampled_from(["", end, end * 3, " " + end]))
    return end.join(header + rows) + end + tail


def outcome(path):
    try:
        arr = InputCache().load(str(path))
        return "ok", arr.columns, arr.data.tolist()
    except InputError as exc:
        return "error", str(exc)


def same(a, b) -> bool:
    if a[0] != b[0] or a[:2] != b[:2]:
        return False
    if a[0] == "error":
        return True
    x, y = np.asarray(a[2], dtype=float), np.asarray(b[2], dtype=float)
    return x.shape == y.shape and bool(np.all((x == y) | (np.isnan(x) & np.isnan(y))))


@SETTINGS
@given(content=tables(), piece=st.integers(1, 40))
def test_any_piece_size_reads_the_same(tmp_path, monkeypatch, content, piece):
    path = tmp_path / "t.csv"
    path.write_bytes(content.encode())
    whole = outcome(path)  # one piece: the file at once
    monkeypatch.setattr(tp, "PIECE_BYTES", piece)
    pieces = outcome(path)
    if "\n" in content.replace("\r\n", "\n").split('"two', 1)[-1] and '"two' in content and whole[0] == "error":
        assert pieces[0] == "error"  # a quoted line break: error lines count rows, not lines
    else:
        assert same(whole, pieces), (content, whole, pieces)


def test_pieces_never_cut_inside_a_quoted_field(tmp_path, monkeypatch):
    monkeypatch.setattr(tp, "PIECE_BYTES", 3)
    path = tmp_path / "q.csv"
    path.write_text('id,x\n"a\nb,c",1\n"d",2\n"e\n\nf",3\n')
    arr = InputCache().load(f"{path}:x")
    assert arr.data.tolist() == [1.0, 2.0, 3.0]


def test_blank_lines_inside_are_missing_values_at_the_end_not_data(tmp_path, monkeypatch):
    """Blank lines inside the data are rows of missing values; at the end of a file of several
    columns they are not data; at the end of a file of one column each is a missing value, as
    polars and DuckDB write one (review 105 #1: a null in the last row was dropped)."""
    monkeypatch.setattr(tp, "PIECE_BYTES", 2)
    path = tmp_path / "b.csv"
    path.write_text("x,z\n1,1\n\n2,2\n\n\n \n")
    data = InputCache().load(f"{path}:x").data
    assert data[0] == 1 and np.isnan(data[1]) and data[2] == 2 and data.shape == (3,)
    path.write_text("x\n1\n\n2\n\n\n \n")
    data = InputCache().load(str(path)).data
    assert data[0] == 1 and data[2] == 2 and np.isnan(data[[1, 3, 4, 5]]).all() and data.shape == (6,)


@pytest.mark.parametrize("piece", [7, 64, 4096])
def test_error_lines_are_counted_across_pieces(tmp_path, monkeypatch, piece):
    monkeypatch.setattr(tp, "PIECE_BYTES", piece)
    ragged = tmp_path / "r.csv"
    ragged.write_text("a,b\n" + "1,2\n" * 500 + "3,4,5\n")
    with pytest.raises(InputError, match=r"r.csv, line 502: expected 2 fields, found 3"):
        InputCache().load(str(ragged))
    word = tmp_path / "w.csv"
    word.write_text("a,b\n" + "1,2\n" * 300 + "x,2\n")
    with pytest.raises(InputError, match=r"w.csv, line 302, column 'a': expected a number, found 'x'"):
        InputCache().load(f"{word}:a")
    quote = tmp_path / "q.csv"
    quote.write_text("a\n" + "1\n" * 200 + '"2\n3\n')
    with pytest.raises(InputError, match=r"q.csv, line 202: a quoted field is never closed"):
        InputCache().load(str(quote))


def test_blocks_have_exactly_the_asked_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(tp, "PIECE_BYTES", 50)
    path = tmp_path / "n.csv"
    path.write_text("x\n" + "".join(f"{i}\n" for i in range(1000)))
    blocks = list(FileReader(str(path)).blocks(64))
    assert [b.rows for b in blocks] == [64] * 15 + [40]
    assert [b.row_offset for b in blocks][:3] == [0, 64, 128]
    assert np.concatenate([b.columns["x"] for b in blocks]).tolist() == list(range(1000))


def test_spaces_after_delimiters_are_skipped_as_pandas_does(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("a, b\n1,  2.5\n3,  nan\n4, -inf\n")
    arr = InputCache().load(str(path))
    assert arr.columns == ("a", "b")
    assert arr.data[0, 1] == 2.5 and np.isnan(arr.data[1, 1]) and arr.data[2, 1] == -np.inf


@pytest.mark.parametrize("sep", [",", " "])
def test_values_are_exactly_pythons_floats(tmp_path, monkeypatch, sep):
    """Every value is Python's float() of its text, on every supported dependency version
    (pandas before 3.1 is 1 ulp off for about half of all 17-digit values; the whitespace
    parser reads strings and converts them as the comma one does): integers past 64 bits and
    overlong decimals too."""
    monkeypatch.setattr(tp, "PIECE_BYTES", 4096)
    rng = np.random.default_rng(3)
    values = [f"{v:.17g}" for v in rng.normal(size=2000) * 10.0 ** rng.integers(-30, 30, 2000)]
    values += ["-9223372036854775809", "18446744073709551617", "99999999999999999999.5", "0.88389003096620206",
               "4.9e-324", "1e-400", "1.7976931348623157e308"]
    path = tmp_path / "f.csv"
    path.write_text("x" + sep + "y\n" + "".join(f"{v}{sep}{i}\n" for i, v in enumerate(values)))
    assert InputCache().load(f"{path}:x").data.tolist() == [float(v) for v in values]


SPELLINGS = ["1", "+1", "-0", "0.", ".5", "5.", "1E5", "1e+05", "1e-05", "007", "nan", "NaN", "NAN", "-nan", "inf",
             "-inf", "+inf", "Inf", "INF", "infinity", "-Infinity", "1e400", "-1e400", "1e-400", "4.9e-324",
             "2.2250738585072011e-308", "9007199254740993", "0.1000000000000000055511151231257827",
             "1_000", "0x10", "1e", "e5", "--1", "1.2.3", "", " 1", "1 ", "NA", "null", "None", "#N/A", "True",
             "1,5", "1;5", "7\r\r", "7\r", "١", "\ufeff1"]


@pytest.mark.parametrize("end", ["\n", ""], ids=["line-end", "no-last-line-end"])
@pytest.mark.parametrize("value", SPELLINGS, ids=repr)
def test_one_number_a_line_reads_as_the_csv_reader_reads_it(run, tmp_path, monkeypatch, value, end):
    """A file of one column (read by casting each line, without the CSV tokeniser, here from its
    first piece on) gives every spelling exactly the value, or the error, that the CSV reader gives
    it (which reads the same file when one value is quoted): nothing is misread by the shorter way."""
    monkeypatch.setattr(tp, "SHORTCUT_AFTER", 0)
    plain, quoted, zero = tmp_path / "plain.csv", tmp_path / "quoted.csv", tmp_path / "zero.csv"
    plain.write_text("x\n" + "\n".join(["2.5", value, "-3.25"]) + end, encoding="utf-8")
    quoted.write_text("x\n" + "\n".join(['"2.5"', value, "-3.25"]) + end, encoding="utf-8")
    zero.write_text("y\n0\n0\n0\n")

    def read(source):
        result = run("compute", "mae", source, zero, "--per-sample", "--format", "json")
        if result.exit_code:
            return result.exit_code, result.stderr.replace(str(source), "F")
        return 0, json.loads(result.stdout)["results"][0]["per_sample"]

    fast, reader = read(plain), read(quoted)
    assert fast == reader
    if fast[0] == 0 and value.strip() not in NA_SPELLINGS:
        assert fast[1] == [2.5, abs(float(value)), 3.25]  # (a number Python's float() refuses fails here)


NA_SPELLINGS = ("", "NA", "null", "None", "#N/A", "nan", "NaN", "NAN", "-nan")


def test_a_large_plain_column_takes_the_shortcut_until_a_line_is_not_a_number(run, tmp_path, monkeypatch):
    """From a file's SHORTCUT_AFTER-th piece on, a piece of plain numbers is read by the cast (the
    speed of large one-column files rests on it); a piece with a line that is not one goes to the
    CSV reader, and so does the rest of the file: the values are the same either way."""
    monkeypatch.setattr(tp, "PIECE_BYTES", 256)
    monkeypatch.setattr(tp, "SHORTCUT_AFTER", 2)
    used: list[bool] = []
    cast = tp._number_lines
    monkeypatch.setattr(tp, "_number_lines", lambda piece: used.append(cast(piece) is not None) or cast(piece))
    values = np.random.default_rng(1).normal(size=2000).tolist()
    plain, holed, zero = tmp_path / "plain.csv", tmp_path / "holed.csv", tmp_path / "zero.csv"
    plain.write_text("x\n" + "".join(f"{v!r}\n" for v in values))
    holed.write_text("x\n" + "".join("\n" if i == 1500 else f"{v!r}\n" for i, v in enumerate(values)))
    zero.write_text("y,w\n" + "0,0\n" * 2000)  # (two columns: it never takes the shortcut)

    def mae(path):
        out = run("compute", "mae", path, f"{zero}:y", "--nan-policy", "omit", "--per-sample", "--format", "json")
        assert out.exit_code == 0, out.stderr
        return json.loads(out.stdout)["results"][0]["per_sample"]

    assert mae(plain) == [abs(v) for v in values]
    assert len(used) > 100 and all(used)  # every piece after the first two (~40 lines a piece)
    used.clear()
    assert mae(holed) == [abs(v) for i, v in enumerate(values) if i != 1500]  # (the blank line: missing, omitted)
    hole = used.index(False)  # the piece with the blank line; the ~40 after it go to the reader
    assert hole > 100 and all(used[:hole]) and len(used) <= hole + 1 + tp.AHEAD  # (but those parsed meanwhile)

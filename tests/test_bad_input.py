"""Hostile and malformed input, one table, through the real CLI only: exit 2, nothing on stdout,
exactly one line on stderr, ``Error: <message>`` naming the file, the place, what was found and
what was expected. Replaces the per-case copies in test_hostile.py, test_cli.py, test_readers.py,
test_ci_reports.py and test_gradcheck.py (see the hand-over notes)."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from .conftest import write_csv

#: what an error about a selected text column adds
CLASS_HINT = '; if it holds class names, --classes NAME,... (or predictions whose columns are named after the classes) reads them as class indices'


@pytest.fixture
def d(tmp_path):
    write_csv(tmp_path / "p.csv", ["pred"], [[0.1], [0.2], [0.9]])
    write_csv(tmp_path / "y.csv", ["label"], [[0], [1], [1]])
    write_csv(tmp_path / "probs.csv", ["a", "b", "c"], [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])
    write_csv(tmp_path / "eval.csv", ["id", "pred", "label"], [["a", 1, 0], ["b", 2, 1], ["c", 3, 5]])
    write_csv(tmp_path / "four.csv", ["a", "b", "c", "d"], [[1, 2, 3, 4]] * 3)
    np.save(tmp_path / "logits.npy", np.arange(9.0).reshape(3, 3))
    return tmp_path


def raw(path, content: bytes):
    path.write_bytes(content)
    return path


def _empty_dir(d):
    (d / "empty").mkdir()
    return d / "empty"


def _pickled(d):
    np.save(d / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    return d / "obj.npy"


def _truncated(d):
    np.save(d / "t.npy", np.arange(100.0))
    return raw(d / "trunc.npy", (d / "t.npy").read_bytes()[:200])


def _npz(d):
    np.savez(d / "z.npz", logits=np.zeros((3, 3)), labels=np.zeros(3))
    return str(d / "z.npz")


#: a LIST column as DuckDB's COPY ... TO 'x.csv' writes it (three rows)
_LISTS = b'\n1,"[0.50, 0.25]"\n2,"[1.50, 2.00]"\n3,"[0.00, 1.00]"\n'


def _column_npy(d):
    np.save(d / "y1.npy", np.array([[0], [2], [1]]))
    return d / "y1.npy"


def _polars_int128(d):
    """A Parquet file with a column of 128-bit integers, as polars 2.1.0 wrote it (tests/data: polars
    is not among the test extras)."""
    import shutil

    return shutil.copy(os.path.join(os.path.dirname(__file__), "data", "int128.parquet"), d / "int128.parquet")


def _keep(path, content=b"previous"):
    """A file that must still hold ``content`` after the failed run."""
    path.write_bytes(content)
    return path


# A message starting with "re:" is a regular expression (the tail quotes numpy's own text);
# "{n}" is the number of registered losses, read from `losscli list` at test time.
def _npy(path, array):
    np.save(path, array)
    return path


CASES = {
    # -- files ------------------------------------------------------------------------------------
    "missing file": (lambda d: ["compute", "mse", d / "nope.csv", d / "y.csv"], "{d}/nope.csv: no such file"),
    "missing weights file": (lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--weights", d / "nope.csv"],
                             "{d}/nope.csv: no such file"),
    "empty directory": (lambda d: ["compute", "mse", _empty_dir(d), d / "y.csv"],
                        "{d}/empty: is a directory with no data files (a sharded input needs at least one; names "
                        "starting with . or _ are not data)"),
    "empty file": (lambda d: ["compute", "mse", raw(d / "e.csv", b""), d / "y.csv"], "{d}/e.csv: empty file"),
    "NPY of no rows": (lambda d: ["compute", "mse", _npy(d / "e.npy", np.zeros(0)), d / "y.csv"],
                       "{d}/e.npy: holds no rows (0 samples)"),
    "header only": (lambda d: ["compute", "mse", raw(d / "h.csv", b"pred\n"), d / "y.csv"],
                    "{d}/h.csv: has a header but no data rows"),
    "non-numeric cell": (lambda d: ["compute", "mse", raw(d / "n.csv", b"pred\n1\n2\nabc\n"), d / "y.csv"],
                         "{d}/n.csv, line 4, column 'pred': expected a number, found 'abc'"),
    "text column selected": (lambda d: ["compute", "mse", f"{d}/eval.csv:id", f"{d}/eval.csv:label"],
                             "{d}/eval.csv, line 2, column 'id': expected a number, found 'a' (the column is text)"
                             + CLASS_HINT),
    "ragged rows": (lambda d: ["compute", "mse", raw(d / "r.csv", b"a,b\n1,2\n3,4,5\n6,7\n"), d / "y.csv"],
                    "{d}/r.csv, line 3: expected 2 fields, found 3 (ragged rows, or a delimiter other than ',')"),
    "quoted field never closed": (lambda d: ["compute", "mse", raw(d / "q.csv", b'a\n1\n"2\n3\n'), d / "y.csv"],
                                  "{d}/q.csv, line 3: a quoted field is never closed"),
    "wrong delimiter (decimal commas)": (
        lambda d: ["compute", "mse", raw(d / "w.csv", b"pred;label\n0,5;1,0\n1,5;2,0\n2,5;3,0\n"), d / "y.csv"],
        "{d}/w.csv, line 2, column 'pred': found '0,5', which is not read as a number; it looks like a decimal "
        "comma: losscli reads '.' as the decimal separator; convert the file, e.g. pandas: "
        "pd.read_csv(f, sep=';', decimal=',', thousands='.').to_csv(out, index=False)"),
    "a dash for a missing value": (
        lambda d: ["compute", "mse", raw(d / "m.csv", b"pred\n0.5\n-\n1.5\n"), d / "y.csv"],
        "{d}/m.csv, line 3, column 'pred': expected a number, found '-'; a mark for a missing value, which losscli "
        "does not read as one: leave the field empty or write NA (pandas: to_csv(na_rep='')); with --nan-policy omit "
        "such rows are dropped"),
    "a missing weight under --nan-policy omit": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--weights", raw(d / "mw.csv", b"w\n1\nNA\n1\n"),
                   "--nan-policy", "omit"],
        "{d}/mw.csv, line 3, column 'w': found nan (weights must be finite and >= 0); to leave the row out, give it "
        "weight 0 (--nan-policy omit drops rows whose inputs are NaN, not whose weight is)"),
    "non-UTF-8": (lambda d: ["compute", "mse", raw(d / "u.csv", b"pred\n1\n\xe9\n"), d / "y.csv"],
                  "{d}/u.csv, line 3: not UTF-8 text (byte 0xe9); expected a UTF-8 CSV file: re-encode it from the "
                  "encoding it was written in (Latin-1: iconv -f LATIN1 -t UTF-8, or pandas: pd.read_csv(f, "
                  "encoding='latin-1').to_csv(out, index=False))"),
    "UTF-16 BOM bytes": (lambda d: ["compute", "mse", raw(d / "u16.csv", b"a\n\xff\xfe1\n"), d / "y.csv"],
                         "{d}/u16.csv, line 2: not UTF-8 text (byte 0xff); expected a UTF-8 CSV file: re-encode it from "
                         "the encoding it was written in (Latin-1: iconv -f LATIN1 -t UTF-8, or pandas: pd.read_csv(f, "
                         "encoding='latin-1').to_csv(out, index=False))"),
    "binary junk named .csv": (lambda d: ["compute", "mse", raw(d / "j.csv", bytes(range(256))), d / "y.csv"],
                               "{d}/j.csv: looks like a binary file (NUL bytes), expected CSV text"),
    "NPY magic in a .csv, garbage after": (
        lambda d: ["compute", "mse", raw(d / "f.csv", b"\x93NUMPY\x01\x00garbage"), d / "y.csv"],
        r"re:{d}/f\.csv: not a valid NPY array \(.+\)"),
    "truncated NPY": (lambda d: ["compute", "mse", _truncated(d), d / "y.csv"],
                      r"re:{d}/trunc\.npy: not a valid NPY array \(.+\)"),
    "pickled NPY": (lambda d: ["compute", "mse", _pickled(d), d / "y.csv"],
                    "{d}/obj.npy: holds an object (pickled) array; refused, losscli never unpickles "
                    "(save a numeric array instead)"),
    "NPZ without the key": (lambda d: ["compute", "softmax_ce", _npz(d) + ":nope", d / "y.csv"],
                            "{d}/z.npz: no array named 'nope' (keys: logits, labels)"),
    "NPZ without a selector": (lambda d: ["compute", "softmax_ce", _npz(d), d / "y.csv"],
                               "{d}/z.npz: holds several arrays, name one as {d}/z.npz:KEY (keys: logits, labels)"),
    "selector names a missing column": (lambda d: ["compute", "mse", f"{d}/p.csv:prd", d / "y.csv"],
                                        "{d}/p.csv: no column 'prd' (columns: pred)"),
    "selector column index out of range": (lambda d: ["compute", "mse", f"{d}/four.csv:9", d / "y.csv"],
                                           "{d}/four.csv: column index 9 is out of range (the file has 4 columns, 0-3)"),
    "stdin selector names a missing column": (lambda d: ["compute", "mse", "-:nope", "-:label"],
                                              "<stdin>: no column 'nope' (columns: pred, label)",
                                              "pred,label\n1,0\n2,1\n"),
    # -- shapes -----------------------------------------------------------------------------------
    "row-count mismatch": (lambda d: ["compute", "mse", d / "p.csv", write_csv(d / "s.csv", ["l"], [[1], [2]])],
                           "{d}/s.csv has 2 rows but {d}/p.csv has 3 (every input needs one row per sample)"),
    "a blank line at the end of a one-column file": (
        lambda d: ["compute", "mse", d / "p.csv", raw(d / "b.csv", b"label\n1\n2\n2\n\n")],
        "{d}/p.csv has 3 rows but {d}/b.csv has 4 (every input needs one row per sample); {d}/b.csv's last row is a "
        "missing value (in a file of one column an empty line is a row, as polars and DuckDB write a missing value): "
        "delete the blank lines at its end if they are not rows"),
    "blank lines at the end of one-column weights": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--weights", raw(d / "w.csv", b"1\n2\n2\n\n\n")],
        "{d}/p.csv has 3 rows but {d}/w.csv has 5 (every input needs one row per sample); {d}/w.csv's last 2 rows are "
        "missing values (in a file of one column an empty line is a row, as polars and DuckDB write a missing value): "
        "delete the blank lines at its end if they are not rows"),
    "column-count mismatch": (lambda d: ["compute", "kl", d / "probs.csv", f"{d}/probs.csv:a,b"],
                              "{d}/probs.csv:a,b (kl labels): has shape (3, 2) (columns 'a', 'b') but {d}/probs.csv "
                              "has (3, 3) (columns 'a', 'b', 'c') (expected the same shape; a selector, FILE:COLUMN, "
                              "reads the columns it names)"),
    "class columns mismatch": (lambda d: ["compute", "softmax_ce", d / "logits.npy", f"{d}/probs.csv:0-1"],
                               "{d}/probs.csv:0-1 (softmax_ce labels): expected shape (N,), got (3, 2); or has 2 "
                               "columns but {d}/logits.npy has 3 (read from columns 'a', 'b': a selector, FILE:COLUMN, "
                               "reads the ones it names)"),
    "(N, 1) class labels": (lambda d: ["compute", "softmax_ce", d / "logits.npy", _column_npy(d)],
                            "{d}/y1.npy (softmax_ce labels): expected shape (N,), got (3, 1); or has 1 columns but "
                            "{d}/logits.npy has 3 ({d}/y1.npy:0 reads its one column as shape (N,))"),
    "class names written without a header": (
        lambda d: ["compute", "softmax_ce", d / "probs.csv", raw(d / "names.csv", b"a\nb\nc\n"), "--classes", "a,b,c"],
        "{d}/names.csv has 2 rows but {d}/probs.csv has 3 (every input needs one row per sample); {d}/names.csv's first "
        "line, text, was read as its header (--header no reads it as data)"),
    "np.savetxt footer": (lambda d: ["compute", "mse", d / "p.csv", raw(d / "f.txt", b"1.0\n2.0\n3.0\n# end\n")],
                          "{d}/f.txt, line 4, column '0': expected a number, found '# end'; a comment line (np.savetxt's "
                          "footer?): only the comment lines above the data are skipped; drop the others first, as "
                          "<(grep -v '^#' FILE) does"),
    "a list in a CSV field": (
        lambda d: ["compute", "mse", f"{raw(d / 'l.csv', b'id,emb' + _LISTS)}:emb", d / "logits.npy"],
        "{d}/l.csv, line 2, column 'emb': expected a number, found '[0.50, 0.25]' (the column is text); a list of numbers "
        "in a text field (DuckDB's CSV of a LIST column): losscli reads lists from Parquet or Arrow (COPY ... TO "
        "'x.parquet' (FORMAT parquet), write_parquet), or one column a value"),
    "128-bit integers in Parquet": (
        lambda d: ["compute", "mse", f"{_polars_int128(d)}:p", f"{d}/int128.parquet:p"],
        "{d}/int128.parquet: not a readable Parquet file (ArrowNotImplementedError: Integers with more than 64 bits "
        "not implemented); a column of 128-bit integers (polars' Int128) makes the file unreadable to pyarrow, whatever "
        "is selected: cast it to Int64 or Float64 before writing, or drop it"),
    "1-D input where rows are expected": (lambda d: ["compute", "ce", d / "p.csv", d / "y.csv"],
                                          "{d}/p.csv (ce predictions): expected shape (N, C), got (3,)"),
    "wrong input count": (lambda d: ["compute", "mse", d / "p.csv"], "mse takes 2 inputs (predictions, labels), got 1"),
    # -- domains ----------------------------------------------------------------------------------
    "probability outside [0, 1]": (
        lambda d: ["compute", "bce", write_csv(d / "pp.csv", ["p"], [[0.5], [1.5], [0.1]]), d / "y.csv"],
        "{d}/pp.csv, line 3, column 'p': found 1.5 (bce predictions expects probabilities in [0, 1]); these look "
        "like logits: bce_logits (logits) takes them"),
    "a file and a column of one name": (  # (the file was read whole: review 101 #6)
        lambda d: ["compute", "mse", write_csv(d / "pair.csv:pred", ["pred"], [[1], [2], [3]]).parent / "pair.csv:pred",
                   write_csv(d / "pair.csv", ["pred", "label"], [[1, 1], [2, 2], [3, 4]]).parent / "pair.csv:label"],
        "{d}/pair.csv:pred: names the file '{d}/pair.csv:pred' and the selector 'pred' of {d}/pair.csv: rename one of "
        "them, or write {d}/pair.csv:pred: (a colon at the end) for the file, whole"),
    "infinite probability, NaN propagated": (  # (exit 3 before: review 101 #1)
        lambda d: ["compute", "bce", write_csv(d / "pi.csv", ["p"], [[0.5], ["inf"], [0.1]]), d / "y.csv",
                   "--nan-policy", "propagate"],
        "{d}/pi.csv, line 3, column 'p': found inf (bce predictions expects probabilities in [0, 1])"),
    "infinite probability in a one-hot row": (
        lambda d: ["compute", "softmax_ce", d / "probs.csv",
                   write_csv(d / "oh.csv", ["a", "b", "c"], [[1, 0, 0], [0, "inf", 0], [0, 0, 1]]),
                   "--nan-policy", "propagate"],
        "{d}/oh.csv, line 3, column 'b': found inf (softmax_ce labels expects class indices (N,) (a label equal to "
        "ignore_index is skipped) or probability rows (N, C) (one-hot or soft))"),
    "probability past 1 by rounding": (
        lambda d: ["compute", "bce", write_csv(d / "pr.csv", ["p"], [[0.5], [1.000000000001], [0.1]]), d / "y.csv"],
        "{d}/pr.csv, line 3, column 'p': found 1.000000000001 (bce predictions expects probabilities in [0, 1]); "
        "the values outside [0, 1] lie within 1e-12 of it: rounding? clip them to [0, 1] (np.clip(p, 0, 1))"),
    "label near 1": (
        lambda d: ["compute", "dice", write_csv(d / "dp.csv", ["a", "b"], [[0.5, 0.5], [0.2, 0.8], [1, 0]]),
                   write_csv(d / "dl.csv", ["a", "b"], [[0.9999999, 0], [0, 1], [1, 0]])],
        "{d}/dl.csv, line 2, column 'a': found 0.9999999 (dice labels expects labels in {{0, 1}})"),
    "rows not summing to 1": (
        lambda d: ["compute", "ce", write_csv(d / "rs.csv", ["a", "b"], [[0.5, 0.5], [0.5, 0.3], [1, 0]]), d / "y.csv"],
        "{d}/rs.csv, line 3: row sums to 0.8 (ce predictions expects rows of probabilities in [0, 1] that "
        "sum to 1; tolerance 0.0001, --prob-tol sets it)"),
    "class index out of range": (
        lambda d: ["compute", "softmax_ce", d / "logits.npy", write_csv(d / "ci.csv", ["y"], [[0], [5], [1]])],
        "{d}/ci.csv, line 3, column 'y': found 5 (softmax_ce labels expects an integer class index in 0..2)"),
    "class index not an integer": (
        lambda d: ["compute", "softmax_ce", d / "logits.npy", write_csv(d / "cf.csv", ["y"], [[0], [1.5], [1]])],
        "{d}/cf.csv, line 3, column 'y': found 1.5 (softmax_ce labels expects an integer class index in 0..2)"),
    "negative class index": (
        lambda d: ["compute", "softmax_ce", d / "logits.npy", write_csv(d / "cn.csv", ["y"], [[0], [1], [-2]])],
        "{d}/cn.csv, line 4, column 'y': found -2 (softmax_ce labels expects an integer class index in 0..2)"),
    "labels outside {0, 1}": (
        lambda d: ["compute", "dice", d / "p.csv", write_csv(d / "b.csv", ["y"], [[0], [2], [1]])],
        "{d}/b.csv, line 3, column 'y': found 2 (dice labels expects labels in {{0, 1}})"),
    "labels outside {-1, +1}": (
        lambda d: ["compute", "margin_ranking", d / "p.csv", d / "p.csv", write_csv(d / "s2.csv", ["y"], [[1], [0], [-1]])],
        "{d}/s2.csv, line 3, column 'y': found 0 (margin_ranking labels expects labels in {{-1, +1}})"),
    "hinge labels mixing -1 and 0": (
        lambda d: ["compute", "hinge", d / "p.csv", write_csv(d / "m.csv", ["y"], [[1], [0], [-1]])],
        "{d}/m.csv, line 3, column 'y': found a mix of -1 and 0 labels (hinge labels expects labels in "
        "{{-1, +1}} (or {{0, 1}}) for (N,) scores; class indices for (N, C) scores)"),
    "negative Poisson rate": (
        lambda d: ["compute", "poisson_nll", write_csv(d / "neg.csv", ["p"], [[1], [-2], [3]]), d / "y.csv",
                   "-p", "log_input=false"],
        "{d}/neg.csv, line 3, column 'p': found -2 (a negative rate; with log_input=false the predictions are "
        "rates >= 0 (use log_input=true for log-rates))"),
    "empty mask with smooth=0": (
        lambda d: ["compute", "dice", write_csv(d / "e0.csv", ["a", "b"], [[0, 0]] * 3), d / "e0.csv:a,b", "-p",
                   "smooth=0"],
        "dice: {d}/e0.csv, line 2: the denominator 2·TP + FP + FN + smooth (an empty prediction of an empty mask) "
        "is 0, so the loss is 0/0; it needs smooth > 0 (got smooth=0)"),
    "tversky with alpha = beta = 0 and no true positive": (
        lambda d: ["compute", "tversky", write_csv(d / "t0.csv", ["a", "b"], [[0.5, 0.5], [1, 0], [0, 1]]),
                   write_csv(d / "t1.csv", ["a", "b"], [[1, 1], [0, 0], [0, 1]]), "-p", "alpha=0", "-p", "beta=0",
                   "-p", "smooth=0"],
        "tversky: {d}/t0.csv, line 3: the denominator TP + α·FP + β·FN + smooth is 0, so the loss is 0/0; it "
        "needs smooth > 0 (got smooth=0)"),
    "ge2e speakers of different sizes": (
        lambda d: ["compute", "ge2e", d / "logits.npy", d / "y.csv"],
        "ge2e labels: speaker 0 has 1 utterances but speaker 1 has 2; every speaker needs the same number M >= 2"),
    # -- missing values ---------------------------------------------------------------------------
    "NaN in inputs": (
        lambda d: ["compute", "mse", raw(d / "nan.csv", b"pred\n1\nnan\n3\n"), d / "y.csv"],
        "{d}/nan.csv, line 3, column 'pred': found NaN (an empty or missing value), expected a finite number "
        "(--nan-policy omit drops such rows)"),
    "empty cell in inputs": (
        lambda d: ["compute", "mse", raw(d / "gap.csv", b"pred\n1\n\n3\n"), d / "y.csv"],
        "{d}/gap.csv, line 3, column 'pred': found NaN (an empty or missing value), expected a finite number "
        "(--nan-policy omit drops such rows)"),
    "inf in inputs": (
        lambda d: ["compute", "mse", raw(d / "inf.csv", b"pred\n1\n2\n-inf\n"), d / "y.csv"],
        "{d}/inf.csv, line 4, column 'pred': found -inf (an infinite value), expected a finite number "
        "(--nan-policy omit drops such rows)"),
    "every row NaN with omit": (
        lambda d: ["compute", "mse", raw(d / "allnan.csv", b"pred\nnan\nnan\nnan\n"), d / "y.csv", "--nan-policy", "omit"],
        "every one of the 3 rows has a NaN or infinite value; nothing is left to evaluate after --nan-policy omit"),
    # -- weights ----------------------------------------------------------------------------------
    "negative weight": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--weights", write_csv(d / "w.csv", ["w"], [[1], [-1], [1]])],
        "{d}/w.csv, line 3, column 'w': found -1 (weights must be finite and >= 0)"),
    "NaN weight": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--weights", raw(d / "wn.csv", b"w\n1\nnan\n1\n")],
        "{d}/wn.csv, line 3, column 'w': found nan (weights must be finite and >= 0); to leave the row out, give it "
        "weight 0 (--nan-policy omit drops rows whose inputs are NaN, not whose weight is)"),
    "all-zero weights": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--weights", write_csv(d / "z.csv", ["w"], [[0], [0], [0]])],
        "{d}/z.csv (weights): all weights are zero; the weighted mean is undefined"),
    "weights with two columns": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--weights", write_csv(d / "w2.csv", ["a", "b"], [[1, 2]] * 3)],
        "{d}/w2.csv (weights): expected one weight per sample, shape (3,), got (3, 2)"),
    "weights with more rows": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--weights", write_csv(d / "w4.csv", ["w"], [[1]] * 4)],
        "{d}/p.csv has 3 rows but {d}/w4.csv has 4 (every input needs one row per sample)"),
    "non-finite model parameters": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--params", raw(d / "theta.csv", b"w\n1\nnan\n"), "--l2", "1"],
        "{d}/theta.csv (--params): holds NaN or infinite values"),
    # -- losses and parameters --------------------------------------------------------------------
    "unknown loss": (lambda d: ["compute", "hubber", d / "p.csv", d / "y.csv"],
                     "unknown loss 'hubber'; did you mean huber? (run 'losscli list' for all {n} losses)"),
    "unknown loss in info": (lambda d: ["info", "msee"],
                             "unknown loss 'msee'; did you mean mse, rmse, msle? (run 'losscli list' for all {n} losses)"),
    "empty loss name": (lambda d: ["compute", "mse,", d / "p.csv", d / "y.csv"], "empty loss name in 'mse,'"),
    "a loss listed twice": (lambda d: ["compute", "mse,mse", d / "p.csv", d / "y.csv"],
                            "'mse' is listed twice in 'mse,mse': list each loss once (for two settings of one "
                            "loss, run once per setting)"),
    "a loss and its alias": (lambda d: ["compute", "mae,mse,l1", d / "p.csv", d / "y.csv"],
                             "'mae' and 'l1' are one loss (mae) in 'mae,mse,l1': list each loss once (for two "
                             "settings of one loss, run once per setting)"),
    "gradcheck: a loss listed twice": (lambda d: ["gradcheck", "huber", "huber"],
                                       "'huber' is listed twice in 'huber,huber': list each loss once (for two "
                                       "settings of one loss, run once per setting)"),
    "unknown parameter": (lambda d: ["compute", "huber", d / "p.csv", d / "y.csv", "-p", "delt=1"],
                          "-p 'delt=1': huber has no parameter 'delt' (valid: delta)"),
    "parameter no selected loss has": (lambda d: ["compute", "mse,huber", d / "p.csv", d / "y.csv", "-p", "beta=2"],
                                       "-p 'beta=2': no selected loss has parameter 'beta' (valid: huber.delta)"),
    "-p without =": (lambda d: ["compute", "huber", d / "p.csv", d / "y.csv", "-p", "delta"],
                     "-p 'delta': expected NAME=VALUE or LOSS.NAME=VALUE"),
    "ill-typed bool parameter": (lambda d: ["compute", "l2", d / "p.csv", d / "y.csv", "-p", "half=maybe"],
                                 "parameter l2.half: expected true or false, got 'maybe'"),
    "ill-typed float parameter": (lambda d: ["compute", "huber", d / "p.csv", d / "y.csv", "-p", "delta=abc"],
                                  "parameter huber.delta: expected a number, got 'abc'"),
    "parameter out of its domain (>=0)": (lambda d: ["compute", "focal", d / "p.csv", d / "y.csv", "-p", "gamma=-1"],
                                          "parameter focal.gamma: must be >=0, got -1.0"),
    "parameter out of its domain (>0)": (lambda d: ["compute", "huber", d / "p.csv", d / "y.csv", "-p", "delta=0"],
                                         "parameter huber.delta: must be >0, got 0.0"),
    "parameter not one of the choices": (lambda d: ["compute", "zero_one", d / "p.csv", d / "y.csv", "-p", "mode=foo"],
                                         "parameter zero_one.mode: expected one of auto, argmax, threshold, sign, got 'foo'"),
    "class_weights of the wrong length": (
        lambda d: ["compute", "softmax_ce", d / "logits.npy", d / "y.csv", "-p", "class_weights=1,2"],
        "parameter softmax_ce.class_weights: has 2 values but the inputs have 3 classes"),
    "mode=argmax on (N,) scores": (lambda d: ["compute", "zero_one", d / "p.csv", d / "y.csv", "-p", "mode=argmax"],
                                   "zero_one: mode=argmax needs (N, C) scores"),
    "loss overflows float64": (
        lambda d: ["compute", "exponential", write_csv(d / "big.csv", ["f"], [[1.0], [-1e4], [2.0]]),
                   write_csv(d / "sg.csv", ["y"], [[1], [1], [-1]])],
        "exponential: the loss overflows float64 at row 1 (1 of 3 rows) although the inputs are finite: "
        "the values are too extreme for this loss"),
    # -- options ----------------------------------------------------------------------------------
    "--output equal to an input": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "-o", d / "y.csv"],
        "{d}/y.csv: is also an input ({d}/y.csv); refusing to overwrite an input"),
    "--save-grad equal to an input": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--save-grad", d / "p.csv"],
        "{d}/p.csv: is also an input ({d}/p.csv); refusing to overwrite an input"),
    "--save-grad of a non-differentiable loss": (
        lambda d: ["compute", "zero_one", d / "p.csv", d / "y.csv", "--save-grad", d / "g.npz"],
        "--save-grad: zero_one is not differentiable: the 0-1 loss is piecewise constant: its gradient is 0 almost "
        "everywhere and undefined at the decision boundary"),
    "failed run keeps the previous --save-grad file": (
        lambda d: ["compute", "mse", f"{d}/eval.csv:nope", d / "y.csv", "--save-grad", _keep(d / "old.npz")],
        "{d}/eval.csv: no column 'nope' (columns: id, pred, label)"),
    "failed run keeps the previous --output file": (
        lambda d: ["compute", "mse", d / "nope.csv", d / "y.csv", "-o", _keep(d / "old.json")],
        "{d}/nope.csv: no such file"),
    # (an option whose output the format does not show vanished without a word: review 101)
    "--ci with --format value": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--ci", "--format", "value"],
        "--ci: --format value does not show the confidence interval (--format json, table, ndjson or csv does; or add "
        "--report json:FILE)"),
    "--top with -o FILE.csv": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--top", "3", "-o", d / "out.csv"],
        "--top: -o {d}/out.csv (csv, by its suffix) does not show the worst samples (--format json, table or ndjson "
        "does; or add --report json:FILE)"),
    "--ci with --reduction none": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--ci", "--reduction", "none", "--format", "markdown"],
        "--ci needs --reduction mean or sum (an interval of one value)"),
    "--ci with --per-sample in CSV": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--ci", "--per-sample", "--format", "csv"],
        "--ci: --format csv with --per-sample does not show the confidence interval (--format json, table or ndjson "
        "does; or add --report json:FILE)"),
    "--per-sample with --format junit": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--per-sample", "--format", "junit"],
        "--per-sample: --format junit does not show every sample's loss (--format json, table, ndjson or csv does; "
        "or add --report json:FILE)"),
    "--by with --format value and no gate": (
        lambda d: ["compute", "mse", f"{d}/eval.csv:pred", f"{d}/eval.csv:label", "--by", "id", "--format", "value"],
        "--by: --format value does not show the loss per slice (--format json, table, ndjson, csv, markdown or junit "
        "does; or add --report json:FILE)"),
    "--l2 without --params": (lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--l2", "1"],
                              "--l1/--l2 need --params FILE (the model's parameters to penalise)"),
    "--scheduler without dask": (lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--scheduler", "tcp://x:1"],
                                 "--scheduler goes with --engine dask"),
    "compare: bad tolerance": (lambda d: ["compare", "mse", d / "p.csv", d / "p.csv", d / "y.csv", "--fail-if-worse", "x%"],
                               "--fail-if-worse: expected a number or a percentage like 2%, got 'x%'"),
    "compare: confidence outside (0, 1)": (
        lambda d: ["compare", "mse", d / "p.csv", d / "p.csv", d / "y.csv", "--confidence", "1.5"],
        "Invalid value for '--confidence': 1.5 is not in the range 0<x<1. (see 'losscli compare --help')"),
    "check: missing config": (lambda d: ["check", d / "nope.toml"], "{d}/nope.toml: no such file"),
    "gradcheck: nothing to check": (lambda d: ["gradcheck"], "name at least one loss, or use --all"),
    "gradcheck: names and --all": (lambda d: ["gradcheck", "mse", "--all"], "give loss names or --all, not both"),
    "gradcheck: unknown loss": (lambda d: ["gradcheck", "msee"],
                                "unknown loss 'msee'; did you mean mse, rmse, msle? (run 'losscli list' for all {n} losses)"),
    "gradcheck: non-differentiable loss": (
        lambda d: ["gradcheck", "zero_one"],
        "gradcheck: zero_one is not differentiable: the 0-1 loss is piecewise constant: its gradient is 0 almost "
        "everywhere and undefined at the decision boundary"),
}


def _loss_count(run):
    return len(run("list", "--format", "names").stdout.split())


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input(run, d, case):
    make_args, expected, *stdin = CASES[case]
    args = make_args(d)
    before = {p: p.read_bytes() for p in d.rglob("*") if p.is_file()}
    result = run(*args, input=stdin[0] if stdin else None)
    assert (result.exit_code, result.stdout) == (2, ""), (result.exit_code, result.stdout, result.stderr)
    assert result.stderr.endswith("\n") and len(result.stderr.splitlines()) == 1, result.stderr
    line = result.stderr.rstrip("\n")
    want = expected.format(d=d, n=_loss_count(run) if "{n}" in expected else 0)
    if want.startswith("re:"):
        assert re.fullmatch("Error: " + want[3:].replace(str(d), re.escape(str(d))), line), line
    else:
        assert line == "Error: " + want
    # a failed run writes nothing: every file there before is unchanged, no temporary file is left
    after = {p: p.read_bytes() for p in d.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(run, d):
    os.chmod(d / "p.csv", 0)
    try:
        result = run("compute", "mse", d / "p.csv", d / "y.csv")
    finally:
        os.chmod(d / "p.csv", 0o644)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"Error: {d}/p.csv: permission denied (cannot read the file)\n"


# click's own usage errors (a missing companion option, a bad --plugin) print click's usage block:
# exit 2 and nothing on stdout, the message on the last line
USAGE = {
    # (click kept the last of two: grouped by b alone, without a word; review 101)
    "an option given twice": (lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--by", "a", "--by=b"],
                              "Error: --by is given twice ('a', then 'b'): give it once; it takes a list: --by A,B "
                              "(see 'losscli compute --help')"),
    "an option given twice, in check": (lambda d: ["check", "c.toml", "--format", "json", "--format", "table"],
                                        "Error: --format is given twice ('json', then 'table'): give it once "
                                        "(see 'losscli check --help')"),
    "a short option given twice, its value attached": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "-o", "a.json", "-ob.json"],
        "Error: -o is given twice ('a.json', then 'b.json'): give it once (see 'losscli compute --help')"),
    "--significant without --fail-if-worse": (
        lambda d: ["compare", "mse", d / "p.csv", d / "p.csv", d / "y.csv", "--significant"],
        "Error: --significant goes with --fail-if-worse (see 'losscli compare --help')"),
    "--plugin that does not exist": (lambda d: ["--plugin", d / "nope.py", "list"],
                                     "Error: Invalid value for '--plugin': no such file (see 'losscli --help')"),
    "--plugin that raises": (lambda d: ["--plugin", raw(d / "boom.py", b"raise RuntimeError('boom')\n"), "list"],
                             "Error: Invalid value for '--plugin': failed to load: RuntimeError: boom "
                             "(see 'losscli --help')"),
    "unknown --format": (lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--format", "xml"],
                         "Error: Invalid value for '--format': 'xml' is not one of 'table', 'json', 'csv', 'ndjson', "
                         "'value', 'junit', 'markdown'. (see 'losscli compute --help')"),
}


def test_an_option_value_that_looks_like_an_option_is_a_value(run, d):
    """click gives an option the next token whatever it looks like: ``--by --by`` names a column
    ``--by``, given once (the check of options given twice took it for a second --by)."""
    result = run("compute", "mse", d / "p.csv", d / "y.csv", "--by", "--by")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("Error: --by --by: no column '--by' in the inputs")


@pytest.mark.parametrize("case", list(USAGE), ids=list(USAGE))
def test_usage_error(run, d, case):
    make_args, last = USAGE[case]
    result = run(*make_args(d))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == last + "\n"  # one line, with the way to help

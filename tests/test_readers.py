"""Input formats and selectors, through the public reader and the CLI's error path."""

import numpy as np
import pytest

from losscli.errors import InputError
from losscli.io.cache import InputCache
from losscli.io.spec import split_spec


def load(path, selector=None):
    return InputCache().load(f"{path}:{selector}" if selector else str(path))


@pytest.mark.parametrize("text", [
    "a,b\n1,2\n3,4\n", "a\tb\n1\t2\n3\t4\n", "a;b\n1;2\n3;4\n", "a b\n1 2\n3 4\n",
    "\ufeffa,b\r\n1,2\r\n3,4\r\n", "a,b\n1,2\n3,4\n\n\n",
])
def test_delimiters_bom_crlf(tmp_path, text):
    p = tmp_path / "t.csv"
    p.write_text(text, encoding="utf-8", newline="")
    arr = load(p)
    np.testing.assert_array_equal(arr.data, [[1, 2], [3, 4]])
    assert arr.columns == ("a", "b")


def test_headerless_csv_gets_index_names(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("1,2\n3,4\n")
    arr = load(p, "1")
    np.testing.assert_array_equal(arr.data, [2, 4])
    assert arr.where(1) == f"{p}:1, line 2, column '1'"


def test_text_columns_are_skipped_without_selector(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("id,x,y\na,1,2\nb,3,4\n")
    assert load(p).columns == ("x", "y")


def test_selector_ranges_and_lists(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b,c,d\n1,2,3,4\n")
    assert load(p, "1-3").columns == ("b", "c", "d")
    assert load(p, "d,a").columns == ("d", "a")
    with pytest.raises(InputError, match=r"column index 9 is out of range \(the file has 4 columns, 0-3\)"):
        load(p, "9")


def test_npy_and_npz(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(load(tmp_path / "x.npy", "1").data, [1, 3, 5])
    np.savez(tmp_path / "z.npz", a=np.ones(2), b=np.zeros(2))
    np.testing.assert_array_equal(load(tmp_path / "z.npz", "b").data, [0, 0])
    with pytest.raises(InputError, match=r"z.npz: no array named 'c' \(keys: a, b\)"):
        load(tmp_path / "z.npz", "c")
    with pytest.raises(InputError, match=r"holds several arrays, name one as .*z.npz:KEY \(keys: a, b\)"):
        load(tmp_path / "z.npz")


def test_same_file_is_read_once(tmp_path, monkeypatch):
    from losscli.io.cache import FileReader

    p = tmp_path / "t.csv"
    p.write_text("a,b\n1,2\n")
    calls = []
    real = FileReader._file_blocks
    monkeypatch.setattr(FileReader, "_file_blocks", lambda self, *a: calls.append(a) or real(self, *a))
    blocks = list(InputCache().lockstep([f"{p}:a", f"{p}:b"], None))
    assert len(calls) == 1
    assert [a.data.tolist() for a in blocks[0][1]] == [[1.0], [2.0]]


def test_split_spec_keeps_existing_paths_whole(tmp_path):
    odd = tmp_path / "a:b.csv"
    odd.write_text("x\n1\n")
    assert split_spec(str(odd)) == (str(odd), None)
    assert split_spec("eval.csv:p0,p1") == ("eval.csv", "p0,p1")
    assert split_spec("-") == ("-", None)

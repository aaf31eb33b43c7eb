"""How losscli uses its dependencies: only their public APIs, and only on the paths that need
them (pandas is not imported to read a CSV; pyarrow.compute only when a column holds text)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "losscli"
#: private-looking names that the library documents as public
DOCUMENTED = {("os", "_exit")}


def _private_uses(path: Path) -> list[str]:
    """Imports of a dependency's private module (a dotted component starting with ``_``) and
    attribute accesses ``x._name`` whose object is a third-party module or what a call returned
    (``pd.read_csv(...)._engine``); ``self._x`` and our own objects' are fine."""
    tree = ast.parse(path.read_text(), str(path))
    third_party: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not alias.name.startswith("losscli"):
                    third_party.add(alias.asname or alias.name.split(".")[0])
                    if any(p.startswith("_") for p in alias.name.split(".")):
                        found.append(f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                not node.module.startswith(("losscli", "__future__")):
            if any(p.startswith("_") for p in node.module.split(".")):
                found.append(f"from {node.module} import ...")
            for alias in node.names:
                third_party.add(alias.asname or alias.name)
                if alias.name.startswith("_"):
                    found.append(f"from {node.module} import {alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            root = base
            while isinstance(root, ast.Attribute):
                root = root.value
            owner = root.id if isinstance(root, ast.Name) else None
            if isinstance(base, ast.Call) or (owner in third_party and (owner, node.attr) not in DOCUMENTED):
                found.append(f"line {node.lineno}: .{node.attr}")
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_api_of_a_dependency(path):
    assert _private_uses(path) == []


def test_the_scan_finds_what_it_looks_for(tmp_path):
    """The scan itself can fail: each kind of private use in a sample module is reported."""
    sample = tmp_path / "sample.py"
    sample.write_text("import pandas as pd\nfrom pandas._libs import parsers\nimport numpy.core._multiarray_umath\n"
                      "from pyarrow import _csv\nx = pd.read_csv('f')._engine\ny = pd._libs\nimport os\nos._exit(0)\n"
                      "self_ok = object()\nclass A:\n    def f(self):\n        return self._x\n")
    assert _private_uses(sample) == [
        "from pandas._libs import ...", "import numpy.core._multiarray_umath", "from pyarrow import _csv",
        "line 5: ._engine", "line 6: ._libs"]


PROBE = """
import sys
import numpy  # (what numpy imports itself is not losscli's doing: numpy 1.x imports numpy.random, and secrets)
by_numpy = set(sys.modules)
from losscli.cli import main
try:
    main({args!r}, prog_name="losscli")
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
print(",".join(m for m in ("pandas", "pyarrow.compute", "torch", "polars", "duckdb", "asyncio", "numpy.random",
                           "secrets", "losscli.engine.address", "zipfile", "tempfile", "difflib")
               if m in sys.modules and m not in by_numpy),
      file=sys.stderr)
"""


@pytest.mark.parametrize("content, selector, expected", [
    ("p,t\n0.5,1\n0.25,0\n", ":p", ""),
    ("name,p,t\na,0.5,1\nb,0.25,0\n", ":p", ""),  # a text column that is not selected is not even converted
    ("id,p,t\na,0.5,1\nb,0.25,0\n", ":p", ""),  # nor is an id column: kept as text, compared if paired
    ("name,p\na,0.5\nb,0.25\n", "", "pyarrow.compute"),  # all numeric columns: the text one is looked at
])
def test_reading_a_csv_does_not_import_pandas(tmp_path, content, selector, expected):
    path = tmp_path / "d.csv"
    path.write_text(content)
    (tmp_path / "t.csv").write_text("t\n1\n0\n")
    args = ["compute", "mse", f"{path}{selector}", f"{tmp_path / 't.csv'}", "--format", "value"]
    proc = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{(0.25 + 0.0625) / 2!r}\n"
    assert proc.stderr.strip().splitlines()[-1:] == ([expected] if expected else [])


@pytest.mark.parametrize("files, options", [
    ({"p.csv": "id,p\n2,0.5\n1,0.25\n", "t.csv": "id,t\n1,0\n2,1\n"}, ["--on", "id"]),
    ({"p.csv": "k,p\nb,0.5\na,0.25\n", "t.csv": "k,t\na,0\nb,1\n"}, ["--on", "k"]),
    ({"p.csv": "cat,dog\n0.5,0.5\n0.25,0.75\n", "t.csv": "t\ndog\ncat\n"}, []),
])
def test_joins_and_class_names_do_not_import_pandas(tmp_path, files, options):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    loss = "ce" if "cat" in files["p.csv"] else "mse"
    args = ["compute", loss, str(tmp_path / "p.csv"), str(tmp_path / "t.csv"), *options, "--format", "value"]
    proc = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "pandas" not in proc.stderr.strip().splitlines()[-1].split(",")

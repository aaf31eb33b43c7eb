"""The README and sample_data/README.md stay true: every loss documented, every sample command runs."""

import re
import shlex
from pathlib import Path

import pytest

from losscli import list_losses

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
SAMPLES = (ROOT / "sample_data" / "README.md").read_text()


def _readme_outputs():
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_outputs", ROOT / "docs" / "readme_outputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def readme_files() -> dict[str, str]:
    """The files the README shows for the reader to save (``# my_torch.py``), name -> text."""
    return _readme_outputs().file_blocks(README)


def readme_commands() -> list[tuple[str, str]]:
    """Each ``$ command`` of the README's console blocks with the output pasted under it."""
    pairs = []
    for block in re.findall(r"```console\n(.*?)```", README, re.S):
        for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = part.partition("\n")
            pairs.append((command, output))
    return pairs


def test_readme_lists_every_builtin_loss():
    for loss in list_losses():
        if loss.source == "built-in":
            assert f"| `{loss.name}` |" in README, loss.name


def test_readme_catalogue_is_the_registry():
    """The README's catalogue is generated from the registry (names, aliases, inputs, defaults,
    what each loss matches, conventions): any change to a declaration shows here until it is
    regenerated."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("catalogue_doc", ROOT / "docs" / "catalogue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.section() in README, "regenerate with: python docs/catalogue.py --write"


def test_readme_has_exactly_the_two_setup_commands():
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    assert blocks[:2] == [
        "pip install . && losscli compute mse,mae,huber sample_data/regression/preds.csv "
        "sample_data/regression/labels.csv\n",
        "pip install -e '.[test]' && pytest\n",
    ]


@pytest.mark.parametrize("command", sorted(set(re.findall(r"`(losscli [^`]+)`", SAMPLES))))
def test_sample_data_commands_run(run, command, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    if args[0] == "compute":
        args += ["--format", "json"]  # (shows everything a command asks for: value refuses --by, --ci, ...)
    result = run(*args)
    assert result.exit_code == 0, (command, result.stderr)


def test_readme_python_api_example_runs_as_shown():
    import doctest

    start = README.index(">>> import numpy as np, pandas as pd, losscli")
    example = README[start:README.index("```", start)]
    test = doctest.DocTestParser().get_doctest(example, {}, "README Python API", None, 0)
    runner = doctest.DocTestRunner()
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_readme_bad_input_table_is_the_tests_table():
    from .bad_input_table import table

    assert table() in README, "regenerate with: python -m tests.bad_input_table"


def _version(name: str) -> tuple[int, ...]:
    from importlib.metadata import version

    return tuple(int(p) for p in re.findall(r"\d+", version(name))[:2])


@pytest.mark.skipif(_version("rich") < (14, 0), reason="the README's outputs are drawn by rich >= 14 (the newest "
                                                     "environment); older rich draws tables otherwise")
def test_readme_pasted_outputs_are_real(monkeypatch):
    """Every ``$ command`` of the README's console blocks, re-run on a 100-column terminal,
    prints what is pasted under it (``python docs/readme_outputs.py --write`` pastes them). They
    run where a reader runs them: in the repository, with the files the README shows saved there
    (``# my_torch.py``; docs/readme_outputs.py makes that tree)."""
    import contextlib
    import io
    import sys

    monkeypatch.setattr(sys, "path", list(sys.path))  # (on_terminal puts ROOT on it)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = _readme_outputs().main([])
    assert code == 0 and out.getvalue().rstrip().endswith("0 output(s) differ"), out.getvalue()[-3000:]


def test_readme_outputs_are_not_errors_about_files_it_shows():
    """A command that uses a file the README shows (``losscli --plugin my_torch.py ...`` under
    ``# my_torch.py``) is pasted with what that file does, not with an error that it is missing
    (what ``docs/readme_outputs.py --write`` pastes when it runs where the file was not saved)."""
    files = readme_files()
    assert "my_torch.py" in files
    missing = re.compile(r"no such file|not found|does not exist|no module named", re.I)
    for command, output in readme_commands():
        used = [name for name in files if re.search(rf"(?<![\w/.-]){re.escape(name)}\b", command)]
        assert not (used and missing.search(output)), (command, output)


def test_readme_markdown_report_is_real(run):
    """The job-summary table under "Reports CI systems read" is what the command it names prints."""
    shown = README[README.index("| gate | loss | value | checks |"):]
    shown = shown[:shown.index("\n\n`--report FORMAT:FILE`")]  # (the gates, then each gate's slices)
    assert run("check", "sample_data/losscli.toml", "--format", "markdown").stdout.rstrip("\n") == shown


@pytest.mark.parametrize("png", ["plot_huber_mae", "plot_bce_focal", "plot_focal_sweep", "fit_huber", "fit_mae_step"])
def test_readme_figures_are_in_docs_and_shown(png):
    """The figures the issue asks for are checked in (small PNGs) and shown in the README, each
    with the command that draws it."""
    import struct

    data = (ROOT / "docs" / f"{png}.png").read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and width >= 800 and height >= 300 and len(data) < 400_000
    assert f"](docs/{png}.png)" in README and f"-o docs/{png}.png" in README.replace("\n", " ")

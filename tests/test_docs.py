"""The README and sample_data/README.md stay true: every loss documented, every sample command runs."""

import re
import shlex
from pathlib import Path

import pytest

from losscli import list_losses

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
SAMPLES = (ROOT / "sample_data" / "README.md").read_text()


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
        args += ["--format", "value"]
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

"""Shell completion, as the shells ask for it: bash runs the script ``losscli completion bash``
prints (a real bash, completing the line as typed); zsh and fish through Click's protocol (the
environment those scripts set), as neither shell is installed here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVAL = "sample_data/regression/eval.csv"
NPZ = "sample_data/multiclass/eval.npz"

BASH_DRIVER = r"""
source <(losscli completion bash)
complete -p losscli
while IFS= read -r line; do
  COMP_LINE="$line"; COMP_POINT=${#line}
  read -ra COMP_WORDS <<< "$line"; COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  [[ "$line" == *" " ]] && COMP_CWORD=${#COMP_WORDS[@]}
  _losscli_completion losscli 2>/dev/null
  echo "[$(printf '%s|' "${COMPREPLY[@]}")]"
done
"""


@pytest.fixture(scope="module")
def path_with_losscli(tmp_path_factory):
    """A PATH whose `losscli` is this interpreter's."""
    bindir = tmp_path_factory.mktemp("bin")
    (bindir / "losscli").write_text(f"#!/bin/sh\nexec {sys.executable} -m losscli \"$@\"\n")
    (bindir / "losscli").chmod(0o755)
    return f"{bindir}{os.pathsep}{os.environ['PATH']}"


def bash_complete(lines: list[str], path: str) -> tuple[str, list[str]]:
    """(bash's `complete -p losscli`, the completions of each line)."""
    proc = subprocess.run(["bash", "-c", BASH_DRIVER], input="\n".join(lines) + "\n", capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, "PATH": path}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    return out[0], [[item for item in line[1:-1].split("|") if item] for line in out[1:]]


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_quotes_names_and_finds_the_columns_of_any_path(path_with_losscli, tmp_path):
    """A column name with a space comes back quoted; pandas' "Unnamed: 0" (no selector can name
    it) is not offered; a path with a ':' in it still completes its columns; --by offers the
    --by-file's columns when one is given."""
    (tmp_path / "sp.csv").write_text("Unnamed: 0,house price,label\n0,1,2\n")
    (tmp_path / "a:b").mkdir()
    (tmp_path / "a:b" / "e.csv").write_text("pred,label\n1,2\n")
    (tmp_path / "meta.csv").write_text("shard,team\n1,2\n")
    _, got = bash_complete([
        f"losscli compute mse {tmp_path}/sp.csv:ho",
        f"losscli compute mse {tmp_path}/sp.csv:",
        f"losscli compute mse {tmp_path}/a:b/e.csv:pr",
        f"losscli compute mse {tmp_path}/sp.csv {tmp_path}/a:b/e.csv --by ",
        f"losscli compute mse {tmp_path}/sp.csv y.csv --by-file {tmp_path}/meta.csv --by ",
    ], path_with_losscli)
    assert got == [["house\\ price"], ["house\\ price", "label"], ["pred"], ["house\\ price", "label", "pred"],
                   ["shard", "team"]]


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completes_names_parameters_columns_and_keeps_file_names(path_with_losscli, tmp_path):
    np.savez(tmp_path / "out.npz", logits=np.zeros((2, 3)), labels=np.zeros(2))
    registered, got = bash_complete([
        "losscli compute hu",
        "losscli compute mse,hu",
        f"losscli compute huber {EVAL}:",
        f"losscli compute huber {EVAL}:pr",
        f"losscli compute huber {EVAL}:pred,la",
        f"losscli compute softmax_ce {tmp_path}/out.npz:",
        "losscli compute huber -p huber.",
        "losscli compute mse,huber x.csv -p de",
        "losscli compute mse x.csv --format j",
        f"losscli compute mse {EVAL} y.csv --by reg",
        "losscli info foc",
        "losscli gr",
        "losscli plot hin",
        "losscli compute mse sample_data/regre",
    ], path_with_losscli)
    assert registered == "complete -o default -o nosort -F _losscli_completion losscli"  # -o default: files stay
    assert got[0] == ["huber"]
    assert got[1] == ["mse,huber"]
    assert got[2] == ["id", "size_m2", "pred", "label", "region"]  # (bash replaces what follows the colon)
    assert got[3] == ["pred"]
    assert got[4] == ["pred,label"]
    assert got[5] == ["logits", "labels"]
    assert got[6] == ["huber.delta="]
    assert got[7] == ["delta="]
    assert got[8] == ["json", "junit"]
    assert got[9] == ["region"]
    assert got[10] == ["focal", "focal_loss", "focal_softmax"]
    assert got[11] == ["gradcheck"]
    assert got[12] == ["hinge"]
    assert got[13] == []  # nothing of losscli's: bash's own file names (-o default)


def protocol(shell: str, words: str, cword: str | int) -> str:
    env = {**os.environ, "_LOSSCLI_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    proc = subprocess.run([sys.executable, "-m", "losscli"], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.rstrip("\n")


def test_zsh_and_fish_get_the_same_completions():
    assert protocol("zsh", "losscli compute mse,hu", 2).split("\n") == ["plain", "mse,huber", "_"]
    assert protocol("zsh", f"losscli compute huber {EVAL}:pr", 3).split("\n") == ["plain", f"{EVAL}:pred", "_"]
    assert protocol("zsh", "losscli compute huber sample_d", 3).split("\n")[0] == "file"  # the shell's own files
    # (Click 8.4 frames fish's answers as zsh's, older versions as "plain,VALUE")
    assert protocol("fish", "losscli compute mse,hu", "mse,hu") in ("plain,mse,huber", "plain\nmse,huber\n_")
    assert protocol("fish", "losscli compute huber -p huber.", "huber.") in ("plain,huber.delta=",
                                                                             "plain\nhuber.delta=\n_")


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -o default -F _losscli_completion losscli"),
                                           ("zsh", "compdef _losscli_completion losscli"),
                                           ("fish", "complete --no-files --command losscli")])
def test_completion_command_prints_each_shells_script(run, shell, marker):
    out = run("completion", shell)
    assert out.exit_code == 0 and marker in out.stdout and "_LOSSCLI_COMPLETE" in out.stdout


def test_completion_help_says_how_to_install_it(run):
    out = run("completion", "--help").stdout
    assert 'eval "$(losscli completion bash)"' in out and "~/.config/fish/completions/losscli.fish" in out
    assert run("completion", "tcsh").exit_code == 2

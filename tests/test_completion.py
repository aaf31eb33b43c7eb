"""Shell completion, as the shells ask for it: bash runs the script ``losscli completion bash``
prints (a real bash, completing the line as typed), a real fish and an interactive zsh on a
terminal (where installed: .ci/run installs them); and Click's protocol, the environment those
scripts set."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios

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
        f"losscli compute huber {EVAL}:pred,",
        "losscli fit huber sample_data/regression/outliers.csv --target pr",
        "losscli fit huber sample_data/regression/outliers.csv --features size_m2,",
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
    assert "pred,pred" not in got[14] and "pred,label" in got[14]  # (a column taken is not offered again)
    assert got[15] == ["price"]  # fit's --target and --features: the data's columns
    assert "size_m2,size_m2" not in got[16] and got[16]


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
    # (fish's answers are one "TYPE,VALUE" line each, whatever Click's version)
    assert protocol("fish", "losscli compute mse,hu", "mse,hu") == "plain,mse,huber"
    assert protocol("fish", "losscli compute huber -p huber.", "huber.") == "plain,huber.delta="


@pytest.mark.skipif(shutil.which("fish") is None, reason="no fish (apt-get install fish)")
def test_a_real_fish_completes_names_parameters_columns_and_files(path_with_losscli, tmp_path):
    """The script ``losscli completion fish`` prints, sourced by fish itself (Click 8.4's own
    script made fish fail on every line: "string split: missing argument")."""
    script = tmp_path / "losscli.fish"
    script.write_text(subprocess.run([sys.executable, "-m", "losscli", "completion", "fish"], capture_output=True,
                                     text=True, check=True).stdout)
    lines = ["losscli compute mse,hu", "losscli compute huber -p huber.", f"losscli compute huber {EVAL}:pr",
             f"losscli compute mse {NPZ}:", "losscli compute huber sample_data/regr", "losscli --fo"]
    command = f"source {script}; " + "; ".join(f"complete -C '{line}'; echo ==" for line in lines)
    proc = subprocess.run(["fish", "-N", "-c", command], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PATH": path_with_losscli}, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    got = [[w.split("\t")[0] for w in block.split("\n") if w] for block in proc.stdout.split("==")]
    assert got[0] == ["mse,huber"]
    assert got[1] == ["huber.delta="]
    assert got[2] == [f"{EVAL}:pred"]
    assert got[3] == [f"{NPZ}:labels", f"{NPZ}:logits"]
    assert got[4] == ["sample_data/regression/"]  # fish's own file names


def zsh_completes(lines: list[str], path: str) -> list[str]:
    """What an interactive zsh (compinit, the script eval'd) puts on the line after TAB."""
    import time

    from tests.terminal import ESCAPE

    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    proc = subprocess.Popen(["zsh", "-f", "-i"], stdin=secondary, stdout=secondary, stderr=secondary, cwd=ROOT,
                            env={**os.environ, "PATH": path, "TERM": "dumb", "PS1": "%% "}, start_new_session=True)
    os.close(secondary)

    def read_until(marker: bytes, limit: float = 60.0) -> bytes:
        """What the terminal shows up to the prompt after ``marker`` (keys typed before zsh's line
        editor is back would be echoed raw by the terminal)."""
        seen, end = b"", time.monotonic() + limit
        while not (marker in seen and b"% " in seen.split(marker, 1)[1]) and time.monotonic() < end:
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                seen += os.read(primary, 65536)
        return seen

    out = []
    try:  # (the markers are quoted as typed, so their echo is not their output)
        os.write(primary, b'autoload -U compinit; compinit -u; eval "$(losscli completion zsh)"; echo RE""ADY\n')
        read_until(b"READY\r\n")
        for line in lines:
            # zsh reads the keys in order: the TAB's completion is drawn before ^U clears the line
            os.write(primary, line.encode() + b'\t\x15echo DO""NE\n')
            text = ESCAPE.sub("", read_until(b"DONE\r\n").decode(errors="replace")).replace("\r", "\n")
            shown = [t.removeprefix("% ") for t in text.split("\n")]
            out.append([t for t in shown if t.startswith(line)][-1])
    finally:
        os.write(primary, b"exit\n")
        proc.wait(timeout=30)
        os.close(primary)
    return out


@pytest.mark.skipif(shutil.which("zsh") is None, reason="no zsh (apt-get install zsh)")
def test_a_real_zsh_adds_no_space_after_a_name_that_expects_more(path_with_losscli):
    """An interactive zsh on a terminal: ``huber.delta=`` waits for its value (no space), a whole
    name gets its space."""
    got = zsh_completes(["losscli compute huber -p huber.", "losscli compute hu",
                         f"losscli compute huber {EVAL}:pr"], path_with_losscli)
    assert got == ["losscli compute huber -p huber.delta=", "losscli compute huber ",
                   f"losscli compute huber {EVAL}:pred "]


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

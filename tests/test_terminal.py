"""What a user sees in a terminal of any width: tables that never elide a value, help that fits
80 columns, no styles under NO_COLOR or in a pipe, ASCII rules off a terminal (run on a real
pseudo-terminal: ``tests/terminal.py``)."""

from __future__ import annotations

import json

import pytest

from losscli.cli import main

from .terminal import ESCAPE, in_terminal, screen_lines

REG = ["sample_data/regression/preds.csv", "sample_data/regression/labels.csv"]
COMMANDS = {
    "compute": ["compute", "mse,mae,huber", *REG, "--top", "2", "--ci", "-p", "huber.delta=0.75"],
    "compare": ["compare", "mse,mae", "sample_data/regression/preds.csv:pred", "sample_data/regression/candidate.csv",
                "sample_data/regression/labels.csv", "--fail-if-worse", "1%", "--top", "2"],
    "gradcheck": ["gradcheck", "mse,focal,infonce", "--method", "complex"],
    "check": ["check", "sample_data/losscli.toml"],
}
BOX = set("┏┃┡│└━┳╇┴─")


def _values(command: str, run) -> list[str]:
    """Every number, interval and status the table must show in full, from the JSON of the same run."""
    from losscli.render.values import fmt, judged_change

    out = run(*COMMANDS[command], "--format", "json")
    assert out.exit_code in (0, 1), out.stderr
    rec = json.loads(out.stdout)
    if command == "compute":
        return [fmt(r["value"], 10) for r in rec["results"]] + [
            f"[{fmt(r['ci']['interval'][0], 4)}, {fmt(r['ci']['interval'][1], 4)}] (95%)" for r in rec["results"]] + [
            fmt(r["stats"][k]) for r in rec["results"] for k in ("mean", "min", "p99", "max")] + ["delta=0.75"]
    if command == "compare":
        return [x for r in rec["results"] for x in (
            fmt(r["baseline"], 8), fmt(r["candidate"], 8), *judged_change(r),
            "[{}, {}] (95%)".format(*(fmt(v, 4) for v in r["bootstrap"]["interval"])),
            "PASS" if r["gate"]["passed"] else "FAIL")]
    if command == "gradcheck":
        return [x for r in rec["results"] for x in (fmt(r["max_rel_difference"], 3), fmt(r["max_error_ratio"], 3),
                                                    r["verdict"], f"{r['checked']}/{r['elements']}")]
    return [x for g in rec["gates"] for x in (fmt(g["value"], 8), "PASS" if g["passed"] else "FAIL")]


@pytest.mark.parametrize("columns", [60, 80, 120, 200])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_tables_never_elide_a_value_at_any_width(run, command, columns):
    code, seen, err = in_terminal(COMMANDS[command], columns)
    assert code in (0, 1), err
    lines = screen_lines(seen)
    assert "…" not in seen and "..." not in seen
    assert max(len(line) for line in lines) <= columns
    shown = "\n".join(lines)
    for value in _values(command, run):
        assert value in shown, (value, shown)
    assert BOX & set(shown)  # a terminal gets box-drawing rules


def test_a_narrow_terminal_splits_statistics_into_a_second_table():
    _, seen, _ = in_terminal(COMMANDS["compute"], 80)
    lines = screen_lines(seen)
    assert lines[0] == "Loss" and any(line.startswith("Loss (statistics)") for line in lines)
    _, seen, _ = in_terminal(COMMANDS["compute"], 200)
    assert not any(line.startswith("Loss (statistics)") for line in screen_lines(seen))


def _titles(lines: list[str]) -> list[str]:
    """The line above each table's top rule (a title may wrap: its last line)."""
    return [lines[i - 1] for i, line in enumerate(lines) if i and line.lstrip().startswith(("┏", "┌", "+-"))
            and not lines[i - 1].lstrip().startswith(("│", "┃", "|"))]


def test_few_rows_of_many_columns_go_vertical_and_no_title_repeats(tmp_path):
    """At 60 columns a long loss name leaves room for a column or two beside it: rather than
    six one-column tables, one small table per loss. A group split over several tables says
    that each goes on: no title twice."""
    (tmp_path / "long.py").write_text(
        "from losscli import register_loss\n\n"
        "@register_loss('a_loss_with_a_really_rather_long_name', coupling='elementwise')\n"
        "def f(predictions, labels):\n    return (predictions - labels) ** 2\n\n"
        "@f.gradient\ndef _(predictions, labels):\n    return {'predictions': 2 * (predictions - labels)}\n")
    code, seen, _ = in_terminal(["--plugin", tmp_path / "long.py", "gradcheck",
                                 "a_loss_with_a_really_rather_long_name,mse", "--dim", "1"], 60)
    lines = screen_lines(seen)
    assert code == 0 and "Gradient check: loss=a_loss_with_a_really_rather_long_name" in lines
    assert not [t for t in _titles(lines) if t.startswith("Gradient check (")]
    for command in ("compute", "compare", "check", "gradcheck"):
        for columns in (60, 80):
            _, seen, _ = in_terminal(COMMANDS[command], columns)
            titles = _titles(screen_lines(seen))
            assert titles and len(titles) == len(set(titles)), (command, columns, titles)


def test_a_long_word_folds_in_its_column_and_split_tables_say_what_they_hold(run, tmp_path):
    """40 class weights in the params column fold inside it: the summary stays a table at 80
    columns; a table split in two names the groups each part holds; the narrowest layout
    names each row by its key columns."""
    import numpy as np

    rng = np.random.default_rng(0)
    np.save(tmp_path / "z.npy", rng.normal(size=(50, 40)))
    np.save(tmp_path / "y.npy", rng.integers(0, 40, 50))
    weights = ",".join(f"{w:.3f}" for w in rng.uniform(0.5, 2, 40))
    code, seen, err = in_terminal(["compute", "softmax_ce", tmp_path / "z.npy", tmp_path / "y.npy", "-p",
                                   f"class_weights={weights}", "--top", "0"], 80)
    assert code == 0, err
    lines = screen_lines(seen)
    # (one row of many columns: one small table of fields rather than three one-column tables)
    assert lines[0] == "Loss: loss=softmax_ce" and "field" in seen and "Loss (" not in seen
    assert "".join(line.strip("│┃ ") for line in lines).replace(" ", "").count("class_weights=") == 1
    _, seen, _ = in_terminal(COMMANDS["compare"], 80)
    assert "(continued, samples)" in seen
    code, seen, err = in_terminal(["compute", "mse,mae", *REG, "--ci", "--top", "0"], 30)  # the interval: 32 wide
    assert code == 0, err
    lines = screen_lines(seen)
    assert "Loss: loss=mse" in lines and "Loss: loss=mae" in lines and "field" in seen


def test_no_color_and_pipes_get_no_styles_and_pipes_no_box_drawing(run):
    _, seen, _ = in_terminal(COMMANDS["compute"], 100, {"NO_COLOR": "1"})
    assert not ESCAPE.search(seen) and BOX & set(seen)
    _, styled, _ = in_terminal(COMMANDS["compute"], 100)
    assert ESCAPE.search(styled)  # (without NO_COLOR a terminal gets styles)
    for command in COMMANDS:
        piped = run(*COMMANDS[command]).stdout
        assert "\x1b" not in piped and not BOX & set(piped), command
        assert "+--" in piped and "| " in piped


def test_columns_sets_the_width_of_a_pipe(run, monkeypatch):
    monkeypatch.setenv("COLUMNS", "70")
    out = run(*COMMANDS["compare"]).stdout
    assert max(len(line) for line in out.splitlines()) <= 70 and "samples)" in out


def test_per_sample_in_a_table_lists_the_first_rows_and_says_how_to_get_all(run):
    out = run("compute", "mse,mae", *REG, "--per-sample", "--top", "1").stdout
    lines = out.splitlines()
    at = lines.index("per-sample losses (the first 20 of 200 rows)")
    assert lines[at + 2].split() == ["|", "index", "|", "mse", "|", "mae", "|"]
    assert lines[at + 4].split()[1] == "0" and lines[at + 23].split()[1] == "19"
    assert ("180 more samples not shown (in row order, each row beside its neighbours; the worst are in the tables "
            "above, --top K for more): --format csv (or json, ndjson) --per-sample lists every one") in " ".join(
                line.strip() for line in lines)
    small = run("compute", "mse", *REG, "--per-sample", "--reduction", "none").stdout
    assert "per-sample losses" in small


def _commands(group):
    yield []
    for name in group.commands:
        yield [name]


@pytest.mark.parametrize("path", list(_commands(main)), ids=lambda p: " ".join(p) or "losscli")
def test_help_fits_80_columns(path):
    _, seen, _ = in_terminal([*path, "--help"], 80)
    lines = screen_lines(seen)
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    if not path:  # the command list: whole short helps, none cut with "..."
        commands = lines[lines.index("Commands:") + 1:]
        assert commands and not any(line.rstrip().endswith("...") for line in commands), commands


def test_force_color_styles_a_pipe_and_no_machine_format(run, monkeypatch, tmp_path):
    """FORCE_COLOR=1 puts styles in a pipe, as CI logs that show colour ask (review 62 read it as noise;
    review 64 as the convention it is); a machine format and -o FILE stay plain whatever it says."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert ESCAPE.search(run(*COMMANDS["compute"]).stdout)
    args = [a for a in COMMANDS["compute"]]
    out = run(*args, "--format", "json")
    assert "\x1b" not in out.stdout
    run(*args, "-o", tmp_path / "t.txt")
    assert "\x1b" not in (tmp_path / "t.txt").read_text()


def test_escape_sequences_in_the_data_are_printed_not_acted_on(run, tmp_path):
    """A slice's key, a column name or a --by name holding an escape sequence (\\x1b[31m, an OSC title
    \\x1b]0;...\\x07) reached the terminal raw from the table output (review 62); messages escaped them
    already. They are printed escaped, on a terminal and in a pipe."""
    red = "\x1b[31mred"
    rows = "".join(f"{i / 10},{i / 7},{red if i % 2 else 'blue'}\n" for i in range(10))
    (tmp_path / "odd.csv").write_text("pred,label,reg\x1b[5mion\n" + rows)
    (tmp_path / "t.csv").write_text("p\x1b]0;pwned\x07\n" + "".join(f"{i / 9}\n" for i in range(10)))
    odd, t = tmp_path / "odd.csv", tmp_path / "t.csv"
    commands = [["compute", "mse", f"{odd}:pred", f"{odd}:label", "--by", "reg\x1b[5mion"],
                ["compute", "mse", f"{t}:0", f"{odd}:label"]]
    for args in commands:
        piped = run(*args).stdout
        assert "\x1b" not in piped, piped
        _, seen, _ = in_terminal(args, 160)
        assert "\x1b[31m" not in seen and "\x1b]0;" not in seen and "\x1b[5m" not in seen
    assert "\\x1b[31mred" in run(*commands[0]).stdout and "reg\\x1b[5mion" in run(*commands[0]).stdout
    assert "p\\x1b]0;pwned\\x07" in run(*commands[1]).stdout

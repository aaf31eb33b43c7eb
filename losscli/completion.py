"""Shell completion (bash, zsh, fish) on Click's mechanism: what each argument and option
completes to, and the scripts ``losscli completion SHELL`` prints.

- loss names and aliases, in comma lists (``mse,hu`` -> ``mse,huber``);
- parameters: ``-p huber.`` -> ``huber.delta=``, ``-p de`` -> ``delta=`` of the losses on the line;
- inputs: file paths (the shell's own completion), and after ``FILE:`` the column names of its
  header (CSV, TSV, Parquet, Arrow; read by losscli's own readers) or an NPZ's member names;
- ``--on``/``--by``: the column names of the first input; formats and other choices: Click's own.

Bash splits words at ``:`` and ``=``: the bash script sends the whole line (``COMP_LINE``) and
gets back only the part after the last of them. Where losscli has nothing to offer, the shell's
file-name completion stays (bash: ``complete -o default``).
"""

from __future__ import annotations

import os

import click
from click.shell_completion import (BashComplete, CompletionItem, FishComplete, ZshComplete, add_completion_class,
                                    split_arg_string)


#: the environment variable Click's completion protocol uses for this program
COMPLETE_VAR = "_LOSSCLI_COMPLETE"
#: characters bash splits words at (its default COMP_WORDBREAKS, less the quotes and spaces)
BASH_BREAKS = ":="
#: rows read of a file to learn its column names
HEAD_ROWS = 16
#: a completion ending in one of these expects more after it (huber.delta=, preds.csv:, mse,):
#: the shell adds no space after it
OPEN_ENDS = "=:.,"

_SOURCE_BASH = """\
%(complete_func)s() {
    local IFS=$'\\n'
    local response
    response=$(env COMP_LINE="${COMP_LINE:0:$COMP_POINT}" %(complete_var)s=bash_complete $1 2>/dev/null)
    COMPREPLY=()
    for completion in $response; do
        IFS=',' read -r type value <<< "$completion"
        if [[ $type == 'dir' ]]; then
            compopt -o dirnames
        elif [[ $type == 'file' ]]; then
            compopt -o default
        elif [[ $type == 'plain' ]]; then
            # (a name with a space or a shell character is quoted as the shell reads it back)
            [[ $value == *[^A-Za-z0-9_.,=:/+@%%-]* ]] && value=$(printf '%%q' "$value")
            COMPREPLY+=("$value")
        fi
    done
    # a name that expects more after it (huber.delta=, preds.csv:, mse,) gets no space
    if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *[%(open_ends)s] ]]; then
        compopt -o nospace
    fi
    return 0
}

complete -o nosort -o default -F %(complete_func)s %(prog_name)s
"""


class Bash(BashComplete):
    """Click's bash completion, reading the line as typed (``COMP_LINE`` up to the cursor)
    rather than bash's words, which are split at ``:`` and ``=``; a completion is sent back
    from the last of those characters on, as bash replaces only that part."""

    source_template = _SOURCE_BASH.replace("%(open_ends)s", OPEN_ENDS)

    def get_completion_args(self) -> tuple[list[str], str]:
        line = os.environ.get("COMP_LINE", "")
        try:
            words = split_arg_string(line)
        except ValueError:
            words = line.split()
        if not line or line[-1].isspace():
            return words[1:], ""
        return words[1:-1], words[-1]

    def format_completion(self, item: CompletionItem) -> str:
        value = item.value
        if item.type == "plain":
            cut = max(self.incomplete.rfind(c) for c in BASH_BREAKS)
            if cut >= 0 and value.startswith(self.incomplete[:cut + 1]):
                value = value[cut + 1:]
        return f"{item.type},{value}"

    def complete(self) -> str:
        args, self.incomplete = self.get_completion_args()
        completions = self.get_completions(args, self.incomplete)
        return "\n".join(self.format_completion(item) for item in completions)


add_completion_class(Bash, "bash")

_SOURCE_ZSH = """\
#compdef %(prog_name)s

%(complete_func)s() {
    local -a completions completions_open completions_with_descriptions response
    (( ! $+commands[%(prog_name)s] )) && return 1

    response=("${(@f)$(env COMP_WORDS="${words[*]}" COMP_CWORD=$((CURRENT-1)) \\
        %(complete_var)s=zsh_complete %(prog_name)s 2>/dev/null)}")

    for type key descr in ${response}; do
        if [[ "$type" == "plain" ]]; then
            if [[ "$descr" != "_" ]]; then
                completions_with_descriptions+=("$key":"$descr")
            elif [[ "$key" == *[%(open_ends)s] ]]; then
                completions_open+=("$key")
            else
                completions+=("$key")
            fi
        elif [[ "$type" == "dir" ]]; then
            _path_files -/
        elif [[ "$type" == "file" ]]; then
            _path_files -f
        fi
    done

    if [ -n "$completions_with_descriptions" ]; then
        _describe -V unsorted completions_with_descriptions -U
    fi
    if [ -n "$completions" ]; then
        compadd -U -V unsorted -a completions
    fi
    # (a name that expects more after it gets no space: -S '')
    if [ -n "$completions_open" ]; then
        compadd -U -S '' -V unsorted -a completions_open
    fi
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    %(complete_func)s "$@"
else
    compdef %(complete_func)s %(prog_name)s
fi
"""

# one line a completion, "TYPE,VALUE": fish splits it at the first comma (Click's own fish script
# of 8.4 splits at a newline written unescaped into the script, and fish cannot read it)
_SOURCE_FISH = """\
function %(complete_func)s
    set -l response (env %(complete_var)s=fish_complete COMP_WORDS=(commandline -cp) \\
        COMP_CWORD=(commandline -t) %(prog_name)s 2>/dev/null)
    for completion in $response
        set -l metadata (string split -m 1 , -- $completion)
        if test "$metadata[1]" = dir
            __fish_complete_directories $metadata[2]
        else if test "$metadata[1]" = file
            __fish_complete_path $metadata[2]
        else if test "$metadata[1]" = plain
            echo $metadata[2]
        end
    end
end

complete --no-files --command %(prog_name)s --arguments "(%(complete_func)s)"
"""


class Zsh(ZshComplete):
    """Click's zsh completion, with no space after a name that expects more after it."""

    source_template = _SOURCE_ZSH.replace("%(open_ends)s", OPEN_ENDS)


class Fish(FishComplete):
    """Fish completion with a script fish reads, whatever Click's version: one ``TYPE,VALUE``
    line a completion (a value never holds a newline: names and paths of one line)."""

    source_template = _SOURCE_FISH

    def format_completion(self, item: CompletionItem) -> str:
        return f"{item.type},{item.value}"


add_completion_class(Zsh, "zsh")
add_completion_class(Fish, "fish")


# -- what arguments complete to ---------------------------------------------------------------------
def _names(plottable: bool = False) -> list[str]:
    """Every loss's name and aliases (of the losses ``plot`` draws)."""
    from .catalogue import list_losses

    losses = list_losses()
    if plottable:
        from .curves import axis_of

        losses = [l for l in losses if axis_of(l)]
    return sorted({n for l in losses for n in (l.name, *l.aliases)})


def _comma_list(incomplete: str, choices: list[str]) -> list[CompletionItem]:
    """``a,b,c`` completes its last element; the ones before stay as typed and are not offered again."""
    head, _, last = incomplete.rpartition(",")
    prefix = head + "," if head else ""
    taken = set(head.split(",")) if head else set()
    return [CompletionItem(prefix + n) for n in choices if n.startswith(last) and n not in taken]


def losses(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """LOSSES: registered names and aliases, in a comma list."""
    return _comma_list(incomplete, _safe(_names))


def plottable_losses(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _comma_list(incomplete, _safe(lambda: _names(plottable=True)))


def parameters(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """``-p``: ``LOSS.NAME=`` for a loss typed before the dot, else ``NAME=`` of the losses on the
    line (``LOSS.NAME=`` when several have it), and the losses themselves followed by a dot."""
    if "=" in incomplete:
        return []
    from .catalogue import get_loss

    def loss_params(name: str) -> list[str]:
        try:
            return list(get_loss(name).params)
        except Exception:
            return []

    if "." in incomplete:
        loss, _, start = incomplete.rpartition(".")
        return [CompletionItem(f"{loss}.{p}=") for p in loss_params(loss) if p.startswith(start)]
    typed = _typed(ctx)
    if ctx.command.name == "gradcheck":  # names and inputs in one list
        typed = [",".join(a for a in typed if ":" not in a and not os.path.exists(a))]
    selected = [n for n in (typed[0] if typed else "").split(",") if n]
    items = sorted({f"{p}=" for n in selected for p in loss_params(n)})
    items += sorted({f"{n}." for n in (selected or _safe(_names)) if loss_params(n)})
    return [CompletionItem(i) for i in items if i.startswith(incomplete)]


def files(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """A file: the shell's own file-name completion."""
    return [CompletionItem(incomplete, type="file")]


def inputs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """An input: after ``FILE:``, its columns (or NPZ members), comma lists included; else the
    shell's file names."""
    from .io.spec import split_spec  # (the reading layer: only when completing, not at every start)

    path, selector = (incomplete[:-1], "") if incomplete.endswith(":") else split_spec(incomplete)
    if selector is not None and os.path.isfile(path):
        return [CompletionItem(f"{path}:{c.value}") for c in _comma_list(selector, _columns(path))]
    return files(ctx, param, incomplete)


def input_columns(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """``--on``/``--by``: the column names of the inputs on the line (comma lists for --by); for
    ``--by``, those of ``--by-file`` when it is given."""
    specs = _typed(ctx)[1:]
    if param.name == "by" and _option_value(ctx, "--by-file"):
        specs = [_option_value(ctx, "--by-file")]
    from .io.spec import split_spec

    names: list[str] = []
    for spec in specs:
        path = split_spec(spec)[0]
        if os.path.isfile(path):
            names += [n for n in _columns(path) if n not in names]
    return _comma_list(incomplete, names)


def gradcheck_args(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """gradcheck's [LOSS...] [INPUT...]: loss names, then files."""
    if ":" in incomplete or os.sep in incomplete or incomplete.startswith("."):
        return inputs(ctx, param, incomplete)
    return _comma_list(incomplete, _safe(_names)) + files(ctx, param, incomplete)


def _words() -> list[str]:
    """The words of the line being completed, as the shell sent them."""
    line = os.environ.get("COMP_LINE") or os.environ.get("COMP_WORDS", "")
    try:
        return split_arg_string(line)
    except ValueError:
        return line.split()


def _typed(ctx: click.Context) -> list[str]:
    """The arguments typed on the line so far, without options and their values. (Click's
    ``ctx.params`` holds none of them while an option waits for its value: read the line.)"""
    words = _words()
    if ctx.info_name in words:
        words = words[words.index(ctx.info_name) + 1:]
    takes_value = {name for p in ctx.command.params if isinstance(p, click.Option) and not p.is_flag
                   and not p.count for name in p.opts}
    out: list[str] = []
    skip = False
    for w in words:
        if skip:
            skip = False
        elif w.startswith("-") and w != "-" and not w.startswith("-:"):
            skip = w in takes_value
        else:
            out.append(w)
    return out


def _option_value(ctx: click.Context, option: str) -> str:
    """The value given to ``option`` on the line so far ("" when none)."""
    words = _words()
    for i, w in enumerate(words[:-1]):
        if w == option:
            return words[i + 1]
        if w.startswith(option + "="):
            return w[len(option) + 1:]
    return ""


def _columns(path: str) -> list[str]:
    """The column names of a table's header (as losscli reads it, from its first rows), or the
    arrays of an NPZ; names a selector cannot name (with a ':') are left out."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
        if head == b"PK\x03\x04":  # an NPZ
            import zipfile

            with zipfile.ZipFile(path) as z:
                return [n[:-4] if n.endswith(".npy") else n for n in z.namelist()]
        from .io.cache import InputCache

        block = next(iter(InputCache().reader(path).blocks(HEAD_ROWS)))
        return [n for n in block.order if ":" not in n]
    except Exception:  # (completion never fails aloud: nothing to offer)
        return []


def _safe(fn) -> list[str]:
    try:
        return fn()
    except Exception:
        return []


# -- the scripts ------------------------------------------------------------------------------------
#: the shells ``losscli completion`` writes a script for (how to install it: that command's help)
SHELLS = ("bash", "zsh", "fish")


def script(group: click.Command, shell: str) -> str:
    """The completion script for ``shell``, as the shell sources it."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None
    return cls(group, {}, "losscli", COMPLETE_VAR).source()

"""How every run of the CLI ends: a result on stdout and exit 0, or one line on stderr and the exit
code ``exits.py`` gives the way it ended (usage, input, an interrupted run, a closed pipe, a bug).
``cli.py`` declares the commands on :class:`Group`."""

from __future__ import annotations

import os
import sys

import click

from . import completion, exits


class Group(click.Group):
    """Every way a run can end becomes one line on stderr and the exit code of ``exits.py``;
    nothing on stdout but results."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if completion.COMPLETE_VAR in os.environ:  # a shell asks for completions: nothing may reach its prompt
            sys.stderr = open(os.devnull, "w")
        from .stdio import standard_streams

        standard_streams()  # (a closed one held, named when used; stderr's failures never end a run)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare `losscli`: the help, as --help shows it
            say(exc.ctx.get_help())
            sys.exit(exc.exit_code)
        except click.ClickException as exc:  # usage errors, in one line with the way to help
            hint = f" (see '{exc.ctx.command_path} --help')" if getattr(exc, "ctx", None) else ""
            say(exits.one_line(f"Error: {exc.format_message()}{hint}"))
            sys.exit(exc.exit_code)
        except click.Abort:
            say("Aborted.")
            sys.exit(exits.INTERRUPTED)
        except OSError as exc:  # --help, --version to a closed or full stdout (commands' own end in invoke)
            from .io.streams import named_stdout

            code, message = exits.classify(named_stdout(exc))
            if message:
                say(exits.one_line(message))
            sys.exit(code)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except SystemExit as exc:  # commands return their code: this came from a user's loss
            say(exits.one_line(f"Error: a loss called sys.exit({exc.code!r}) while losscli ran; a plugin "
                                "cannot end losscli or choose its exit code"))
            sys.exit(exits.USAGE)
        except BaseException as exc:
            code, message = exits.classify(exc)
            if ctx.find_root().params.get("debug"):
                import traceback  # (only here: 8 ms of every start otherwise)

                traceback.print_exc(file=sys.stderr)
            if code == exits.BROKEN_PIPE:
                _silence_stdout()
            if message:
                say(exits.one_line(message))
            sys.exit(code)


def say(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr itself is gone: the exit code says it
        pass


def _silence_stdout() -> None:
    """The reader went away: later flushes of stdout (at exit) must not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a file (a test runner's buffer)
        pass


class Command(click.Command):
    """An option of one value given twice is refused: click keeps the last (``--by a --by b``
    grouped by b alone, ``--weights`` twice weighed by the second, without a word)."""

    def parse_args(self, ctx, args):
        _refuse_twice(self, args, ctx)
        return super().parse_args(ctx, args)


def _refuse_twice(command: click.Command, args: list[str], ctx: click.Context) -> None:
    """Reads ``args`` as click does: an option that takes a value takes the next token, whatever it
    looks like (``--by --by`` groups by a column named ``--by``), so a value is never taken for an option."""
    options = {name: p for p in command.params if isinstance(p, click.Option) for name in p.opts + p.secondary_opts}
    seen: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
        else:  # a short option may hold its value: -ofile
            name, eq, value = arg[:2], arg[2:], arg[2:]
        param = options.get(name)
        if param is None or param.is_flag or param.count:
            continue
        if not eq:
            value = " ".join(args[i:i + param.nargs])
            i += param.nargs
        if param.multiple:
            continue
        if str(param.name) in seen:
            listed = f"; it takes a list: {name} A,B" if param.metavar and "," in param.metavar else ""
            raise click.UsageError(f"{name} is given twice ({seen[str(param.name)]!r}, then {value!r}): give it "
                                   f"once{listed}", ctx)
        seen[str(param.name)] = value


class InputsCommand(Command):
    """Lets ``-:SEL`` (a selector on stdin) through as an input instead of an unknown option."""

    def parse_args(self, ctx, args):
        from .io.spec import STDIN_PREFIX

        args = [STDIN_PREFIX + a[1:] if a.startswith("-:") else a for a in args]
        return super().parse_args(ctx, args)


Group.command_class = Command

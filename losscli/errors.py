"""Exceptions that become a one-line message on stderr and exit code 2.

Everything a user can get wrong (a file, a column, a parameter, a loss name) raises a
:class:`LossCliError` subclass whose message is complete on its own: it names the file,
row/column or parameter, what was found and what was expected. The CLI prints it as
``Error: <message>`` and exits 2; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import re
from contextlib import contextmanager


class LossCliError(ValueError):
    """Base class of the errors a user can cause (a ``ValueError``: a bad value). Exit code 2."""

    exit_code = 2


class InputError(LossCliError):
    """An input file or array is missing, unreadable, or not what the loss expects."""


class ParameterError(LossCliError):
    """A loss parameter is unknown, of the wrong type, or outside its domain."""


class UnknownLossError(LossCliError):
    """No loss is registered under the given name."""


class RegistrationError(LossCliError):
    """A loss definition is malformed or clashes with a registered one (in a plugin: the user's
    input, exit 2)."""

#: the CLI's options that messages name, as a Python caller gives them (``losscli.evaluate``, a loss
#: called directly): the messages are the CLI's, the remedy the caller's
_PYTHON_WORDS = {"--nan-policy": "nan_policy", "--prob-tol": "prob_tol", "--reduction": "reduction",
                 "--weights": "weights", "--top": "top"}
_OPTION_VALUE = re.compile(r"(--nan-policy|--reduction) (raise|omit|propagate|mean|sum|none)\b")


#: a value a message quotes (``'--top'``, a label of the user's): its text is theirs, never rewritten
_QUOTED = re.compile(r"(?<!\w)'(?:[^'\\]|\\.)*'(?!\w)" + r'|"(?:[^"\\]|\\.)*"')


def python_words(text: str) -> str:
    """A message's CLI options as keywords: ``--nan-policy omit`` -> ``nan_policy="omit"`` (outside
    the values it quotes)."""
    def words(part: str) -> str:
        part = _OPTION_VALUE.sub(lambda m: f'{_PYTHON_WORDS[m.group(1)]}="{m.group(2)}"', part)
        return re.sub(r"--[a-z]+(?:-[a-z]+)*", lambda m: _PYTHON_WORDS.get(m.group(0), m.group(0)), part)

    out, at = [], 0
    for m in _QUOTED.finditer(text):
        out += [words(text[at:m.start()]), m.group(0)]
        at = m.end()
    return "".join(out) + words(text[at:])


@contextmanager
def in_python_words():
    """Errors raised inside say the CLI's options as a Python caller's keywords."""
    try:
        yield
    except LossCliError as exc:
        text = python_words(str(exc))
        if text == str(exc):
            raise
        raise type(exc)(text).with_traceback(exc.__traceback__) from None


def value_text(x) -> str:
    """A value found in an input, for a message: as short as ``:g`` writes it where that is the
    value, else every digit it needs (1 + 1e-12 is not "1": a message must not contradict itself)."""
    x = float(x)
    short, exact = f"{x:g}", repr(x)
    return short if (float(short) == x or x != x) and len(short) <= len(exact) else exact

"""Exceptions that become a one-line message on stderr and exit code 2.

Everything a user can get wrong (a file, a column, a parameter, a loss name) raises a
:class:`LossCliError` subclass whose message is complete on its own: it names the file,
row/column or parameter, what was found and what was expected. The CLI prints it as
``Error: <message>`` and exits 2; ``--debug`` adds the traceback.
"""


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



def value_text(x) -> str:
    """A value found in an input, for a message: as short as ``:g`` writes it where that is the
    value, else every digit it needs (1 + 1e-12 is not "1": a message must not contradict itself)."""
    x = float(x)
    short, exact = f"{x:g}", repr(x)
    return short if (float(short) == x or x != x) and len(short) <= len(exact) else exact

"""losscli: evaluate and verify loss functions from the command line, and from Python.

Public Python API::

    import losscli
    result = losscli.evaluate("huber", predictions, labels, delta=2.0)   # validated, as the CLI
    result.value, result.per_sample, result.stats, result.worst, result.gradients

    mse = losscli.get_loss("mse")
    per_sample = mse(predictions, labels)          # validated: shapes, domains, non-finite values
    grads = mse.grad(predictions, labels)          # gradient of the sum of per-sample losses

    @losscli.register_loss("my_loss", inputs=("predictions", "labels"))
    def my_loss(predictions, labels): ...

Bad input raises :class:`losscli.InputError` (a ``ValueError``) with the CLI's message text.
"""

from .errors import InputError, LossCliError, ParameterError, UnknownLossError

#: the package's version, declared once: pyproject.toml reads it from here (importlib.metadata at
#: run time cost every JSON output ~35 ms of start-up)
__version__ = "0.1.0"

#: name -> module that defines it; imported on first use, so `losscli --help` needs no numpy
_LAZY = {
    "Input": "loss", "Loss": "loss", "Param": "registry", "register_loss": "catalogue",
    "get_loss": "catalogue", "list_losses": "catalogue", "unregister_loss": "catalogue",
    "evaluate": "api", "Result": "api",
}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(name)


__all__ = [
    "Input", "InputError", "Loss", "LossCliError", "Param", "ParameterError", "Result", "UnknownLossError",
    "evaluate", "get_loss", "list_losses", "register_loss", "unregister_loss",
]

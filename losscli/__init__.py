"""losscli: evaluate and verify loss functions from the command line.

Public Python API::

    import losscli
    mse = losscli.get_loss("mse")
    per_sample = mse(predictions, labels)
    grads = mse.grad(predictions, labels)          # gradient of the sum of per-sample losses

    @losscli.register_loss("my_loss", inputs=("predictions", "labels"))
    def my_loss(predictions, labels): ...
"""

from .errors import InputError, LossCliError, ParameterError, UnknownLossError

_REGISTRY_NAMES = ("Input", "Loss", "Param", "get_loss", "list_losses", "register_loss", "unregister_loss")


def __getattr__(name):
    # the registry (and numpy with it) is imported on first use: `losscli --help` never needs it
    if name in _REGISTRY_NAMES:
        from . import registry

        return getattr(registry, name)
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("losscli")
        except PackageNotFoundError:  # running from a source tree that is not installed
            return "0+unknown"
    raise AttributeError(name)


__all__ = [
    "Input", "InputError", "Loss", "LossCliError", "Param", "ParameterError", "UnknownLossError",
    "get_loss", "list_losses", "register_loss", "unregister_loss",
]

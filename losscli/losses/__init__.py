"""The built-in catalogue. Add a loss: write it in the module of its family, decorated with
:func:`losscli.register_loss`, with its gradient; the registry-driven tests pick it up."""

# Import order is catalogue order.
from . import regression  # noqa: F401  isort: skip
from . import classification  # noqa: F401  isort: skip
from . import scoring  # noqa: F401  isort: skip
from . import margin  # noqa: F401  isort: skip
from . import ranking  # noqa: F401  isort: skip
from . import embedding  # noqa: F401  isort: skip
from . import angular  # noqa: F401  isort: skip
from . import contrastive  # noqa: F401  isort: skip
from . import sequence  # noqa: F401  isort: skip

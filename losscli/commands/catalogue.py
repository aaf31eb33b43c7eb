"""The ``list`` and ``info`` commands, and a loss's record (its declaration as JSON types)."""

from __future__ import annotations

from ..catalogue import get_loss, list_losses
from ..loss import Loss
from ..render import emit, renderer
from .common import main_output, refuse_overwriting_inputs


def loss_record(loss: Loss) -> dict:
    return {
        "name": loss.name, "aliases": list(loss.aliases), "category": loss.category,
        "summary": loss.summary, "coupling": loss.coupling,
        "inputs": [{"name": i.name, "shape": i.shape_text(), "domain": i.domain,
                    "expects": i.expects, "optional": i.optional,
                    "differentiable": i.name in loss.differentiable, "description": i.description}
                   for i in loss.inputs],
        "params": {k: {"default": (list(p.default) if isinstance(p.default, tuple) else p.default),
                       "type": p.kind, "constraint": p.constraint or None,
                       "choices": list(p.choices) or None, "help": p.help}
                   for k, p in loss.params.items()},
        "differentiable": loss.has_gradient,
        "not_differentiable_reason": loss.not_differentiable_reason or None,
        "formula": loss.formula, "gradient": loss.gradient_formula,
        "matches": list(loss.matches), "conventions": list(loss.conventions),
        "references": list(loss.references),
        "source": loss.source,
    }


def run_list(category: str | None, fmt: str) -> int:
    refuse_overwriting_inputs([main_output(None, fmt)])  # (`--plugin pl.py list >> pl.py`)
    emit(renderer("list", fmt)(list_losses(category)))
    return 0


def run_info(name: str, fmt: str) -> int:
    refuse_overwriting_inputs([main_output(None, fmt)])
    emit(renderer("info", fmt)(get_loss(name)))
    return 0

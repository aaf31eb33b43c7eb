"""Structural risk: the empirical risk (the reduced loss) plus a penalty on the model's parameters.

Conventions (as scikit-learn's ElasticNet and most textbooks):
    L1 penalty  λ₁·‖w‖₁ = λ₁ Σ|w_j|            gradient λ₁·sign(w_j) (0 at w_j = 0)
    L2 penalty  λ₂·½‖w‖² = ½ λ₂ Σ w_j²          gradient λ₂·w_j
    objective   = empirical risk + L1 penalty + L2 penalty
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Penalty:
    l1: float
    l2: float
    weights: np.ndarray
    source: str

    @property
    def value(self) -> float:
        w = self.weights
        return float(self.l1 * np.sum(np.abs(w)) + self.l2 * 0.5 * np.sum(w * w))

    def gradient(self) -> np.ndarray:
        return self.l1 * np.sign(self.weights) + self.l2 * self.weights

    def record(self) -> dict:
        return {"l1": self.l1, "l2": self.l2, "value": self.value, "params": self.source,
                "count": int(self.weights.size)}

"""Margin (hinge-family) losses on scores: multi-class, multi-label and pairwise margins.

Conventions (``losscli info NAME`` repeats them): scores are real; labels follow the
library each loss matches (stated per loss); gradients are with respect to the scores.
"""

from __future__ import annotations

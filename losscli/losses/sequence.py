"""Sequence losses: connectionist temporal classification (CTC) over per-frame
log-probabilities, computed by the forward-backward recursion in log space.
"""

from __future__ import annotations

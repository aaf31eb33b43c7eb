"""Listwise ranking losses: scores over a list of items and their relevance labels.
"""

from __future__ import annotations

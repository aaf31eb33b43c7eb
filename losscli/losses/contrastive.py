"""Pair- and batch-based contrastive losses on embeddings (Circle loss, supervised
contrastive, CoSENT): every sample's loss depends on the other samples of the batch.
"""

from __future__ import annotations

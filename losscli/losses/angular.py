"""Angular-margin softmax losses for face and speaker embeddings (CosFace, SphereFace,
sub-center ArcFace): cosine logits between embeddings and class centres, a margin on the
target class, and a scaled softmax cross-entropy.
"""

from __future__ import annotations

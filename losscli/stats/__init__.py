"""What is accumulated over the rows of one loss, block by block, so that a file larger than memory
and an in-memory array take the same path and the results do not depend on the block size.

One small class per statistic, each with ``add`` (one block), ``merge`` (the partial result of
later rows, from another partition) and ``state`` / ``from_state`` (a picklable snapshot for
engines that evaluate partitions elsewhere):

- ``reduction.py``: the reported value (mean, sum) with weights and the loss's own normaliser;
- ``moments.py``: count, mean, standard deviation (Chan's parallel update), min, max;
- ``topk.py``: the worst samples, ties to the lower row;
- ``quantiles.py``: p50/p90/p99, exact in bounded memory, or a KLL sketch;
- ``store.py``: the per-sample values and gradient blocks, when they are kept;
- ``accumulator.py``: all of them for one loss, and the :class:`Evaluation` they produce.

Add a statistic: a class here, a field of the accumulator, a key in ``STAT_KEYS``.
"""

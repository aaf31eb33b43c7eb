"""A pandas index that holds labels of a longer frame, not the order of this one: ``y_test.to_csv()``
after ``train_test_split`` keeps the original frame's labels (412, 7, 1530, ...), in the order of the
split, which is the order of the predictions made from it. Beside a file numbered 0, 1, 2, ... (a
fresh frame's index) or a file without an index, such labels say nothing about the order of the
rows, and refusing them left no way out (``--on`` then paired unrelated rows). A pandas index whose
labels lie in [0, 2n) (``df.sample(frac=1)``, perhaps after a ``dropna``) numbers these very rows
in another order, and stays refused; so does a train split's (80%: its labels reach 1.25n). Which of the two an index is, is known once every row is read: the refusals the
id guard finds (``pairing.IdGuard``) wait for :meth:`IndexLabels.finish`."""

from __future__ import annotations

import numpy as np

from ..errors import InputError


class _Column:
    """What is known of one index column so far: whether it counts 0, 1, 2, ... from its first row,
    and its count, least, largest and sum (a permutation of 0..n-1 has n, 0, n-1, n(n-1)/2)."""

    def __init__(self) -> None:
        self.counting = True
        self.count = 0
        self.low: float | None = None
        self.high: float | None = None
        self.total = 0

    def add(self, values: np.ndarray, start: int) -> None:
        if values.size == 0:
            return
        whole = np.isfinite(values).all() and (values == np.round(values)).all()
        self.counting = self.counting and bool(whole) and \
            bool((values == np.arange(start, start + values.size)).all())
        if not whole:
            self.low = self.high = np.nan
            return
        low, high = float(values.min()), float(values.max())
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)
        self.total += int(values.astype(np.int64).sum())
        self.count += int(values.size)

    def numbered(self) -> bool:
        """Whether the column numbers these rows, in whatever order, some perhaps dropped since: its
        labels lie in [0, 2n) (a frame shuffled, or shuffled after a dropna). Labels reaching 2n or
        beyond are of a frame at least twice as long: a test split's (train_test_split's 20-30%)."""
        n = self.count
        return n > 0 and self.low is not None and self.high is not None and self.low >= 0 and self.high < 2 * n


class IndexLabels:
    """Refusals of pandas index columns, held until every row was read: raised where the deciding
    index is 0..n-1 (a frame reordered), dropped with a note where it is labels of another frame."""

    def __init__(self) -> None:
        self.columns: dict[tuple[int, str], _Column] = {}
        self.pending: list[tuple[str, tuple[int, str], tuple[int, str] | None, str]] = []

    def track(self, key: tuple[int, str], values: np.ndarray, start: int) -> None:
        self.columns.setdefault(key, _Column()).add(values, start)

    def counting(self, key: tuple[int, str]) -> bool:
        column = self.columns.get(key)
        return column is not None and column.counting

    def hold(self, message: str, deciding: tuple[int, str], fresh: tuple[int, str] | None, label: str,
             whole: bool = False) -> None:
        """Hold a refusal: raised at the end if ``deciding`` (the index that is not 0, 1, 2, ...)
        numbers its rows 0..n-1, or ``fresh`` (the other, counting) stopped counting; at once when
        every row is read already (``whole``: an input of one block, the usual small file)."""
        if any(p[1] == deciding for p in self.pending):
            return
        self.pending.append((message, deciding, fresh, label))
        if whole:
            self._judge(self.pending[-1])

    def _judge(self, held) -> bool:
        """Raise a held refusal where its index numbers the rows; True where it is labels."""
        message, deciding, fresh, _ = held
        other = self.columns.get(fresh) if fresh is not None else None
        if self.columns[deciding].numbered() or (other is not None and not other.counting):
            raise InputError(message)
        return True

    def finish(self, say) -> None:
        """Every row was read: raise a held refusal, or ``say`` (a note's printer) why it was dropped."""
        for held in self.pending:
            self._judge(held)
            message, deciding, fresh, label = held
            say(f"losscli: note: {label}: its pandas index (column {deciding[1]!r}) holds labels of a longer frame "
                "(some at 2n or beyond: a subset, as train_test_split keeps them), not the order of its rows; rows are "
                "paired by position")

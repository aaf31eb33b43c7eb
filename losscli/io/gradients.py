"""``--save-grad FILE``: the gradient arrays written as their blocks are computed, so memory holds
a block, never a whole gradient (1M x 100 logits: 800 MB).

A block arrives as the gradient of Σ w·l over its rows. The reported value's scale *s* (``1/Σ w·n``
for a mean, a root's ``1/(2√v)``: ``Reduction.gradient_scale``) is known only once every block is
in, so each block is written times a *prescale* p chosen before the run (:func:`prescale`: 1/N for
an unweighted mean over the N rows a file's header declares, else 1), and an array is multiplied by
s/p at the end where that is not 1. With p = 1 this is the exact s·g; with p = 1/N and s = 1/N
nothing is left to do; a mean whose denominator turns out otherwise (ignored labels, class weights)
is rescaled by s/p, within an ulp or two of s·g.

- ``FILE.npy`` that is a regular file or a new name (``output.staged``): the blocks go
  straight into the output's own temporary file, under a header of reserved length whose shape is
  written at the end; a rescale is done there, in place.
- Otherwise (``FILE.npz``, standard output, a device, a FIFO): each array goes to an unnamed
  temporary file in ``TMPDIR``, and the output is written from those at the end, rescaled as it is
  copied. Nothing reaches the output before the run has succeeded.
"""

from __future__ import annotations

import os
import queue
import struct
import threading
from contextlib import ExitStack
from typing import IO

import numpy as np

from ..errors import LossCliError
from .output import output_file, staged, write_output

NPY_MAGIC = b"\x93NUMPY"
#: bytes copied (and rescaled) at a time when an array is finished
COPY_BYTES = 4 * 2**20
#: blocks handed to the writer thread and not written yet (memory: that many blocks more)
WRITES_AHEAD = 2
#: the output is flushed to disk every so many bytes while the run goes on, so that the flush
#: before the rename at the end has only the rest to wait for
SYNC_BYTES = 64 * 2**20


class _Writer:
    """Writes to one file on a thread of its own, in the order handed over, while the caller
    computes the next block (the write and the disk flush release the GIL). ``durable``: flush the
    file to disk every ``SYNC_BYTES`` (the output itself, not a temporary file). An error of the
    write is raised by the next :meth:`write` or by :meth:`finish`; the file is flushed after each
    write, so that nothing it could not write waits in its buffer for ``close()`` to raise."""

    def __init__(self, fh: IO[bytes], durable: bool):
        self.fh, self.durable = fh, durable
        self.error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=WRITES_AHEAD)
        self._thread = threading.Thread(target=self._run, name="losscli-grad-writer", daemon=True)
        self._thread.start()

    def write(self, data: np.ndarray, wait: bool) -> None:
        """Write ``data`` after what was handed over before; ``wait``: return once it is written
        (``data`` may change afterwards), else at once (nobody changes ``data`` afterwards)."""
        if self.error is not None:
            raise self.error
        self._queue.put(data)
        if wait:
            self._queue.join()
            if self.error is not None:
                raise self.error

    def finish(self) -> None:
        """Wait for every write handed over; the file is the caller's again."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        unsynced = 0
        while (data := self._queue.get()) is not None:
            try:  # (flushed here: a failed write must not stay in the file's buffer for close() to raise)
                if self.error is None:  # (after an error: keep taking blocks, the caller learns of it)
                    self.fh.write(data.data)
                    self.fh.flush()
                    unsynced += data.nbytes
                    if self.durable and unsynced >= SYNC_BYTES:
                        getattr(os, "fdatasync", os.fsync)(self.fh.fileno())
                        unsynced = 0
            except OSError as exc:  # (raised in the caller's thread)
                self.error = exc if self.durable else _temporary_error(exc)  # (the output's: output_file says)
            except BaseException as exc:
                self.error = exc
            finally:
                self._queue.task_done()


def _close_quietly(fh: IO[bytes]) -> None:
    try:
        fh.close()
    except OSError:
        pass


def _temporary_error(exc: OSError) -> LossCliError:
    import tempfile

    from .replace import write_failure

    why = write_failure(exc)
    if why != (exc.strerror or str(exc)):  # (a limit of this process, not of the directory)
        return LossCliError(f"--save-grad: cannot write a temporary file in {tempfile.gettempdir()}: {why}")
    return LossCliError(f"--save-grad: cannot write a temporary file in {tempfile.gettempdir()} ({why}); set TMPDIR "
                        "to a writable directory with room for the gradient")


def prescale(reduction: str, root: bool, weighted: bool, omitting: bool, rows: int | None) -> float:
    """The factor each block is written with (see the module's docstring): the mean's 1/N where
    the rows are known before the run and every one of them counts with weight 1; 1 otherwise."""
    if reduction == "mean" and not (root or weighted or omitting) and rows:
        return 1.0 / rows
    return 1.0


def npy_header(dtype, shape: tuple, length: int | None = None) -> bytes:
    """An NPY (version 1.0) header for an array of ``dtype`` and ``shape``, padded with spaces to
    ``length`` bytes (by default the length that any number of rows up to 10**19 fits in, so that
    the header of an array whose rows are not known yet can be rewritten in place)."""
    from numpy.lib import format as npformat

    def text(dims):
        return "{'descr': %r, 'fortran_order': False, 'shape': %r, }" % (
            npformat.dtype_to_descr(np.dtype(dtype)), tuple(int(d) for d in dims))

    if length is None:  # the preamble (10 bytes), the text and its newline, in multiples of 64
        length = -(-(10 + len(text((10**19,) + tuple(shape[1:]))) + 1) // 64) * 64
    body = text(shape)
    pad = length - 10 - len(body) - 1
    if pad < 0 or length - 10 > 0xFFFF:
        raise ValueError(f"an NPY header for shape {shape} does not fit in {length} bytes")
    return NPY_MAGIC + b"\x01\x00" + struct.pack("<H", length - 10) + (body + " " * pad + "\n").encode("latin1")


class _Array:
    """One gradient array being written: its file (positioned at its end), where its data starts,
    its row shape and rows so far, and the factor it is still to be multiplied by."""

    def __init__(self, fh: IO[bytes], start: int, block: np.ndarray, durable: bool):
        self.fh, self.start = fh, start
        self.row_shape, self.rows, self.factor = block.shape[1:], 0, 1.0
        self.writer = _Writer(fh, durable)

    @property
    def shape(self) -> tuple:
        return (self.rows,) + self.row_shape

    def append(self, block: np.ndarray, scale: float, name: str) -> None:
        if block.shape[1:] != self.row_shape:
            raise LossCliError(f"--save-grad: the gradient {name!r} has rows of shape {block.shape[1:]} in one "
                               f"block and {self.row_shape} in another")
        if scale != 1.0:  # a scaled copy of our own, written while the next block is computed
            self.writer.write(np.multiply(block, scale, dtype=np.float64, order="C"), wait=False)
        else:  # written before the loss goes on (the block may be an input's memory or a buffer the
            # loss uses again; a copy would hold a second gradient when one block is all of it)
            self.writer.write(np.ascontiguousarray(block, dtype=np.float64), wait=True)
        self.rows += block.shape[0]

    def chunks(self):
        """The data from the start, ``COPY_BYTES`` at a time, each multiplied by the factor: (file
        offset, rows) of a chunk, and the chunk (one buffer, reused). Call :meth:`finish` first."""
        row_bytes = 8 * int(np.prod(self.row_shape, dtype=np.int64))
        step = max(1, COPY_BYTES // max(row_bytes, 1))
        buffer = np.empty((min(step, self.rows),) + self.row_shape)
        for first in range(0, self.rows, step):
            n = min(step, self.rows - first)
            part = buffer[:n]
            offset = self.start + first * row_bytes
            self.fh.seek(offset)
            if self.fh.readinto(part.data) != part.nbytes:
                raise LossCliError("--save-grad: a temporary file of the gradient was cut short")
            if self.factor != 1.0:
                part *= self.factor
            yield offset, part


class GradientFile:
    """The ``--save-grad`` output of one run. Use it as a context manager: an exception inside
    throws away everything written so far (the target keeps its previous content); :meth:`close`
    finishes the file."""

    def __init__(self, path: str):
        self.path = path
        self.npy = path.lower().endswith(".npy")
        self.direct = self.npy and staged(path)
        self.arrays: dict[str, _Array] = {}
        self._held: dict[str, np.ndarray] = {}  # arrays given whole (the penalty's gradient)
        self._prefixes: dict[str, str] = {}  # each loss's: its arrays' names start with it
        self._places: dict[str, tuple[np.ndarray, int]] = {}  # (rows matched by key: :meth:`place`)
        self._stack = ExitStack()

    def __enter__(self) -> GradientFile:
        return self

    def __exit__(self, *exc) -> None:
        interrupted = None
        for array in self.arrays.values():  # (an error part-way: stop the writers, then drop the files)
            try:
                array.writer.finish()
            except KeyboardInterrupt as ki:  # (Ctrl-C while waiting: still drop the files, then stop)
                interrupted = ki
            except BaseException:
                pass  # (the writer's own error: the one on its way out is the one to report)
        self._stack.__exit__(*exc)
        if interrupted is not None:
            raise interrupted

    def stream(self, loss: str, several: bool, scale: float) -> GradientStream:
        """Where one loss's accumulator sends its blocks: arrays named ``role``, or ``loss.role``
        where the run has ``several`` losses."""
        self._prefixes[loss] = f"{loss}." if several else ""
        return GradientStream(self, self._prefixes[loss], scale)

    def place(self, loss: str, role: str, rows: np.ndarray, length: int) -> None:
        """Rows paired by key (``--on``) come in the first input's order, less those without a match:
        the gradient of ``role`` is written in its own input's order instead, ``length`` rows, row
        ``rows[i]`` the i-th one computed, NaN where none was (a row --on-missing drop left out)."""
        self._places[self._prefixes[loss] + role] = (np.asarray(rows, dtype=np.int64), int(length))

    def append(self, name: str, block: np.ndarray, scale: float) -> None:
        if name not in self.arrays:
            self.arrays[name] = self._open(name, block)
        self.arrays[name].append(block, scale, name)

    def add_array(self, name: str, array: np.ndarray) -> None:
        """An array given whole (after the run), written as it is."""
        self._held[name] = np.asarray(array, dtype=np.float64)

    def _open(self, name: str, block: np.ndarray) -> _Array:
        if self.direct:
            if self.arrays:  # (the command refuses this before the run)
                raise LossCliError(f"--save-grad {self.path}: an .npy file holds one array; name an .npz file")
            fh = self._stack.enter_context(output_file(self.path))
            header = npy_header(np.float64, (0,) + block.shape[1:])
            fh.write(header)
            return _Array(fh, len(header), block, durable=True)
        import tempfile  # (only an .npz's members go through a temporary file)

        try:
            fh = tempfile.TemporaryFile(prefix="losscli-grad-")
        except OSError as exc:
            raise _temporary_error(exc) from None
        self._stack.callback(_close_quietly, fh)  # (its data are copied by then, or thrown away)
        return _Array(fh, 0, block, durable=False)

    def close(self) -> None:
        """Finish the file: rescale, write the shapes (or the output from the temporary files)."""
        for array in self.arrays.values():
            array.writer.finish()
        names = [*self.arrays, *self._held]
        if self.npy and len(names) != 1:
            raise LossCliError(f"--save-grad {self.path}: an .npy file holds one array, and there are "
                               f"{len(names)} gradients ({', '.join(names)}); name an .npz file")
        if self.direct:
            array = self.arrays[names[0]]
            placed = self._placed(names[0]) if names[0] in self._places else None
            for offset, part in array.chunks() if array.factor != 1.0 and placed is None else ():
                array.fh.seek(offset)
                array.fh.write(part.data)
            if placed is not None:  # (held whole: rows paired by key are held in memory already)
                array.fh.seek(array.start)
                array.fh.write(placed.data)
                array.fh.truncate()
            array.fh.seek(0)
            array.fh.write(npy_header(np.float64, array.shape if placed is None else placed.shape, array.start))
        else:
            write_output(self.path, self._write_npy if self.npy else self._write_npz)
        self._stack.close()

    def _write_npy(self, out: IO[bytes]) -> None:
        name = next(iter([*self.arrays, *self._held]))
        self._copy(out, name)

    def _write_npz(self, out: IO[bytes]) -> None:
        import zipfile

        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name in [*self.arrays, *self._held]:
                with zf.open(name + ".npy", "w", force_zip64=True) as member:
                    self._copy(member, name)

    def _placed(self, name: str) -> np.ndarray:
        """An array written in another order (:meth:`place`), in its input's order."""
        rows, length = self._places[name]
        spilled = self.arrays[name]
        whole = np.full((length,) + spilled.row_shape, np.nan)
        done = 0
        for _, part in spilled.chunks():
            whole[rows[done:done + len(part)]] = part
            done += len(part)
        return whole

    def _copy(self, out: IO[bytes], name: str) -> None:
        if name in self._places:
            self._held[name] = self._placed(name)
        if name in self._held:
            array = self._held[name]
            out.write(npy_header(array.dtype, array.shape))
            out.write(np.ascontiguousarray(array).data)
            return
        spilled = self.arrays[name]
        out.write(npy_header(np.float64, spilled.shape))
        for _, part in spilled.chunks():
            out.write(part.data)


class GradientStream:
    """One loss's gradient blocks on their way to the file (what ``stats.store.GradientBlocks``
    writes to under ``--save-grad``)."""

    def __init__(self, file: GradientFile, prefix: str, scale: float):
        self.file, self.prefix, self.scale = file, prefix, scale
        self.names: list[str] = []

    def add(self, role: str, block: np.ndarray) -> None:
        name = self.prefix + role
        if name not in self.names:
            self.names.append(name)
        self.file.append(name, block, self.scale)

    def rescale(self, scale: float) -> None:
        """The reported value's scale, once every block is in: what is still to be applied."""
        for name in self.names:
            self.file.arrays[name].factor = scale if self.scale == 1.0 else scale / self.scale

"""Where bytes become arrays (and results become files).

- ``spec.py``: ``PATH[:SELECTOR]``, standard input, URLs, sharded inputs;
- ``table.py``: a block of a file and the columns or arrays a selector picks from it;
- ``formats.py``: which reader reads which file (by suffix and magic number): ``csv.py`` (with
  ``textparse.py``: Arrow's CSV reader on a thread pool), ``npy.py`` (NPY/NPZ), ``parquet.py``,
  ``ipc.py`` (Arrow IPC / Feather), all Arrow tables through ``arrow.py`` (``buffers.py``: Arrow
  arrays to numpy and back through their buffers, without pandas); compressed text (``CODECS``,
  read through ``filtered.py``);
- ``cache.py``: each file read once, several inputs advanced in lockstep blocks (``streams.py``:
  standard input and pipes read once, compressed files decompressed as they are read; the
  process's own standard streams are ``losscli/stdio.py``);
- ``rules.py``: how rows and columns are chosen (header, index and id columns, numbers written for
  people); ``pairing.py``: rows paired by position, and the checks that refuse it (row counts,
  id and key columns that disagree; ``labels.py``: whether two columns of labels agree, times as
  instants, numbers at the precision each file writes them; ``firstlines.py``: first lines that only
  the inputs together tell a header from a sample by); ``join.py``: rows paired by key (``--on``);
- ``output.py``: outputs: what an output may touch (devices, FIFOs and links written in place or
  followed; an output that is an input refused); ``replace.py``: how a regular file is replaced
  atomically, its owner, attributes and mode kept, the files of a run committed together;
  ``attributes.py``: what a file carries beside its bytes (extended attributes, inode flags,
  a mount on its name).
"""

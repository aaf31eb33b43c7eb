"""Input specs: ``PATH[:SELECTOR]``, standard input, URLs (fsspec) and sharded inputs (a dataset
directory or a glob: its data files in natural order, read as one input)."""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

from ..errors import InputError

#: ``-:SEL`` on the command line looks like an option to click; the CLI rewrites it to this.
STDIN_PREFIX = "\x00stdin"
_GLOB_CHARS = re.compile(r"[*?\[]")


def split_spec(spec: str) -> tuple[str, str | None]:
    """``PATH[:SELECTOR]`` -> (path, selector). A path that exists as given is never split; the
    selector starts after the last colon, or after the first one that ends an existing path (a
    column name with a colon)."""
    if spec.startswith(STDIN_PREFIX):
        spec = "-" + spec[len(STDIN_PREFIX):]
    if spec == "-" or ":" not in spec:
        return spec, None
    if os.path.exists(spec):
        cut = next((i for i in range(len(spec)) if spec[i] == ":" and os.path.isfile(spec[:i])), None)
        if cut is not None and not is_url(spec):  # (a.csv:p beside a.csv: the file, or a.csv's column?)
            raise InputError(f"{spec}: names the file {spec!r} and the selector {spec[cut + 1:]!r} of {spec[:cut]}: "
                             f"rename one of them, or write {spec}: (a colon at the end) for the file, whole")
        return spec, None
    if is_url(spec) and ":" not in _url_rest(spec):
        return spec, None  # s3://bucket/x.csv, zip://p.csv::/data/a.zip: the URL's colons are no selector
    path, selector = spec.rsplit(":", 1)
    if not os.path.exists(path) and not is_url(spec):  # a column name with a colon: ``preds.csv:Unnamed: 0``
        cut = next((i for i in range(len(path)) if path[i] == ":" and os.path.exists(spec[:i])), None)
        if cut is not None:
            path, selector = spec[:cut], spec[cut + 1:]
    return path, (selector if selector != "" else None)


def reads_stdin(spec: str) -> bool:
    """Whether an input spec is standard input: ``-``, ``-:SELECTOR``, or the latter as the CLI
    rewrites it (:data:`STDIN_PREFIX`)."""
    return spec == "-" or spec.startswith(("-:", STDIN_PREFIX))


def is_url(path: str) -> bool:
    """A URL for fsspec (s3://, gs://, memory://, file://...): opened through fsspec."""
    return re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+://", path) is not None


def _url_rest(url: str) -> str:
    """A URL after its colons: the path of its last link (``zip://p.csv::s3://b/a.zip`` -> ``b/a.zip``),
    where a ``:SELECTOR`` is."""
    last = url.rsplit("::", 1)[-1]
    return last.split("://", 1)[-1] if is_url(last) else last


def archive_file(url: str) -> str | None:
    """The local file a chained URL reads from (``zip://p.csv::/data/a.zip``, or ``::file:///data/a.zip``:
    ``/data/a.zip``), or None."""
    if "::" not in url:
        return None
    last = local_file(url.rsplit("::", 1)[-1])
    return None if is_url(last) else last


def local_file(path: str) -> str:
    """A ``file://`` (or fsspec's ``local://``) URL as the local path fsspec opens; other paths as
    they are."""
    for scheme in ("file://", "local://"):
        if path.lower().startswith(scheme):
            return path[len(scheme):]
    return path


def url_fs(path: str):
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise InputError(f"{path}: URLs are read through fsspec: pip install fsspec (and the filesystem's "
                         "package, e.g. s3fs)") from None
    try:
        return url_to_fs(path)
    except (ImportError, ValueError) as exc:
        raise InputError(f"{path}: no fsspec filesystem for this URL ({exc})") from None
    except OSError as exc:  # (an archive the URL opens: zip://p.csv::/data/a.zip)
        raise InputError(f"{path}: cannot read {exc.filename or 'it'}: {exc.strerror or exc}") from None
    except Exception:  # (a filesystem that needs options a URL cannot give: dir:// its path)
        raise InputError(f"{path}: fsspec cannot open this filesystem from a URL alone; name a URL it opens by "
                         "itself (file://, s3://, memory://, zip://MEMBER::ARCHIVE, tar://MEMBER::ARCHIVE) or the "
                         "local file") from None


def _url_shards(path: str):
    fs, inner = url_fs(path)
    proto = path.split("://", 1)[0]
    chain = "".join(f"::{link}" for link in path.split("::")[1:])  # (zip://*.csv::/data/a.zip: the archive)

    def url(f: str) -> str:
        return f"{proto}://{f.split('://', 1)[-1]}{chain}"

    if _GLOB_CHARS.search(inner):
        files = sorted((f for f in fs.glob(inner) if fs.isfile(f)), key=natural)  # (part-2 before part-10, as locally)
        if not files:
            raise InputError(f"{path}: no files match this pattern")
        return [url(f) for f in files]
    if fs.isdir(inner):
        # (as a local dataset's: in natural order, without what is not data, _SUCCESS, .crc)
        files = sorted((f for f in fs.ls(inner, detail=False) if fs.isfile(f)
                        and is_data_name(f.rstrip("/").rsplit("/", 1)[-1])), key=natural)
        if not files:
            raise InputError(f"{path}: is a directory with no files (a sharded input needs at least one)")
        return [url(f) for f in files]
    if not fs.exists(inner):
        raise InputError(f"{path}: no such file")
    return None


def shards_of(path: str) -> list[str] | None:
    """The files of a sharded input (a directory or a glob), sorted; None for a plain path."""
    if is_url(path):
        return _url_shards(path)
    if os.path.isdir(path):
        files = dataset_files(Path(path))
        if not files:
            raise InputError(f"{path}: is a directory with no data files (a sharded input needs at least one; "
                             "names starting with . or _ are not data)")
        return files
    if _GLOB_CHARS.search(path) and not os.path.exists(path):
        files = sorted((f for f in glob.glob(path) if os.path.isfile(f)), key=natural)
        if not files:
            raise InputError(f"{path}: no files match this pattern")
        return files
    return None



def is_data_name(name: str) -> bool:
    """Whether a name in a dataset directory may hold data: not one starting with ``.`` or ``_``
    (``_SUCCESS``, ``_metadata``, ``_common_metadata``, ``.part-0.crc``, ``_temporary/``), which Spark,
    Hadoop, Dask and pyarrow write beside the data, locally or behind a URL."""
    return not name.startswith((".", "_"))


def dataset_files(root: Path, _seen: set | None = None) -> list[str]:
    """The data files of a dataset directory as Spark, Hadoop, Dask, pandas and pyarrow write
    them: recursively (Hive partitions, ``key=value/``), in natural order at every level (``2.part``
    before ``10.part``), without what is not data: names starting with ``.`` or ``_``
    (``_SUCCESS``, ``_metadata``, ``_common_metadata``, ``.part-0.crc``, ``_temporary/``) and
    empty files (a partition with no rows). A directory reached twice (through a symbolic link)
    is read once."""
    seen = _seen if _seen is not None else set()
    info = root.stat()
    if (info.st_dev, info.st_ino) in seen:
        return []
    seen.add((info.st_dev, info.st_ino))
    files: list[str] = []
    for entry in sorted(root.iterdir(), key=lambda p: natural(p.name)):
        if not is_data_name(entry.name):
            continue
        if entry.is_dir():
            files += dataset_files(entry, seen)
        elif entry.is_file() and entry.stat().st_size > 0:
            files.append(str(entry))
    return files


#: a write's own id in a file's name: pyarrow's write_to_dataset (``<32 hex digits>-0.parquet``),
#: Spark's (``part-00000-<uuid>-c000.snappy.parquet``)
_WRITE_ID = re.compile(r"(?<![0-9a-f])([0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
                       r"(?![0-9a-f])")


def unordered_writes(files: list[str]) -> tuple[str, str] | None:
    """Two files of one folder of a dataset that name two different writes by random ids
    (``write_to_dataset`` called once a batch, a Spark job appending): the order of their names is
    not the order they were written in, so neither is the order of the rows read. None where every
    folder's files come from one write (or name none), or where a part number before each id orders
    them, each number once (Delta Lake names every file of a write ``part-00001-<its own uuid>``;
    two writes both count from ``part-00000``)."""
    folders: dict[str, list[tuple[str, str | None, str]]] = {}
    for f in files:
        folder, name = os.path.split(f)
        found = _WRITE_ID.search(name.lower())
        if found is not None:
            part = re.findall(r"\d+", name[:found.start()])
            folders.setdefault(folder, []).append((found.group(1), part[-1] if part else None, f))
    for marked in folders.values():
        parts = [int(p) for _, p, _ in marked if p is not None]
        if len(parts) == len(marked) and len(set(parts)) == len(parts):
            continue  # (ordered by their part numbers, whatever the ids)
        first = marked[0]
        other = next((m for m in marked if m[0] != first[0]), None)
        if other is not None:
            return first[2], other[2]
    return None


def partition_key_hint(label: str, name: str) -> str:
    """For a column ``name`` missing from a file of a Hive-partitioned dataset whose folders name
    that key (``.../g=a/part-0.parquet``): why, and how to reach the rows of one partition; else ""."""
    folders = Path(label).parts[:-1]
    for i, folder in enumerate(folders):
        if folder.startswith(f"{name}="):
            where = os.path.join(*folders[:i + 1])
            return (f"; {name!r} is a Hive partition key (the folder {where}), not a column of the files, and losscli "
                    f"reads the files' columns only: name one partition's folder ({where}) to use its rows")
    return ""


def natural(name: str) -> list:
    """A sort key that orders the numbers in names by value: part-2 before part-10 (and the
    name itself last, so that part-01 and part-1 have an order too)."""
    parts = [(0, int(t), "") if t.isascii() and t.isdigit() else (1, 0, t) for t in re.split(r"([0-9]+)", name) if t]
    return [*parts, (2, 0, name)]


def check_file(path: str) -> None:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such file")
    if p.is_dir():
        raise InputError(f"{path}: is a directory, expected a file")



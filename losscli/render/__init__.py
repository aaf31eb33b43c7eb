"""How a result is shown. Every command builds a plain record (JSON types); each format renders
that record, so the formats can never disagree about a number.

``FORMATS`` declares, per command, every output format and the function that renders it (as
``module:function`` in this package, imported only when used, so ``--help`` stays light). The
CLI's ``--format`` choices and defaults (the first listed) come from it. Add a format: a function
in the module of its kind (``table.py`` for rich tables, ``text.py`` for JSON/CSV/plain text,
``junit.py``, ``markdown.py``, ``chart.py``) and a line here. ``publish`` writes a command's
``--format`` output and its ``--report`` files from the one record.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import import_module
from typing import Callable

FORMATS: dict[str, dict[str, str]] = {
    "compute": {"table": "table:compute_tables", "json": "text:compute_json", "csv": "text:compute_csv",
                "ndjson": "text:compute_ndjson", "value": "text:compute_value", "junit": "junit:compute",
                "markdown": "markdown:compute"},
    "compare": {"table": "table:compare_tables", "json": "text:to_json", "junit": "junit:compare",
                "markdown": "markdown:compare"},
    "check": {"table": "table:check_tables", "json": "text:to_json", "junit": "junit:check",
              "markdown": "markdown:check"},
    "gradcheck": {"table": "table:gradcheck_tables", "json": "text:to_json", "junit": "junit:gradcheck",
                  "markdown": "markdown:gradcheck"},
    "list": {"table": "table:list_table", "json": "text:list_json", "names": "text:list_names"},
    "info": {"text": "table:info_renderables", "json": "text:info_json"},
    "plot": {"terminal": "text:plot_terminal", "csv": "text:plot_csv", "json": "text:plot_json"},
    "fit": {"table": "table:fit_tables", "json": "text:to_json", "csv": "text:fit_csv"},
}
#: formats that print the loss values only: quantiles and worst samples are not computed for them
LOSS_ONLY_FORMATS = frozenset({"value"})
#: what each compute format shows of what an option asks for beyond the values: "ci" (--ci),
#: "per_sample" (--per-sample), "worst" (--top), "slices" (--by). An option asking for what no
#: output of the run shows is refused (``commands.compute.refuse_unshown``): it must not vanish
_EVERYTHING = frozenset({"ci", "per_sample", "worst", "slices"})
COMPUTE_SHOWS = {"table": _EVERYTHING, "json": _EVERYTHING, "ndjson": _EVERYTHING,
                 "csv": frozenset({"ci", "per_sample", "slices"}),  # (with --per-sample a row a sample: no interval)
                 "markdown": frozenset({"slices"}), "junit": frozenset({"slices"}),
                 "value": frozenset()}  # (with --reduction none: every sample's loss)
#: the format an output file's suffix names, taken when --format is not given (``-o run.json``
#: writes JSON, not a table in a file named .json)
SUFFIX_FORMATS = {".json": "json", ".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".xml": "junit",
                  ".md": "markdown"}


#: the commands that draw an image (matplotlib) when -o's suffix names one of these
IMAGE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg")
IMAGES = {"plot": IMAGE_SUFFIXES, "fit": IMAGE_SUFFIXES}
#: suffixes of files no report is, and what they name: a report under such a name is garbage to
#: whatever opens it (a table in grads.npy, plain JSON in run.json.gz)
FOREIGN_SUFFIXES = {
    **dict.fromkeys((".npy", ".npz", ".parquet", ".arrow", ".arrows", ".feather", ".pkl", ".pickle", ".h5",
                     ".hdf5", ".pt", ".pth", ".safetensors"), "a binary data file"),
    **dict.fromkeys((".png", ".svg", ".pdf", ".jpg", ".jpeg", ".gif", ".webp", ".tif", ".tiff", ".bmp", ".ico",
                     ".eps", ".ps", ".avif", ".heic"), "an image"),
    **dict.fromkeys((".html", ".htm", ".xhtml"), "a web page"),
    **dict.fromkeys((".gz", ".bz2", ".xz", ".zst", ".zip", ".tar"), "a compressed file"),
    **dict.fromkeys((".xlsx", ".xls", ".ods"), "a spreadsheet"),
}
#: formats a suffix holds besides the one it names (a single number is a CSV; one JSON record a line
#: of NDJSON is read as JSON where it is one)
ALSO_HOLDS = {".csv": ("value",), ".json": ("ndjson",)}


def _suffix(output: str | None) -> str:
    dot = (output or "").rfind(".")
    return output[dot:].lower() if output and dot > output.rfind("/") else ""


def draws_image(command: str, output: str | None) -> bool:
    """Whether ``command`` draws an image into ``output`` (by its suffix)."""
    return _suffix(output) in IMAGES.get(command, ())


def format_for(command: str, output: str | None) -> str | None:
    """The format of ``command`` that ``output``'s suffix names, or None (no output, standard
    output, another suffix, or a format the command does not have)."""
    fmt = SUFFIX_FORMATS.get(_suffix(output))
    return fmt if fmt in FORMATS[command] else None


def misnamed(command: str, output: str | None, fmt: str, where: str | None = None,
             given: str | None = None) -> str | None:
    """Why ``-o output`` cannot hold ``command``'s ``fmt`` (its suffix names another format, one the
    command does not write, or a kind of file no report is), or None. A suffix that names nothing
    (``.txt``, ``.log``, none) holds any format. ``where``: the output as the user wrote it
    (``-o FILE``, ``--report FORMAT:FILE``); ``given``: how the format was asked for
    (``--format FORMAT``, ``--report FORMAT``)."""
    where = where or f"-o {output}"
    given = given or f"--format {fmt}"
    suffix = _suffix(output)
    named = SUFFIX_FORMATS.get(suffix)
    if not suffix or named == fmt or suffix in IMAGES.get(command, ()) or fmt in ALSO_HOLDS.get(suffix, ()):
        return None
    if named is not None:
        what = f"{named} output, and {given} writes {fmt}" if named in FORMATS[command] else \
            f"{named} output, which {command} does not write"
    elif suffix in FOREIGN_SUFFIXES:
        what = f"{FOREIGN_SUFFIXES[suffix]}, which {command} does not write"
    else:
        return None
    names = sorted({s for s, f in SUFFIX_FORMATS.items() if f in FORMATS[command]} | set(IMAGES.get(command, ())))
    return (f"{where}: its name ({suffix}) says {what}; {command} writes {', '.join(names)} files as their names "
            f"say, and {given} into a file named otherwise (.txt, say)")


def renderer(command: str, fmt: str) -> Callable:
    """The function that renders ``command``'s record as ``fmt``: text, or rich renderables."""
    module, name = FORMATS[command][fmt].split(":")
    return getattr(import_module(f"{__name__}.{module}"), name)


@dataclass
class Timing:
    """When a command started and how long it took, for the reports that carry it (JUnit's
    ``timestamp`` and ``time``): the whole run, and the cases timed on their own (a gate, a
    gradient check of one loss); losses evaluated in one pass are not timed apart."""

    started: float = field(default_factory=time.time)
    seconds: float = 0.0
    cases: dict[str, float] = field(default_factory=dict)

    def case(self, name: str, since: float) -> None:
        self.cases[name] = time.perf_counter() - since


#: the timing of the run being published (read by ``junit.py``)
TIMING: ContextVar[Timing | None] = ContextVar("TIMING", default=None)


def publish(command: str, fmt: str, output: str | None, reports, *record, timing: Timing | None = None) -> None:
    """Render ``record`` (the command's payload, and its context where it has one) as ``fmt``
    to ``output`` (stdout by default) and as every ``--report FORMAT:FILE``: one evaluation,
    every report. The report files are written first: a reader of stdout that goes away (``|
    head``) does not cost them (``replace.together`` commits them). A report that cannot be written
    ends the run with its error before anything is written to standard output (exit 2 means nothing
    there); inside a command's ``replace.together()`` no file of the run is then replaced. Where the
    output is standard output (or a stream), the files copied in place have their new lengths
    reserved before it is written: one that cannot be put in place (a full disk) stops it too."""
    from ..errors import LossCliError
    from ..io.output import staged
    from ..io.replace import reserve_written

    timing = timing or Timing()
    timing.seconds = time.time() - timing.started
    token = TIMING.set(timing)
    failed: LossCliError | None = None
    try:
        for report_fmt, path in reports:
            try:
                emit(renderer(command, report_fmt)(*record), path)
            except (OSError, LossCliError) as exc:
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).removeprefix(f"{path}: ")
                failed = failed or LossCliError(f"--report {report_fmt}:{path}: {why}")
        if failed is not None:
            raise failed
        rendered = renderer(command, fmt)(*record)
        if output in (None, "-") or not staged(output):  # (standard output, a stream: after the files)
            reserve_written()
        emit(rendered, output)
    finally:
        TIMING.reset(token)


def emit(rendered, output: str | None = None) -> None:
    """Print to stdout, or write to ``output`` (see ``io/output.py``: regular files atomically)."""
    from .console import emit as _emit

    _emit(rendered, output)

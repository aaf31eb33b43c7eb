"""Charts: a loss and its derivative in the terminal (plotext: maintained, no dependencies, several
labelled series with axes in any terminal) or as an image (matplotlib, an optional extra imported
only here); ``fit``'s loss curve and learning rate.

Both draw the same figure from the same description (``Panel``): a title, per panel a y label,
a y view (``plot``'s clipped derivative) or a log axis (``fit``'s loss), and a note saying so.
Series are told apart without colour: a marker each in the terminal, a line style each in an
image (colour comes on top, for who has it).
"""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import LossCliError

#: one terminal marker per series (plotext takes any single character): legible in any font and
#: without colour; past the last one they repeat
MARKERS = ("*", "+", "o", "x", "#", "@", "%", "=", "$", "&", "~", "^")
#: one line style per series in an image: the curves stay apart printed in grey
LINE_STYLES = ("-", "--", "-.", ":")
#: terminal charts: columns and rows of one panel
TERMINAL_SIZE = (100, 22)
#: images: inches and dots per inch (1000 × 420 pixels: well under 120 KB as a PNG)
IMAGE_SIZE = (10.0, 4.2)
IMAGE_DPI = 100
#: an image's y label is wrapped at this many characters: a longer one outgrows the panel's height
YLABEL_WIDTH = 40
#: on a log axis, a loss of 0 (or below) is drawn this many decades below the smallest positive one
LOG_FLOOR_DECADES = 1
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: the sizes of value a chart draws (plotext and matplotlib overflow in their ticks and margins
#: beyond them, and plotext fails on values near float64's smallest): a value larger is not drawn,
#: as inf is not, and a smaller one is drawn at 0, each panel's note saying so; an x axis beyond
#: them is refused (``refuse_undrawable_axis``)
DRAWN_MAX = 1e300
DRAWN_MIN = 1e-290


@dataclass
class Panel:
    """One chart: the series field it draws and what it says about it."""

    key: str
    title: str  # an image's panel title
    ylabel: str  # the y label in an image, the title in the terminal (the long form)
    short: str  # the terminal's y label (plotext prints it beside the x label: short)
    view: list | None = None  # [a, b]: the y view, clipped (the note says so)
    log: bool = False  # a log y axis (non-positive values floored, the note says so)
    note: str = ""


def _ascii_rule(ch: str) -> str:
    import unicodedata

    name = unicodedata.name(ch, "")
    return "-" if "HORIZONTAL" in name and "VERTICAL" not in name else \
        "|" if "VERTICAL" in name and "HORIZONTAL" not in name else "+"


#: box-drawing characters (U+2500..U+257F) as ASCII rules: what a pipe or a file gets, as the tables
ASCII_RULES = {c: _ascii_rule(chr(c)) for c in range(0x2500, 0x2580)}


class Chart:
    """A terminal chart as rich prints it: plotext's box-drawing frame and (without NO_COLOR)
    colour on a terminal; plain ASCII rules and no colour in a pipe or a file, as the tables."""

    def __init__(self, build: Callable[[bool, int], str]):
        self.build = build  # (colour, width) -> the chart's text

    def __rich_console__(self, console, options):
        from rich.text import Text

        terminal = console.is_terminal
        text = self.build(terminal and console.color_system is not None, min(TERMINAL_SIZE[0], options.max_width))
        if not terminal:
            text = text.translate(ASCII_RULES)
        # (plotext keeps to the width; were a label wider, it is cropped, never wrapped into the chart)
        yield Text.from_ansi(text, no_wrap=True, overflow="crop") if terminal else \
            Text(text, no_wrap=True, overflow="crop")


def plot_panels(data: dict) -> list[Panel]:
    """``plot``'s two panels: the losses, then their derivatives in the view ``curves.py`` chose."""
    view = data.get("derivative_view")
    if view and max(abs(v) for v in view) > DRAWN_MAX:  # (a view no chart draws: the panel unclipped)
        view = None
    note = f"y clipped to [{view[0]:g}, {view[1]:g}]" if view else ""
    return [Panel("loss_values", "loss", data["loss_label"], data["loss_symbol"]),
            Panel("derivative", "derivative", data["derivative_label"], data["derivative_symbol"], view=view,
                  note=note)]


def terminal_chart(data: dict, width: int | None = None, height: int | None = None, color: bool = False) -> str:
    """``plot``'s losses above their derivatives (``Chart`` decides colour and rules where it prints)."""
    return _terminal(data["title"], data["axis"], data["series"], plot_panels(data), width, height, color)


def _terminal(title: str, xlabel: str, series: list[dict], panels: list[Panel], width: int | None,
              height: int | None, color: bool) -> str:
    import plotext as plt

    parts = []
    for panel in panels:
        plt.clear_figure()
        drawn = False
        ys, note = _panel_values(series, panel)
        for i, (s, y) in enumerate(zip(series, ys)):
            if y is None:
                continue
            keep = np.isfinite(y)
            if panel.view:  # (plotext walks every cell of a line: to a point 1e100 views away, for ever)
                lo, hi = panel.view
                y = np.clip(y, lo - (hi - lo), hi + (hi - lo))
            if keep.any():
                plt.plot(np.asarray(s["x"], np.float64)[keep].tolist(), y[keep].tolist(), label=s["legend"],
                         marker=MARKERS[i % len(MARKERS)])
                drawn = True
        if not drawn:  # (every value inf, NaN or beyond what a chart draws: said, not left out)
            if any(y is not None for y in ys):
                parts.append(f"{panel.ylabel}: no value to draw" + (f"; {note}" if note else "") + "\n")
            continue
        plt.title(panel.ylabel + (f"; {note}" if note else ""))
        plt.xlabel(xlabel)
        plt.ylabel(panel.short)
        if not (panel.view or panel.log) and (short := _short_ticks(ys)):
            plt.yticks(*short)
        if panel.view:
            plt.ylim(*panel.view)
            ticks = linear_ticks(*panel.view)
            plt.yticks(ticks, [f"{t:g}" for t in ticks])
        if panel.log:
            plt.yscale("log")
            finite = np.concatenate([y[np.isfinite(y)] for y in ys if y is not None])
            ticks = log_ticks(float(finite.min()), float(finite.max()))
            plt.yticks(ticks, [f"{t:g}" for t in ticks])
        plt.plotsize(width or TERMINAL_SIZE[0], height or TERMINAL_SIZE[1])
        plt.theme("default" if color else "clear")
        text = plt.build()
        parts.append(text if color else _ANSI.sub("", text))
    wide = max((len(_ANSI.sub("", line)) for part in parts for line in part.splitlines()), default=0)
    return "\n".join([title.center(wide).rstrip(), *parts]) + "\n"


#: values from this size on get tick labels of their own: plotext writes a tick in fixed point, a
#: digit each (1e50: 51 characters), and the chart is squeezed to nothing
SHORT_TICKS_FROM = 1e9


def _short_ticks(ys: list) -> tuple[list[float], list[str]] | None:
    """Five ticks from the smallest drawn value to the largest, written short (``2.354e+17``), for a
    panel whose values plotext would label a digit each; None: plotext's own."""
    present = [y[np.isfinite(y)] for y in ys if y is not None]
    values = np.concatenate(present) if present else np.zeros(0)
    if values.size == 0:
        return None
    lo, hi = float(values.min()), float(values.max())
    if not hi > lo or max(abs(lo), abs(hi)) < SHORT_TICKS_FROM:
        return None
    ticks = [float(t) for t in np.linspace(lo, hi, 5)] if np.isfinite(hi - lo) else [lo, hi]
    return ticks, [f"{t:.4g}" for t in ticks]


def _panel_values(series: list[dict], panel: Panel) -> tuple[list[np.ndarray | None], str]:
    """Each series' y values as float64 (non-finite: NaN, a gap); on a log axis the values at or
    below 0 floored (``LOG_FLOOR_DECADES``) and the panel's note saying so."""
    ys = [None if s[panel.key] is None else np.asarray(s[panel.key], np.float64) for s in series]
    ys = [None if y is None else np.where(np.isfinite(y), y, np.nan) for y in ys]
    note = panel.note
    present = [y for y in ys if y is not None]
    with np.errstate(invalid="ignore"):
        if any(np.any(np.abs(y) > DRAWN_MAX) for y in present):
            ys = [None if y is None else np.where(np.abs(y) > DRAWN_MAX, np.nan, y) for y in ys]
            note = "; ".join(filter(None, [note, f"values beyond ±{DRAWN_MAX:g} not drawn"]))
        if any(np.any((y != 0) & (np.abs(y) < DRAWN_MIN)) for y in present):
            ys = [None if y is None else np.where(np.abs(y) < DRAWN_MIN, 0.0, y) for y in ys]
            note = "; ".join(filter(None, [note, f"values below {DRAWN_MIN:.2g} in size drawn at 0"]))
    if panel.log:
        present = [y for y in ys if y is not None]
        values = np.concatenate(present) if present else np.zeros(0)
        positive = values[values > 0]
        if positive.size < np.count_nonzero(np.isfinite(values)):
            floor = float(positive.min()) / 10 ** LOG_FLOOR_DECADES if positive.size else 1.0
            ys = [None if y is None else np.where(y > 0, y, np.where(np.isnan(y), np.nan, floor)) for y in ys]
            note = "; ".join(filter(None, [note, f"a loss of 0 or below is drawn at {floor:.2g}"]))
    return ys, note


def log_ticks(lo: float, hi: float) -> list[float]:
    """Round ticks for a log axis from lo to hi: decades, or 1-2-5 in each when there are few."""
    if not hi > lo:
        return [lo]
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    ticks: list[float] = []
    for mantissas in ((1,), (1, 2, 5), (1, 1.5, 2, 3, 5, 7)):
        ticks = [m * 10.0 ** d for d in range(first, last + 1) for m in mantissas
                 if lo * (1 - 1e-9) <= m * 10.0 ** d <= hi * (1 + 1e-9)]
        if len(ticks) >= 4:
            break
    if len(ticks) < 2:
        ticks = [float(f"{t:.2g}") for t in np.geomspace(lo, hi, 4)]
    step = math.ceil(len(ticks) / 8)
    return ticks[::step]


def linear_ticks(lo: float, hi: float) -> list[float]:
    """About five round ticks (multiples of 1, 2, 5 × 10^k) from lo to hi."""
    from ..curves import nice_step

    step = nice_step((hi - lo) / 5)
    first = math.ceil(lo / step - 1e-9)
    return [round(k * step, 12) for k in range(first, math.floor(hi / step + 1e-9) + 1)]


def refuse_undrawable_axis(data: dict, option: str) -> None:
    """Before a chart is drawn: an x axis with a point beyond ``DRAWN_MAX`` or, not 0, below
    ``DRAWN_MIN`` in size has no ticks a chart can label: refused, pointing to the data formats."""
    x = np.abs(np.asarray(data["series"][0]["x"], np.float64)) if data["series"] else np.zeros(0)
    if np.any(x > DRAWN_MAX) or np.any((x != 0) & (x < DRAWN_MIN)):
        raise LossCliError(f"{option}: a chart cannot draw an axis with points beyond ±{DRAWN_MAX:g} or, but 0, "
                           f"below {DRAWN_MIN:.2g} in size: narrow it, or write the points with --format csv or json")


def save_image(data: dict, path: str) -> None:
    """``plot``'s losses beside their derivatives, as an image (the format from the suffix)."""
    _save(data["title"], data["axis"], data["series"], plot_panels(data), path)


def _save(title: str, xlabel: str, series: list[dict], panels: list[Panel], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
        from matplotlib.ticker import NullFormatter
    except ImportError:
        raise LossCliError("image output needs matplotlib: pip install 'losscli[plot]'") from None
    from ..io.output import write_output

    shown = [p for p in panels if any(s[p.key] is not None for s in series)]
    fig, axes = plt.subplots(1, len(shown), figsize=IMAGE_SIZE, squeeze=False)
    for n, (ax, panel) in enumerate(zip(axes[0], shown)):
        ys, note = _panel_values(series, panel)
        for i, (s, y) in enumerate(zip(series, ys)):
            if y is not None:
                ax.plot(s["x"], y, color=f"C{i % 10}", linestyle=LINE_STYLES[i % len(LINE_STYLES)],
                        linewidth=1.6, label=s["legend"])
        ax.set_title(panel.title, fontsize=10)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel(_wrapped(panel.ylabel), fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        if panel.view:
            ax.set_ylim(*panel.view)
        if panel.log:  # round ticks, as in the terminal, not matplotlib's 2×10⁻¹
            ax.set_yscale("log")
            present = np.concatenate([y for y in ys if y is not None])
            ticks = log_ticks(float(np.nanmin(present)), float(np.nanmax(present)))
            ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
            ax.yaxis.set_minor_formatter(NullFormatter())
        # one legend per panel, placed where it hides the least: the series' (in the first panel
        # only: the panels draw them alike), and the note as an entry without a line
        handles, labels = ax.get_legend_handles_labels() if n == 0 else ([], [])
        if note:
            handles.append(Line2D([], [], linestyle="none"))
            labels.append(note + ("; the curves go beyond" if panel.view else ""))
        if handles:
            ax.legend(handles, labels, fontsize=8, framealpha=0.9, loc="best",
                      **({} if n == 0 else {"handlelength": 0, "handletextpad": 0}))
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fmt = path.rsplit(".", 1)[-1].lower()
    try:
        write_output(path, lambda fh: fig.savefig(fh, format=fmt, dpi=IMAGE_DPI))
    finally:
        plt.close(fig)


def _wrapped(label: str) -> str:
    """A long y label on two lines or more, a parenthesis kept whole on a line of its own."""
    if len(label) <= YLABEL_WIDTH:
        return label
    head, paren, tail = label.partition(" (")
    return "\n".join([*textwrap.wrap(head, YLABEL_WIDTH), *([f"({tail}"] if paren else [])])


def _fit_figure(payload: dict) -> tuple[str, list[dict], list[Panel]]:
    """``fit``'s figure: the objective on a log axis (its fall spans decades; a loss of 0 drawn a
    decade below the smallest other, see ``_panel_values``), and the learning rate."""
    from ..curves import legend

    h = payload["history"]
    every = payload.get("history_every", 1)
    rate = (f"constant lr {payload['lr']:g}" if payload["schedule"] == "constant"
            else f"lr {payload['lr']:g} on a {payload['schedule']} schedule")
    title = (f"fit: {payload['loss']}, {payload['epochs']:,} epochs, {rate}"
             + (f", drawn every {every:,} epochs" if every > 1 else ""))
    series = [{"legend": legend(payload["loss"], payload.get("params", {})), "x": [e["epoch"] for e in h],
               "objective": [e["objective"] for e in h], "lr": [e["lr"] for e in h]}]
    penalised = any(e["penalty"] for e in h)
    name = "loss + penalty" if penalised else "loss"
    # a loss below 0 (a negative log-likelihood without its constant: poisson_nll) has no log axis
    log = min(series[0]["objective"], default=0.0) >= 0
    panels = [Panel("objective", "training loss", f"{name}, log scale" if log else name, "loss", log=log,
                    note="" if log else "linear scale: the loss goes below 0"),
              Panel("lr", "learning rate", "learning rate", "lr")]
    return title, series, panels


def fit_chart(payload: dict) -> Chart:
    """``fit``'s loss curve and learning rate, printed below its table (no colour: part of a table)."""
    title, series, panels = _fit_figure(payload)
    return Chart(lambda color, width: _terminal(title, "epoch", series, panels, width, 16, False))


def save_curve(payload: dict, path: str) -> None:
    title, series, panels = _fit_figure(payload)
    _save(title, "epoch", series, panels, path)

"""Charts: a loss and its derivative in the terminal (plotext: maintained, no dependencies, several
labelled series with axes in any terminal) or as an image (matplotlib, an optional extra imported
only here); ``fit``'s loss curve."""

from __future__ import annotations

import numpy as np

from ..errors import LossCliError


def terminal_chart(data: dict, width: int | None = None, height: int | None = None,
                   titles=("loss", "derivative"), color: bool | None = None) -> str:
    """Two charts, one above the other: the losses, then their derivatives. Colour only on a
    terminal without NO_COLOR (or when asked)."""
    import os
    import re
    import sys

    import plotext as plt

    if color is None:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    parts = []
    for key, title in (("loss_values", titles[0]), ("derivative", titles[1])):
        plt.clear_figure()
        plt.title(title)
        plt.xlabel(data["axis"])
        drawn = False
        for s in data["series"]:
            if s[key] is None:
                continue
            pts = [(x, v) for x, v in zip(s["x"], s[key]) if v is not None and np.isfinite(v)]
            if pts:
                plt.plot([p[0] for p in pts], [p[1] for p in pts], label=s["label"])
                drawn = True
        if not drawn:
            continue
        plt.plotsize(width or 100, height or 22)
        plt.theme("clear" if not color else "default")
        text = plt.build()
        parts.append(text if color else re.sub(r"\x1b\[[0-9;]*m", "", text))
    return "\n".join(parts) + "\n"


def save_image(data: dict, path: str, titles=("loss", "derivative")) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise LossCliError("image output needs matplotlib: pip install 'losscli[plot]'") from None
    from ..io.output import write_output

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for s in data["series"]:
        ax1.plot(s["x"], s["loss_values"], label=s["label"])
        if s["derivative"] is not None:
            ax2.plot(s["x"], s["derivative"], label=s["label"])
    for ax, title in zip((ax1, ax2), titles):
        ax.set_title(title)
        ax.set_xlabel(data["axis"])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fmt = path.rsplit(".", 1)[-1].lower()
    write_output(path, lambda fh: fig.savefig(fh, format=fmt, dpi=110))
    plt.close(fig)


def fit_chart(payload: dict) -> str:
    """``fit``'s loss curve and learning rate in the terminal."""
    h = payload["history"]
    return terminal_chart({"axis": "epoch", "series": [{
        "label": payload["loss"], "x": [e["epoch"] for e in h], "loss_values": [e["risk"] + e["penalty"] for e in h],
        "derivative": [e["lr"] for e in h]}]}, height=16, titles=("loss", "learning rate"), color=False)


def save_curve(payload: dict, path: str) -> None:
    h = payload["history"]
    save_image({"axis": "epoch", "series": [{
        "label": f"{payload['loss']} ({payload['schedule']})", "x": [e["epoch"] for e in h],
        "loss_values": [e["risk"] + e["penalty"] for e in h], "derivative": [e["lr"] for e in h]}]}, path,
        titles=("loss", "learning rate"))

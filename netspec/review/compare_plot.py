"""compare.png: the runs' training curves overlaid, one panel per quantity, drawn as
`curves.png` is (netspec/training/output/plots.py: matplotlib's object API and default style,
two panels a row, epochs from 1, gaps for non-finite values, no time stamp).

Each run has one colour; its training series is a solid line and its validation series a
dashed one, so a panel holds every run's `x` and `val_x`."""

from __future__ import annotations

import io
import math
from typing import Any

from ..training.output.plots import _finite, _quantities, _style_axes
from .compare import Run

_DPI = 100
_WIDTH_IN = 10.0
_ROW_IN = 3.6


def _panel(ax: Any, runs: list[Run], name: str) -> None:
    import numpy as np

    drawn = []
    for k, run in enumerate(runs):
        for key, style, suffix in ((name, "-", ""), (f"val_{name}", "--", " (validation)")):
            if key not in run.history:
                continue
            y = _finite(run.history[key])
            x = np.arange(1, len(y) + 1)
            few = len(y) <= 30  # as curves.png: short series get a marker per epoch
            ax.plot(x, y, style, color=f"C{k % 10}", linewidth=1.6, label=run.label + suffix,
                    marker="o" if few else None, markersize=3)  # fmt: skip
            drawn.append(run.history[key])
    _style_axes(ax, name, drawn, legend=False)


def _figure(runs: list[Run], title: str | None) -> Any:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    merged: dict[str, list[float]] = {}
    for run in runs:
        for key, values in run.history.items():
            merged.setdefault(key, values)
    names = _quantities(merged)
    cols = 1 if len(names) <= 1 else 2
    rows = max(1, math.ceil(len(names) / cols))
    fig = Figure(figsize=(_WIDTH_IN, _ROW_IN * rows + 0.9), dpi=_DPI, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        _panel(ax, runs, name)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    # one legend for the figure: a colour per run, solid training, dashed validation
    handles = [Line2D([], [], color=f"C{k % 10}", linewidth=2, label=r.label)
               for k, r in enumerate(runs)]  # fmt: skip
    handles += [Line2D([], [], color="black", linestyle="-", label="train"),
                Line2D([], [], color="black", linestyle="--", label="validation")]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5))
    if title:
        fig.suptitle(title)
    return fig


def compare_picture(runs: list[Run], fmt: str = "png", title: str | None = None) -> bytes:
    """The overlay as PNG bytes, or in another format matplotlib writes (svg, pdf), in
    matplotlib's default style whatever the user's rc says; a PNG carries no software stamp."""
    from matplotlib import style
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    with style.context("default"):
        fig = _figure(runs, title)
        FigureCanvasAgg(fig)  # no pyplot, no global backend
        metadata = {"Software": None} if fmt == "png" else None
        fig.savefig(buffer, format=fmt, dpi=_DPI, metadata=metadata)
    return buffer.getvalue()

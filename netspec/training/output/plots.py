"""curves.png: Keras's History drawn as one subplot per quantity (matplotlib imported here only,
through its object API: no pyplot, no global backend, works without a display).

Each subplot holds a quantity's training series and its `val_` series ("train" / "validation"),
loss first, then the metrics in the History's order, the learning rate last; the x axis counts
epochs from 1. Non-finite values are left as gaps. The PNG is drawn in matplotlib's default
style and carries no software or time stamp, so the same History gives the same bytes (with the
same matplotlib).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

_LEARNING_RATE = ("learning_rate", "lr")  # Keras 3's History key, and Keras 2's
_DPI = 100
_WIDTH_IN = 10.0  # 1000 px: two subplots side by side stay readable
_ROW_IN = 3.6
_MARK_ALL = 30  # up to this many epochs every point gets a marker
_COLORS = {"train": "C0", "validation": "C1"}


def _quantities(history: Mapping[str, Sequence[float]]) -> list[str]:
    """The subplots' quantities: `loss` first, the learning rate last, the others in the order
    they first appear (a `val_x` key alone still gives the quantity `x`)."""
    seen: dict[str, None] = {}
    for key in history:
        seen.setdefault(key.removeprefix("val_"), None)
    names = list(seen)
    first = [n for n in names if n == "loss"]
    last = [n for n in names if n in _LEARNING_RATE]
    return first + [n for n in names if n != "loss" and n not in _LEARNING_RATE] + last


def _finite(values: Sequence[float]) -> Any:
    """The values as floats, NaN where a value is missing, infinite or not a number, so that
    matplotlib leaves a gap there instead of stretching the axis or failing."""
    import numpy as np

    array = np.array([_as_float(v) for v in values], dtype=float)
    array[~np.isfinite(array)] = np.nan
    return array


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _markers(y: Any) -> Any:
    """Which points get a marker: all of a short series; in a long one only the points with no
    finite neighbour, which a line alone would not show (a single epoch, a point between gaps)."""
    import numpy as np

    finite = np.isfinite(y)
    if len(y) <= _MARK_ALL:
        return finite
    before = np.concatenate([[False], finite[:-1]])
    after = np.concatenate([finite[1:], [False]])
    return finite & ~before & ~after


def _plot_series(ax: Any, values: Sequence[float], label: str) -> None:
    import numpy as np

    y = _finite(values)
    x = np.arange(1, len(y) + 1)
    color = _COLORS.get(label, "C0")
    marks = _markers(y).tolist()
    ax.plot(
        x, y, label=label, color=color, linewidth=1.6, marker="o", markersize=4, markevery=marks
    )


def _style_axes(ax: Any, name: str, series: list[Any], legend: bool) -> None:
    """Title, integer epoch ticks from 1, a log scale for a learning rate that moved by 10x."""
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    ax.set_title(name)
    ax.set_xlabel("epoch")
    # min_n_ticks=1: a single epoch still gets the tick "1" rather than 0.8, 1.0, 1.2
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    epochs = max((len(s) for s in series), default=1)
    pad = max(0.25, 0.03 * (epochs - 1))  # the end points' markers stay inside the axes
    ax.set_xlim(1 - pad, max(epochs, 1) + pad)
    ax.grid(True, alpha=0.3)
    values = np.concatenate([_finite(s) for s in series]) if series else np.array([])
    values = values[np.isfinite(values)]
    if name in _LEARNING_RATE and values.size and values.min() > 0:
        if values.max() / values.min() >= 10:
            ax.set_yscale("log")
    if not values.size:
        ax.text(0.5, 0.5, "no finite values", transform=ax.transAxes, ha="center", va="center")
    if legend:
        ax.legend()


def _draw(ax: Any, history: Mapping[str, Sequence[float]], name: str) -> None:
    pairs = [("train", name), ("validation", f"val_{name}")]
    present = [(label, history[key]) for label, key in pairs if key in history]
    for label, values in present:
        _plot_series(ax, values, label)
    # a learning rate alone needs no legend; a train/validation pair (or a lone val_) does
    legend = len(present) > 1 or any(label == "validation" for label, _ in present)
    _style_axes(ax, name, [v for _, v in present], legend)


def _figure(history: Mapping[str, Sequence[float]], title: str | None = None) -> Any:
    """The matplotlib Figure of `curves_png` (exposed for tests): two subplots a row, 1000 px
    wide, a row ~360 px high; an empty History gives one empty subplot saying so."""
    from matplotlib.figure import Figure

    names = _quantities(history)
    cols = 1 if len(names) <= 1 else 2
    rows = max(1, math.ceil(len(names) / cols))
    height = _ROW_IN * rows + (0.4 if title else 0.0)
    fig = Figure(figsize=(_WIDTH_IN, height), dpi=_DPI, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        _draw(ax, history, name)
    for ax in axes[len(names) :]:  # the odd one out of the last row
        ax.set_visible(False)
    if not names:
        axes[0].set_visible(True)
        axes[0].set_axis_off()
        axes[0].text(0.5, 0.5, "no epochs recorded", ha="center", va="center")
    if title:
        fig.suptitle(title)
    return fig


def curves_png(history: Mapping[str, Sequence[float]], title: str | None = None) -> bytes:
    """A PNG of Keras's History (`{"loss": [...], "val_loss": [...], "accuracy": [...], ...}`):
    one subplot per quantity, train and validation together, epochs from 1 on the x axis.
    Deterministic: the same History (and matplotlib) gives the same bytes."""
    from matplotlib import style
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    # matplotlib's default style, whatever the user's matplotlibrc says: the same look
    # everywhere (text is laid out at savefig, so both steps run inside it)
    with style.context("default"):
        fig = _figure(history, title)
        FigureCanvasAgg(fig)  # attaches itself to the figure; no pyplot, no global backend
        # no "Software" stamp: the bytes depend on the History alone
        fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _serve() -> int:
    """The helper process of `plot_worker.CurvesWriter`, run as a script so that it imports
    matplotlib but not netspec: warm up, then serve the requests read from stdin (a drawing,
    then the path to write it to: the protocol of plot_worker's docstring)."""
    import importlib.util
    import json
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().with_name("atomic.py")
    spec = importlib.util.spec_from_file_location("_netspec_atomic", here)
    assert spec is not None and spec.loader is not None  # a .py file: a source loader
    atomic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(atomic)
    # fonts, legends, two-subplot layout: the real picture then costs a few hundredths
    curves_png({"loss": [1.0, 0.5], "val_loss": [1.0, 0.6], "acc": [0.5, 0.6]}, title="warm-up")
    png = None
    for line in iter(sys.stdin.readline, ""):  # "" at the end: training ended without a path
        request = json.loads(line)
        if "history" in request:
            png = curves_png(request["history"], title=request["title"])
            continue
        if png is None:  # a path before any drawing: the parent draws the picture itself
            return 1
        atomic.write_atomic(Path(request["path"]), png)
        sys.stdout.write("done\n")  # the parent goes on without waiting for this exit
        sys.stdout.flush()
        break
    return 0


if __name__ == "__main__":
    import os
    import sys

    # a background helper: under contention for the cores, the trainer goes first
    os.nice(10)
    sys.path.pop(0)  # this folder: its module names (data, spec, ...) must not shadow others
    sys.exit(_serve())

"""The DOT text of a `Drawing`, with Keras's `model_to_dot` look: each box an HTML table with a
black title row (`name (Type)`, or the type alone without layer names), an activation row, and
a row of cells for the input and output shapes, the dtype, the parameter count and whether it
trains. Shapes read as Keras prints them, batch axis first: `(None, 32, 32, 3)`."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from ..errors import NetspecError
from .plot import Box, Cluster, Drawing

RANKDIRS = ("TB", "LR", "BT", "RL")
SPLINES = ("spline", "ortho", "polyline", "line", "curved")


@dataclass(frozen=True)
class PlotOptions:
    """Keras's `plot_model` options, with netspec's defaults where a review wants more: names
    and shapes shown (Keras shows neither by default), curved edges (Keras's `ortho` enters
    boxes from the side and cannot place edge labels) and `show_params` (not in Keras)."""

    show_shapes: bool = True
    show_dtype: bool = False
    show_layer_names: bool = True
    show_layer_activations: bool = False
    show_trainable: bool = False
    show_params: bool = True
    rankdir: str = "TB"
    expand_nested: bool = False
    dpi: int = 200
    splines: str = "spline"


def options(**given: Any) -> PlotOptions:
    """PlotOptions from the command line's values, `rankdir` and `splines` checked (they go
    into the DOT text as written)."""
    opts = PlotOptions(**{**given, "rankdir": str(given.get("rankdir", "TB")).upper()})
    for flag, value, allowed in (("rankdir", opts.rankdir, RANKDIRS),
                                 ("splines", opts.splines, SPLINES)):  # fmt: skip
        if value not in allowed:
            raise NetspecError(f"--{flag}: should be one of {', '.join(allowed)} (got {value})")
    return opts


def keras_shape(shape: Any) -> str:
    """`(None, 8, 8)` for one shape, `[(None, 4), (None, 4)]` for several; `?` when unknown."""
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(keras_shape(s) for s in shape) + "]"
    dims = ", ".join(str(d) for d in (None, *shape))
    return f"({dims},)" if not shape else f"({dims})"


def _shapes(per_call: list[Any]) -> str:
    """The shape of each call, once when every call agrees."""
    texts = list(dict.fromkeys(keras_shape(s) for s in per_call))
    return " | ".join(texts) if texts else "?"


def _cell(text: str, color: str = "white", font: str = "black", bold: str = "") -> str:
    body = f"{escape(text)}<b>{escape(bold)}</b>" if bold else f"<b>{escape(text)}</b>"
    return f'<td bgcolor="{color}"><font point-size="14" color="{font}">{body}</font></td>'


def label(box: Box, opts: PlotOptions) -> str:
    """The HTML-like label of a box (Keras's `make_layer_label`, plus the parameter count)."""
    cells = []
    if opts.show_shapes:
        if box.type != "InputLayer":
            cells.append(_cell("Input shape: ", bold=_shapes(box.in_shapes)))
        cells.append(_cell("Output shape: ", bold=_shapes(box.out_shapes)))
    if opts.show_dtype:
        cells.append(_cell("Output dtype: ", bold=box.dtype))
    if opts.show_params and box.type != "InputLayer":
        cells.append(_cell("Params: ", bold=f"{box.params:,}"))
    if opts.show_trainable and box.trainable is not None:
        on = box.trainable
        cells.append(_cell("Trainable" if on else "Non-trainable",
                           "forestgreen" if on else "firebrick", "white"))  # fmt: skip
    # left to right, the cells stack in one column: a row of them would make every box (and
    # so the picture) as wide as four boxes
    across = opts.rankdir in ("TB", "BT")
    span = max(1, len(cells)) if across else 1
    title = (
        f"<b>{escape(box.name)}</b> ({escape(box.type)})"
        if opts.show_layer_names
        else (f"<b>{escape(box.type)}</b>")
    )
    if box.calls > 1:
        title += f" ×{box.calls} calls"
    rows = [
        f'<tr><td colspan="{span}" bgcolor="black">'
        f'<font point-size="16" color="white">{title}</font></td></tr>'
    ]
    if opts.show_layer_activations and box.activation is not None:
        rows.append(
            f'<tr><td colspan="{span}" bgcolor="white"><font point-size="14">'
            f"Activation: <b>{escape(box.activation)}</b></font></td></tr>"
        )
    if cells and across:
        rows.append("<tr>" + "".join(cells) + "</tr>")
    else:
        rows += [f"<tr>{c}</tr>" for c in cells]
    table = '<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
    return "<" + table + "".join(rows) + "</table>>"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(drawing: Drawing, opts: PlotOptions, dpi: bool = True) -> str:
    """The DOT graph with Keras's graph attributes (`rankdir`, `dpi`, `splines`) except
    `concentrate`: merged edges would hide which call of a shared layer feeds which layer.
    Graphviz's orthogonal router cannot place edge labels, so a graph with labelled edges
    (`name:k`, the calls of a shared layer) gets curved edges whatever `splines` says."""
    labelled = any(e.label for e in drawing.edges)
    splines = "spline" if labelled and opts.splines == "ortho" else opts.splines
    lines = [f"digraph {_quote(drawing.name)} {{"]
    lines.append(f"  rankdir={opts.rankdir};")
    if dpi:
        lines.append(f"  dpi={opts.dpi};")
    lines.append(f"  splines={splines};")
    lines.append('  fontname="Helvetica";')  # the clusters' labels, as the boxes'
    lines.append('  node [shape=plaintext, fontname="Helvetica", margin=0];')
    lines.append('  edge [penwidth=2, fontname="Helvetica", fontsize=12];')
    by_cluster: dict[int | None, list[Box]] = {}
    for box in drawing.boxes:
        by_cluster.setdefault(box.cluster, []).append(box)
    children: dict[int | None, list[Cluster]] = {}
    for c in drawing.clusters:
        children.setdefault(c.parent, []).append(c)
    lines += _body(None, by_cluster, children, opts, "  ")
    for e in drawing.edges:
        attrs = f" [label={_quote(' ' + e.label + ' ')}]" if e.label else ""
        lines.append(f"  {_quote(e.src)} -> {_quote(e.dst)}{attrs};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _body(
    cluster: int | None,
    boxes: dict[int | None, list[Box]],
    children: dict[int | None, list[Cluster]],
    opts: PlotOptions,
    indent: str,
) -> list[str]:
    """The boxes of one cluster (or of the top), then its sub-clusters (Keras's dashed
    `pydot.Cluster` labelled with the nested model's name)."""
    lines = []
    for box in boxes.get(cluster, []):
        extra = ", peripheries=2" if box.output else ""
        lines.append(f"{indent}{_quote(box.id)} [label={label(box, opts)}{extra}];")
    for c in children.get(cluster, []):
        lines.append(f"{indent}subgraph {_quote(f'cluster_{c.id}')} {{")
        lines.append(f'{indent}  style=dashed; labeljust="l"; label={_quote(c.label)};')
        lines += _body(c.id, boxes, children, opts, indent + "  ")
        lines.append(f"{indent}}}")
    return lines

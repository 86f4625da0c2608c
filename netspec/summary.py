"""Keras-style model summaries, as data (`--json`) and as a table; static, no torch."""

from __future__ import annotations

from typing import Any

from .compiler import DTYPE_BYTES, human_bytes, param_counts
from .graph import Graph


def _shape_json(shape) -> Any:
    if isinstance(shape, list):
        return [list(s) for s in shape]
    return list(shape) if shape is not None else None


def summary_dict(graph: Graph, counts: dict[str, tuple[int, int]] | None = None) -> dict[str, Any]:
    """The `netspec build --json` document: layers in spec order, shapes without the batch axis
    in the spec's data_format, params counted as Keras counts them."""
    counts = param_counts(graph) if counts is None else counts
    trainable = sum(t for t, _ in counts.values())
    frozen = sum(f for _, f in counts.values())
    return {
        "name": graph.name,
        "total_params": trainable + frozen,
        "trainable_params": trainable,
        "non_trainable_params": frozen,
        "inputs": [
            {"name": i.name, "shape": list(i.shape), "dtype": i.dtype} for i in graph.inputs
        ],
        "outputs": [str(r) for r in graph.outputs],
        "layers": [
            {
                "name": n.name,
                "type": n.type,
                "inputs": [str(r) for r in n.inputs],
                "output_shape": _shape_json(n.output),
                "params": sum(counts[n.name]),
                **({"shares": shares} if (shares := _shares(n)) else {}),
            }
            for n in graph.nodes
        ],
    }


def _shares(node) -> str | None:
    """The entry whose weights a Shared entry uses (None for other entries)."""
    return node.layer.layer if node.type == "Shared" and node.layer is not None else None


def _keras_shape(shape) -> str:
    if isinstance(shape, list):
        return ", ".join(_keras_shape(s) for s in shape)
    return "(" + ", ".join(str(d) for d in (None, *shape)) + ")"


def summary_table(graph: Graph):
    """A rich renderable: Keras's summary (layer, output shape, params, connected to; totals)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    counts = param_counts(graph)
    data = summary_dict(graph, counts)
    table = Table(title=f'Model: "{graph.name}"', title_justify="left")
    table.add_column("Layer (type)")
    table.add_column("Output Shape")
    table.add_column("Param #", justify="right")
    table.add_column("Connected to")
    for i in graph.inputs:
        table.add_row(f"{i.name} (InputLayer)", _keras_shape(i.shape), "0", "-")
    for n in graph.nodes:
        table.add_row(
            f"{n.name} ({n.type})",
            _keras_shape(n.output),
            f"{sum(counts[n.name]):,}",
            ", ".join(str(r) for r in n.inputs)
            + (f"; shares: {shares}" if (shares := _shares(n)) else ""),
        )

    def total(label: str, count: int) -> Text:
        return Text(f"{label}: {count:,} ({human_bytes(count * DTYPE_BYTES)})")

    return Group(
        table,
        total(" Total params", data["total_params"]),
        total(" Trainable params", data["trainable_params"]),
        total(" Non-trainable params", data["non_trainable_params"]),
    )

"""Keras-style model summaries, as data (`--json`) and as a table; static, no torch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .compiler import DTYPE_BYTES, human_bytes, param_counts
from .graph import Graph

if TYPE_CHECKING:
    from .blocks import Expansion


def _shape_json(shape) -> Any:
    if isinstance(shape, list):
        return [list(s) for s in shape]
    return list(shape) if shape is not None else None


def summary_dict(
    graph: Graph,
    counts: dict[str, tuple[int, int]] | None = None,
    expansion: Expansion | None = None,
    depth: int | None = None,
) -> dict[str, Any]:
    """The `netspec build --json` document: layers in spec order, shapes without the batch axis
    in the spec's data_format, params counted as Keras counts them. With `depth`, block and
    nested-model instances nested deeper than `depth` are one row each (Keras's summary of a
    nested model; `depth=0` folds every instance)."""
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
        "layers": rows(graph, counts, expansion, depth),
    }


def rows(
    graph: Graph,
    counts: dict[str, tuple[int, int]],
    expansion: Expansion | None = None,
    depth: int | None = None,
) -> list[dict[str, Any]]:
    """One row per layer, or per folded instance (its name, its block or model as the type,
    its output, the sum of its params, the values it takes from outside)."""
    out: list[dict[str, Any]] = []
    folded = _folded(expansion, depth)
    shown: dict[str, str] = {}  # a layer inside a folded instance -> the instance's row
    for k in folded.values() if expansion is not None else ():
        f = expansion.frames[k]  # type: ignore[union-attr]
        shown.update({n.name: f.name or f.block for n in graph.nodes[f.start : f.end]})

    def refs(found, unique: bool = False) -> list[str]:
        texts = [shown.get(r.node, str(r)) for r in found]
        return list(dict.fromkeys(texts)) if unique else texts

    i = 0
    while i < len(graph.nodes):
        frame = folded.get(i)
        if frame is None or expansion is None:
            n = graph.nodes[i]
            out.append({
                "name": n.name, "type": n.type, "inputs": refs(n.inputs),
                "output_shape": _shape_json(n.output), "params": sum(counts[n.name]),
                **({"shares": shares} if (shares := _shares(n)) else {}),
            })  # fmt: skip
            i += 1
            continue
        f = expansion.frames[frame]
        nodes = graph.nodes[f.start : f.end]
        inside = {n.name for n in nodes}
        outside = [r for n in nodes for r in n.inputs if r.node not in inside]
        out.append({
            "name": f.name or f.block, "type": f.block,
            "inputs": refs(outside, unique=True),
            "output_shape": _shape_json(nodes[-1].output if nodes else None),
            "params": sum(sum(counts[n.name]) for n in nodes),
        })  # fmt: skip
        i = max(f.end, i + 1)
    return out


def _folded(expansion: Expansion | None, depth: int | None) -> dict[int, int]:
    """First expanded layer -> the outermost instance starting there that is folded."""
    if expansion is None or depth is None:
        return {}
    found: dict[int, int] = {}
    for k, f in enumerate(expansion.frames):
        level, parent = 0, f.parent
        while parent is not None:
            level, parent = level + 1, expansion.frames[parent].parent
        if level == depth and f.end > f.start and f.start not in found:
            found[f.start] = k
    return found


def _shares(node) -> str | None:
    """The entry whose weights a Shared entry uses (None for other entries)."""
    return node.layer.layer if node.type == "Shared" and node.layer is not None else None


def _keras_shape(shape) -> str:
    if isinstance(shape, list):
        return ", ".join(_keras_shape(s) for s in shape)
    return "(" + ", ".join(str(d) for d in (None, *shape)) + ")"


def summary_table(graph: Graph, expansion: Expansion | None = None, depth: int | None = None):
    """A rich renderable: Keras's summary (layer, output shape, params, connected to; totals)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    counts = param_counts(graph)
    data = summary_dict(graph, counts, expansion, depth)
    table = Table(title=f'Model: "{graph.name}"', title_justify="left")
    table.add_column("Layer (type)")
    table.add_column("Output Shape")
    table.add_column("Param #", justify="right")
    table.add_column("Connected to")
    for i in graph.inputs:
        table.add_row(f"{i.name} (InputLayer)", _keras_shape(i.shape), "0", "-")
    for row in data["layers"]:
        shape = row["output_shape"]
        table.add_row(
            f"{row['name']} ({row['type']})",
            _keras_shape([tuple(s) for s in shape] if _many(shape) else tuple(shape or ())),
            f"{row['params']:,}",
            ", ".join(row["inputs"]) + (f"; shares: {row['shares']}" if "shares" in row else ""),
        )  # fmt: skip

    def total(label: str, count: int) -> Text:
        return Text(f"{label}: {count:,} ({human_bytes(count * DTYPE_BYTES)})")

    return Group(
        table,
        total(" Total params", data["total_params"]),
        total(" Trainable params", data["trainable_params"]),
        total(" Non-trainable params", data["non_trainable_params"]),
    )


def _many(shape: Any) -> bool:
    return bool(shape) and isinstance(shape[0], list)

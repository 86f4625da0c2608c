"""What `netspec plot` draws: the boxes and arrows of a validated spec's graph, as Keras's
`plot_model` draws a functional model (static, no torch).

One box per input and per layer; a `Shared` entry is a further call of its original layer, so
it adds no box: its arrows go to and from the original's box (Keras draws a shared layer object
once). An arrow from one output of a multi-output layer is labelled `name:k`. Block and
nested-model instances are one box each (Keras's `expand_nested=False`), or with
`expand_nested` a dashed cluster around their layers, nested as the instances are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..compiler import param_counts
from ..graph import Graph, Node, Ref
from ..layers.shared import Shared

if TYPE_CHECKING:
    from ..loader import ValidSpec


@dataclass
class Box:
    """One box: a layer (with its further calls when shared), an input or a folded instance."""

    id: str
    name: str
    type: str
    in_shapes: list[Any] = field(default_factory=list)  # one entry per call
    out_shapes: list[Any] = field(default_factory=list)  # one entry per call
    dtype: str = "float32"
    params: int = 0
    trainable: bool | None = None  # None: no weights (Keras then shows no trainable cell)
    activation: str | None = None
    calls: int = 1
    cluster: int | None = None  # the innermost expanded instance holding it
    output: bool = False  # one of the model's outputs


@dataclass
class Edge:
    src: str
    dst: str
    label: str | None = None


@dataclass
class Cluster:
    """An expanded block or nested-model instance."""

    id: int
    label: str
    parent: int | None


@dataclass
class Drawing:
    name: str
    boxes: list[Box]
    edges: list[Edge]
    clusters: list[Cluster]


def drawing(valid: ValidSpec, expand_nested: bool = False) -> Drawing:
    """The boxes, arrows and clusters of `valid`'s graph."""
    graph = valid.graph
    counts = param_counts(graph)
    folded, cluster_of, clusters = _instances(valid, expand_nested)
    boxes: dict[str, Box] = {}
    box_of: dict[str, str] = {}  # a layer or input name -> its box id
    for i in graph.inputs:
        boxes[i.name] = Box(i.name, i.name, "InputLayer", [], [i.shape], i.dtype, 0)
        box_of[i.name] = i.name
    for node in graph.nodes:
        original = _shared_original(node)
        if node.index in folded:
            box_id = folded[node.index].box
            _fold(boxes, folded[node.index], node, counts)
        elif original is not None and original in box_of:
            box_id = box_of[original]
            _add_call(boxes[box_id], node)
        else:
            box_id = node.name
            boxes[box_id] = _layer_box(node, counts, cluster_of.get(node.index))
        box_of[node.name] = box_id
    for ref in graph.outputs:
        boxes[box_of[ref.node]].output = True
    shared = {b.id for b in boxes.values() if b.calls > 1}
    edges = _edges(graph, box_of, shared)
    return Drawing(graph.name, list(boxes.values()), edges, clusters)


def _shared_original(node: Node) -> str | None:
    """The layer whose weights a Shared entry calls again (None for other entries)."""
    return node.layer.layer if isinstance(node.layer, Shared) else None


def _layer_box(node: Node, counts: dict[str, tuple[int, int]], cluster: int | None) -> Box:
    trainable, frozen = counts[node.name]
    has_weights = bool(node.weights)
    return Box(
        id=node.name,
        name=node.name,
        type=node.type,
        in_shapes=[_in_shape(node)],
        out_shapes=[node.output],
        dtype=node.dtype,
        params=trainable + frozen,
        trainable=(node.layer is not None and node.layer.trainable) if has_weights else None,
        activation=_activation(node),
        cluster=cluster,
    )


def _add_call(box: Box, node: Node) -> None:
    """A further call of a shared layer: its shapes join the box's."""
    box.calls += 1
    box.in_shapes.append(_in_shape(node))
    box.out_shapes.append(node.output)


def _fold(
    boxes: dict[str, Box], instance: Instance, node: Node, counts: dict[str, tuple[int, int]]
) -> None:
    """A layer inside a folded instance: its params join the instance's box, whose input is
    its first layer's and whose output is its last layer's."""
    box = boxes.get(instance.box)
    if box is None:
        box = Box(instance.box, instance.name, instance.block, [_in_shape(node)], [], node.dtype)
        boxes[instance.box] = box
    box.params += sum(counts[node.name])
    if node.weights:  # Keras's nested model: trainable unless every weight is frozen
        box.trainable = bool(box.trainable) or counts[node.name][0] > 0
    box.out_shapes = [node.output]
    box.dtype = node.dtype


def _in_shape(node: Node) -> Any:
    shapes = node.input_shapes or []
    return shapes[0] if len(shapes) == 1 else list(shapes)


def _activation(node: Node) -> str | None:
    """The Keras name of a layer's `activation` (Keras's plot shows it for layers that have
    one; `None` there is Keras's `linear`)."""
    layer = node.layer
    if layer is None or "activation" not in type(layer).model_fields:
        return None
    value = layer.activation  # type: ignore[attr-defined]
    if value is None:
        return "linear"
    return value if isinstance(value, str) else str(getattr(value, "type", value))


@dataclass(frozen=True)
class Instance:
    """A folded block or nested-model instance: one box."""

    box: str
    name: str
    block: str


def _instances(
    valid: ValidSpec, expand_nested: bool
) -> tuple[dict[int, Instance], dict[int, int], list[Cluster]]:
    """Folded (not `expand_nested`): layer index -> its outermost instance. Expanded: layer
    index -> its innermost instance's cluster, and the clusters (an empty instance, whose
    entries were all left out by `if:`, has none)."""
    exp = valid.expansion
    folded: dict[int, Instance] = {}
    cluster_of: dict[int, int] = {}
    clusters: list[Cluster] = []
    for k, f in enumerate(exp.frames if exp is not None else ()):
        if f.end <= f.start:
            continue
        if expand_nested:
            clusters.append(Cluster(k, f"{f.name} ({f.block})" if f.name else f.block, f.parent))
            cluster_of.update(dict.fromkeys(range(f.start, f.end), k))  # inner ones come later
        elif f.parent is None:
            folded.update(dict.fromkeys(range(f.start, f.end), Instance(f"instance{k}",
                                        f.name or f.block, f.block)))  # fmt: skip
    kept = {c.id for c in clusters}
    for c in clusters:  # a cluster whose parent was empty hangs from the top
        c.parent = c.parent if c.parent in kept else None
    return folded, cluster_of, clusters


def _edges(graph: Graph, box_of: dict[str, str], shared: set[str]) -> list[Edge]:
    """One arrow per distinct (source box, destination box, label); none inside a box. An
    arrow out of a shared layer is labelled with the call it comes from (its entry's name):
    Keras draws one arrow for all calls, which hides that a Subtract takes both."""
    seen: dict[tuple[str, str, str | None], Edge] = {}
    for node in graph.nodes:
        dst = box_of[node.name]
        for ref in node.inputs:
            src = box_of.get(ref.node)
            if src is None or src == dst:
                continue
            text = _label(ref) or (ref.node if src in shared else None)
            key = (src, dst, text)
            seen.setdefault(key, Edge(*key))
    return list(seen.values())


def _label(ref: Ref) -> str | None:
    return None if ref.index is None else f"{ref.node}:{ref.index}"

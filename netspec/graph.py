"""Resolving a spec into a graph: names, connections, execution order and static shapes.

Runs during validation without torch. Every problem is collected as a located `Problem` on the
consuming layer; a layer whose inputs are unknown (because of an earlier problem) is skipped
rather than reported twice.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import Path, Problem
from .layers.base import (
    LAYERS,
    Layer,
    Shape,
    Weight,
    snake_case,
)
from .registry import did_you_mean

if TYPE_CHECKING:
    from .spec import Spec


@dataclass(frozen=True)
class Ref:
    """A reference to a value: output `index` (None: the only one) of layer or input `node`."""

    node: str
    index: int | None = None

    def __str__(self) -> str:
        return self.node if self.index is None else f"{self.node}:{self.index}"


@dataclass
class InputNode:
    name: str
    shape: Shape
    dtype: str


@dataclass
class Node:
    """One layer of the spec, resolved."""

    index: int
    name: str
    type: str
    layer: Layer | None  # None when the layer entry itself is invalid
    inputs: list[Ref] = field(default_factory=list)
    input_shapes: list[Shape] | None = None
    input_dtypes: list[str] = field(default_factory=list)
    output: Shape | list[Shape] | None = None  # None while unknown
    dtype: str = "float32"
    # The mask the output carries: the name of the layer that made it (None: no mask); a list
    # for a multi-output layer. See Layer.propagates_mask and docs/spec-format.md, "Masks".
    mask: str | list[str | None] | None = None
    # The mask the output carries when the model runs (`runtime_masks` below), and the masks
    # the layer takes (its inputs' `mask`, or their `runtime_mask` for a `runtime_masks` layer).
    runtime_mask: str | list[str | None] | None = None
    input_masks: list[str | None] = field(default_factory=list)
    # The layer's weights for its input shapes (Keras layout), computed once here.
    weights: list[Weight] = field(default_factory=list)


@dataclass
class Graph:
    name: str
    data_format: str
    inputs: list[InputNode]
    nodes: list[Node]
    order: list[int]  # execution order, as indices into nodes
    outputs: list[Ref]
    problems: list[Problem]
    by_name: dict[str, Node] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {n.name: n for n in self.nodes}

    def node(self, name: str) -> Node | None:
        return self.by_name.get(name)

    def output_shapes(self) -> list[Shape | None]:
        return [value_shape(self, ref)[0] for ref in self.outputs]


def parse_ref(text: str) -> Ref:
    name, sep, index = text.partition(":")
    if sep and index.isdigit():
        return Ref(name, int(index))
    return Ref(text)


def value_shape(graph: Graph, ref: Ref) -> tuple[Shape | None, str]:
    node = graph.node(ref.node)
    if node is None:
        inp = next((i for i in graph.inputs if i.name == ref.node), None)
        return (inp.shape, inp.dtype) if inp else (None, "float32")
    if node.output is None:
        return None, "float32"
    if isinstance(node.output, list):
        if ref.index is None or ref.index >= len(node.output):
            return None, node.dtype
        return node.output[ref.index], node.dtype
    return node.output, node.dtype


def _model_inputs(spec: Spec, problems: list[Problem]) -> list[InputNode]:
    first = spec.layers[0] if spec.layers else None
    first_shape = getattr(first, "input_shape", None)
    for i, layer in enumerate(spec.layers):
        if i > 0 and layer is not None and layer.input_shape is not None:
            problems.append(
                Problem(
                    ("layers", i, "input_shape"),
                    "input_shape is only allowed on the first layer (the model's input)",
                    True,
                )
            )
    if first_shape is not None and (spec.input_shape is not None or spec.inputs is not None):
        other = "input_shape" if spec.input_shape is not None else "inputs"
        problems.append(
            Problem(
                ("layers", 0, "input_shape"),
                f"the model's input is given twice (here and in the top-level '{other}')",
                True,
            )
        )
    if spec.inputs is not None:
        if spec.input_shape is not None:
            problems.append(
                Problem(("input_shape",), "give either input_shape or inputs, not both", True)
            )
        return [InputNode(n, tuple(i.shape), i.dtype) for n, i in spec.inputs.items()]
    shape = spec.input_shape if spec.input_shape is not None else first_shape
    if shape is None:
        problems.append(
            Problem(
                (),
                "the model has no input: set input_shape (top level or on "
                "the first layer) or inputs",
            )
        )
        return []
    return [InputNode("input", tuple(shape), spec.input_dtype)]


def _names(
    spec: Spec, raw_layers: list[Any], taken: set[str], problems: list[Problem]
) -> list[str]:
    """Explicit names first, then Keras-style automatic names that skip names already taken."""
    explicit = [getattr(layer, "name", None) for layer in spec.layers]
    for i, name in enumerate(explicit):
        if name is None:
            continue
        if name in taken:
            problems.append(Problem(("layers", i, "name"), f"name '{name}' is already used"))
        taken.add(name)
    counters: dict[str, int] = {}
    names = []
    for i, name in enumerate(explicit):
        if name is None:
            name = automatic_name(_type_of(spec.layers[i], raw_layers, i), counters, taken)
        names.append(name)
    return names


def automatic_name(kind: str, counters: dict[str, int], taken: set[str]) -> str:
    """Keras's automatic name of the next layer of type `kind` (`conv2d`, `conv2d_1`, ...),
    skipping names in `taken` (which it joins)."""
    # Keras names a layer after its class: Convolution2D (an alias) gives conv2d.
    prefix = snake_case(LAYERS.canonical(kind) if kind in LAYERS else kind)
    n = counters.get(prefix, 0)
    name = prefix if n == 0 else f"{prefix}_{n}"
    while name in taken:
        n += 1
        name = f"{prefix}_{n}"
    counters[prefix] = n + 1
    taken.add(name)
    return name


def _type_of(layer: Layer | None, raw_layers: list[Any], i: int) -> str:
    if layer is not None:
        return layer.type
    raw = raw_layers[i] if i < len(raw_layers) else None
    kind = raw.get("type") if isinstance(raw, dict) else None
    return kind if isinstance(kind, str) and kind.isidentifier() else "layer"


def _connect(
    spec: Spec, nodes: list[Node], inputs: list[InputNode], problems: list[Problem]
) -> None:
    known = {inp.name for inp in inputs} | {n.name for n in nodes}
    for i, node in enumerate(nodes):
        given = node.layer.inputs if node.layer is not None else None
        if given is None:
            if i > 0:
                node.inputs = [Ref(nodes[i - 1].name)]
            elif len(inputs) == 1:
                node.inputs = [Ref(inputs[0].name)]
            elif inputs and node.layer is not None:  # an invalid entry's inputs are unknown
                names = ", ".join(inp.name for inp in inputs)
                problems.append(
                    Problem(
                        ("layers", 0),
                        f"the first layer needs 'inputs': the model has several inputs ({names})",
                    )
                )
            continue
        texts = [given] if isinstance(given, str) else given
        for j, text in enumerate(texts):
            ref = parse_ref(text)
            path: Path = ("layers", i, "inputs") + ((j,) if isinstance(given, list) else ())
            if ref.node not in known:
                hint = did_you_mean(ref.node, sorted(known))
                problems.append(Problem(path, f"unknown input '{ref.node}'{hint}"))
            elif ref.node == node.name:
                problems.append(Problem(path, f"layer '{node.name}' takes its own output"))
            else:
                node.inputs.append(ref)


def layer_refs(layer: Layer | None) -> list[tuple[str, str]]:
    """(field, name) of the other layer entries an entry refers to besides its inputs (Shared's
    `layer`): they come before it in the execution order and are built before it."""
    refs = getattr(layer, "layer_refs", None)
    return refs() if refs is not None else []


def _check_layer_refs(nodes: list[Node], inputs: list[InputNode], problems: list[Problem]) -> None:
    by_name = {n.name: n for n in nodes}
    for node in nodes:
        for key, name in layer_refs(node.layer):
            path: Path = ("layers", node.index, key)
            target = by_name.get(name)
            if name == node.name:
                problems.append(Problem(path, f"layer '{name}' refers to itself"))
            elif name in {inp.name for inp in inputs}:
                problems.append(Problem(path, f"'{name}' is a model input, not a layer entry"))
            elif target is None:
                others = [n for n in by_name if n != node.name]
                problems.append(
                    Problem(path, f"unknown layer '{name}'" + did_you_mean(name, others))
                )
            elif further := layer_refs(target.layer):
                original = further[0][1]
                problems.append(
                    Problem(
                        path,
                        f"'{name}' is itself a {target.type} entry (of '{original}'): refer to "
                        f"'{original}'",
                    )
                )


def _order(nodes: list[Node], problems: list[Problem]) -> list[int]:
    """Topological order, stable in spec order; layers on a cycle are reported and left out."""
    index = {n.name: n.index for n in nodes}
    deps = {n.index: {index[r.node] for r in n.inputs if r.node in index} for n in nodes}
    for n in nodes:  # entries an entry refers to (Shared's `layer`) run first
        deps[n.index] |= {index[m] for _, m in layer_refs(n.layer) if m in index and m != n.name}
    users: dict[int, list[int]] = {n.index: [] for n in nodes}
    for i, ds in deps.items():
        for d in ds:
            users[d].append(i)
    waiting = {i: len(ds) for i, ds in deps.items()}
    ready = [i for i, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for user in users[i]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, user)
    done = set(order)
    stuck = _on_cycles({i for i in deps if i not in done}, deps)
    for n in nodes:
        if n.index in stuck:
            waits = ", ".join(sorted(nodes[d].name for d in deps[n.index] - done))
            problems.append(
                Problem(
                    ("layers", n.index, "inputs"),
                    f"'{n.name}' is on a cycle (it waits for {waits})",
                )
            )
    return order


def _on_cycles(left: set[int], deps: dict[int, set[int]]) -> set[int]:
    """Of the entries left unordered, those on a cycle: the ones only waiting for a cycle (the
    layers after it, a nested model's inside) are its consequences, not reported. Entries no
    other left entry waits for are peeled off until none is left to peel."""
    left = set(left)
    while True:
        needed = {d for i in left for d in deps[i] if d in left}
        peel = left - needed
        if not peel:
            return left
        left -= peel


def check_ref(graph: Graph, ref: Ref, path: Path) -> Problem | None:
    """A problem when `ref`'s output index does not fit its producer's outputs."""
    producer = graph.node(ref.node)
    out = producer.output if producer is not None else None
    if isinstance(out, list) and ref.index is None:
        return Problem(
            path,
            f"'{ref.node}' has {len(out)} outputs: pick one as "
            f"'{ref.node}:0' ... '{ref.node}:{len(out) - 1}'",
        )
    if ref.index is not None and out is not None:
        count = len(out) if isinstance(out, list) else 1
        if not isinstance(out, list) or ref.index >= count:
            return Problem(path, f"'{ref.node}' has {count} output(s); '{ref}' does not exist")
    if ref.index is not None and producer is None:
        return Problem(path, f"model input '{ref.node}' has a single value; drop ':{ref.index}'")
    return None


def _outputs(spec: Spec, graph: Graph) -> list[Ref]:
    given = spec.outputs
    if given is None:
        return [Ref(graph.nodes[-1].name)] if graph.nodes else []
    texts = [given] if isinstance(given, str) else given
    names = [n.name for n in graph.nodes]
    refs = []
    for j, text in enumerate(texts):
        ref = parse_ref(text)
        path = ("outputs", j) if isinstance(given, list) else ("outputs",)
        if ref.node not in names:
            graph.problems.append(
                Problem(path, f"unknown layer '{ref.node}'" + did_you_mean(ref.node, names))
            )
        elif problem := check_ref(graph, ref, path):
            graph.problems.append(problem)
        else:
            refs.append(ref)
    return refs


def _check_used(graph: Graph) -> None:
    used = {r.node for n in graph.nodes for r in n.inputs} | {r.node for r in graph.outputs}
    for n in graph.nodes:
        if n.name not in used:
            graph.problems.append(
                Problem(
                    ("layers", n.index),
                    f"the output of '{n.name}' is never used (no layer takes "
                    "it and it is not in outputs)",
                )
            )
    for inp in graph.inputs:
        if inp.name not in used:
            graph.problems.append(
                Problem(("inputs", inp.name), f"input '{inp.name}' is never used", True)
            )


def resolve(spec: Spec, raw_layers: list[Any] | None = None) -> Graph:
    """Resolve a validated spec (some layers may be None: invalid) into a Graph."""
    from .inference import infer  # inference works on this module's Graph

    problems: list[Problem] = []
    inputs = _model_inputs(spec, problems)
    names = _names(spec, raw_layers or [], {i.name for i in inputs}, problems)
    nodes = [
        Node(i, name, _type_of(layer, raw_layers or [], i), layer)
        for i, (layer, name) in enumerate(zip(spec.layers, names, strict=True))
    ]
    _connect(spec, nodes, inputs, problems)
    _check_layer_refs(nodes, inputs, problems)
    order = _order(nodes, problems)
    graph = Graph(spec.name, spec.data_format, inputs, nodes, order, [], problems)
    infer(graph, spec.data_format)
    graph.outputs = _outputs(spec, graph)
    if not problems and all(n.layer is not None for n in nodes):  # else uses are unknown
        _check_used(graph)
    return graph

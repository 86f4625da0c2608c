"""Keras's names for a netspec graph's layers: the order of `model.layers` and the group names
that a Keras 3 `.weights.h5` file gives them (snake_case class name with a counter)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..graph import Graph


def to_snake_case(name: str) -> str:
    """Keras's `naming.to_snake_case`: Conv2D -> conv2d, BatchNormalization ->
    batch_normalization."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def group_keys(layers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """{group key: layer name} of (name, Keras class) pairs in `model.layers` order, as Keras's
    saving_lib names them: the snake_case class, then `_1`, `_2`, ... per class."""
    used: dict[str, int] = {}
    keys = {}
    for name, cls in layers:
        base = to_snake_case(cls)
        used[base] = used.get(base, -1) + 1
        keys[base if used[base] == 0 else f"{base}_{used[base]}"] = name
    return keys


def keras_layer_order(graph: Graph) -> list[tuple[str, str]]:
    """(name, Keras class) of each layer of the Keras functional model of `graph`, in the order
    of its `model.layers` (Keras's `ops.function.map_graph`): by depth from the outputs
    (deepest first), then by first visit of a depth-first walk from the outputs. Inputs are
    `InputLayer`s; a Shared entry is a second call of its original layer (not a layer)."""
    calls = {n.name: n for n in graph.nodes}
    op_of = {n.name: n.layer.layer if n.type == "Shared" else n.name for n in graph.nodes}  # type: ignore[union-attr]
    op_of.update({i.name: i.name for i in graph.inputs})
    post, index = _walk(graph, calls, op_of)
    depth_of: dict[str, int] = {}
    op_depth: dict[str, int] = {}
    for call in reversed(post):
        depth = max(depth_of.setdefault(call, 0), op_depth.get(op_of[call], 0))
        op_depth[op_of[call]] = depth_of[call] = depth
        for ref in _parents(calls, call):
            depth_of[ref] = max(depth + 1, depth_of.get(ref, 0))
    for inp in graph.inputs:  # inputs that no output uses
        if inp.name not in op_depth:
            op_depth[inp.name], index[inp.name] = 0, -1
    ordered = sorted(op_depth, key=lambda op: (-op_depth[op], index[op]))
    classes = {n.name: n.type for n in graph.nodes} | {i.name: "InputLayer" for i in graph.inputs}
    return [(op, classes[op]) for op in ordered]


def _parents(calls, call: str) -> list[str]:
    node = calls.get(call)
    return [] if node is None else [ref.node for ref in node.inputs]


def _walk(graph: Graph, calls, op_of) -> tuple[list[str], dict[str, int]]:
    """Keras's `_build_map`: calls in post-order, and each operation's first-visit index."""
    done: set[str] = set()
    post: list[str] = []
    index: dict[str, int] = {}
    stack: list[tuple[str, int]] = [(ref.node, 0) for ref in reversed(graph.outputs)]
    while stack:  # iterative depth-first walk (deep graphs): (call, next parent to visit)
        call, at = stack.pop()
        if at == 0:
            if call in done:
                continue
            index.setdefault(op_of[call], len(index))
        parents = _parents(calls, call)
        if at < len(parents):
            stack.append((call, at + 1))
            if parents[at] not in done:
                stack.append((parents[at], 0))
            continue
        if call not in done:
            done.add(call)
            post.append(call)
    return post, index

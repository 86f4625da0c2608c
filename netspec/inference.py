"""Static inference over a resolved graph: each layer's shape rule, weights, dtype and mask,
in execution order, with every refusal collected as a located Problem (no torch)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

from .errors import Path, Problem
from .graph import Graph, Node, Ref, check_ref, layer_refs, value_shape
from .layers.base import Context, Layer, Shape, ShapeError, Weight, fmt_shape
from .vocab.bounds import MAX_ELEMENTS, MAX_SIZE

if TYPE_CHECKING:
    from .layers.mask_inputs import MergesMasks

# floating dtypes that Keras autocasts to float32 when a layer is called
CAST_FLOATS = ("float16", "bfloat16", "float64")


def infer(graph: Graph, ctx_format: str) -> None:
    """Shapes, dtypes, weights and masks of every node, in execution order."""
    cleared: set[tuple[str, int | None]] = set()  # values whose mask a layer has removed
    for i in graph.order:
        node = graph.nodes[i]
        if node.layer is None or not node.inputs:
            continue
        if any(_unresolved(graph, node, name) for _, name in layer_refs(node.layer)):
            continue  # reported on the reference, or on the referenced entry
        shapes: list[Shape] = []
        dtypes: list[str] = []
        for ref in node.inputs:
            problem = _ref_problem(graph, node, ref)
            if problem:
                graph.problems.append(problem)
                break
            shape, dtype = value_shape(graph, ref)
            if shape is None:
                break
            shapes.append(shape)
            dtypes.append(dtype)
        else:
            ctx = Context(ctx_format, dtypes, layers=graph.by_name)
            _apply_rule(graph, node, node.layer, shapes, ctx)
            if node.input_shapes is not None:
                _masks(graph, node, node.layer, cleared)


def _unresolved(graph: Graph, node: Node, name: str) -> bool:
    target = graph.node(name)
    return (
        name == node.name
        or target is None
        or target.input_shapes is None
        or bool(layer_refs(target.layer))
    )


def _ref_problem(graph: Graph, node: Node, ref: Ref) -> Problem | None:
    return check_ref(graph, ref, _inputs_path(node))


def _inputs_path(node: Node) -> Path:
    """The layer's `inputs` key when the spec writes one, else the layer itself."""
    written = node.layer is not None and node.layer.inputs is not None
    return ("layers", node.index, "inputs") if written else ("layers", node.index)


def _apply_rule(graph: Graph, node: Node, layer: Layer, shapes: list[Shape], ctx: Context) -> None:
    low, high = layer.arity
    if len(shapes) < low or (high is not None and len(shapes) > high):
        want = str(low) if low == high else f"{low} or more" if high is None else f"{low}-{high}"
        graph.problems.append(
            Problem(
                _inputs_path(node),
                f"{layer.type} takes {want} input(s), got {len(shapes)}",
            )
        )
        return
    try:
        node.output = layer.output_shape(shapes, ctx)
        weights = layer.weights(shapes, ctx)  # weight rules may refuse shapes too
        _check_sizes(shapes, node.output, weights)
        _check_penalties(layer, weights, node.output)
    except ShapeError as exc:
        where = exc.field or ("inputs" if layer.inputs is not None else "type")
        where = where if isinstance(where, tuple) else (where,)
        graph.problems.append(Problem(("layers", node.index, *where), str(exc)))
        return
    node.input_shapes = shapes
    node.input_dtypes = list(ctx.dtypes)
    node.weights = weights
    # Keras's layers cast floating inputs to their float32 compute dtype (Layer.__call__'s
    # autocast); layers that only move values keep integers and bools.
    kept = ctx.dtypes[0] if getattr(layer, "keeps_dtype", False) else "float32"
    node.dtype = "float32" if kept in CAST_FLOATS else kept


def _check_sizes(shapes: list[Shape], output: Shape | list[Shape], weights: list[Weight]) -> None:
    """ShapeError for a value or weight torch cannot hold: a dimension over `MAX_SIZE` or more
    than `MAX_ELEMENTS` values (`units: 0xFFFFFFFFFFFFFFFF` would validate, then overflow)."""
    values = [f"input shape {fmt_shape(s)}" for s in shapes]
    outputs = output if isinstance(output, list) else [output]
    values += [f"output shape {fmt_shape(s)}" for s in outputs]
    values += [f"weight '{w.name}' shape {tuple(w.shape)}" for w in weights]
    for what, shape in zip(values, [*shapes, *outputs, *(w.shape for w in weights)], strict=True):
        dims = [d for d in shape if d is not None]
        if any(d > MAX_SIZE for d in dims) or math.prod(dims) > MAX_ELEMENTS:
            raise ShapeError(
                f"{what} is too large for torch (at most {MAX_SIZE} per axis, "
                f"{MAX_ELEMENTS} values)"
            )


def _check_penalties(layer: Layer, weights: list[Weight], output: Shape | list[Shape]) -> None:
    """ShapeError when an initializer or regularizer cannot take its weight (Orthogonal and
    OrthogonalRegularizer: 2-D, as Keras), or the activity regularizer the layer's output."""
    fields = type(layer).model_fields
    for w in weights:
        for kind, rule in (("initializer", w.initializer), ("regularizer", w.regularizer)):
            if why := _refuses(rule, w.shape):
                key = f"{w.name}_{kind}"
                raise ShapeError(
                    f"{why} ({w.name} shape {w.shape})", key if key in fields else None
                )
    activity = layer.activity_regularizer_spec()
    for out in output if isinstance(output, list) else [output]:
        if why := _refuses(activity, (None, *out)):
            field = "activity_regularizer" if "activity_regularizer" in fields else None
            raise ShapeError(f"{why} (output shape {fmt_shape(out)})", field)


def _refuses(regularizer: object, shape: tuple[int | None, ...]) -> str | None:
    refuses = getattr(regularizer, "refuses", None)
    return refuses(shape) if refuses is not None else None


def _masks(graph: Graph, node: Node, layer: Layer, cleared: set) -> None:
    """The node's masks on both of Keras's tracks. Keras records the mask a layer's `mask=`
    argument gets when the model is built (propagated statically: `node.mask`); the masks
    MultiHeadAttention and GroupQueryAttention take (`query_mask`, `value_mask`) are read
    from the tensors when the model runs, after MultiHeadAttention has removed the masks of
    the tensors it took (`node.runtime_mask`)."""
    shapes = node.input_shapes or []
    built = [value_mask(graph, r) for r in node.inputs]
    running = [None if (r.node, r.index) in cleared else value_mask(graph, r, runtime=True)
               for r in node.inputs]  # fmt: skip
    runtime = layer.runtime_masks
    node.input_masks = running if runtime else built
    _apply_mask(graph, node, layer, shapes, built)
    node.runtime_mask = node.mask
    if running != built:  # the same rules on the masks it sees when running
        scratch = Node(node.index, node.name, node.type, layer, output=node.output)
        found = len(graph.problems)
        _apply_mask(graph, scratch, layer, shapes, running)
        del graph.problems[found:]
        node.runtime_mask = scratch.mask
    if layer.clears_input_masks:
        cleared |= {(r.node, r.index) for r in node.inputs}


def value_mask(graph: Graph, ref: Ref, runtime: bool = False) -> str | None:
    """The producer of the mask the value `ref` carries, if any."""
    node = graph.node(ref.node)
    mask = None if node is None else node.runtime_mask if runtime else node.mask
    if isinstance(mask, list):
        return mask[ref.index] if ref.index is not None and ref.index < len(mask) else None
    return mask


def _apply_mask(
    graph: Graph, node: Node, layer: Layer, input_shapes: list[Shape], masks: list[str | None]
) -> None:
    """Static mask propagation (Keras's compute_mask): which mask each output carries, and a
    located problem where a mask reaches a layer that would drop it or silently ignore it."""
    outputs = len(node.output) if isinstance(node.output, list) else None
    if layer.produces_mask():
        node.mask = node.name if outputs is None else [node.name] * outputs
        return
    sources = sorted({m for m in masks if m is not None})
    if not sources:
        return
    made_by = graph.node(sources[0])
    what = f"the mask of '{sources[0]}' ({made_by.type if made_by else 'layer'})"
    if layer.mask_inputs:
        try:
            merging = cast("MergesMasks", layer)
            node.mask = merging.merged_mask(masks, input_shapes, node.name)
        except ShapeError as exc:
            _mask_problem(graph, node, f"{what}: {exc}")
        return
    if layer.consumes_mask:
        if len(sources) > 1:
            _mask_problem(graph, node, f"{layer.type} takes one mask, got those of {sources}")
            return
        carried = layer.output_mask()
        if isinstance(carried, list):
            node.mask = [sources[0] if c else None for c in carried]
        else:
            node.mask = sources[0] if carried else None
        return
    if layer.ends_masks():
        return  # the masks stop here, on purpose
    if not layer.propagates_mask:
        _mask_problem(
            graph,
            node,
            f"{what} reaches {layer.type}, which neither uses masks nor carries them on (Keras "
            "would drop it or ignore it); masks go to recurrent layers (SimpleRNN, LSTM, GRU, "
            "RNN, Bidirectional), attention layers, merges (Add, Concatenate, ...), "
            "GlobalAveragePooling1D, through layers that keep the timesteps (Dense, "
            "Activation, Dropout, TimeDistributed, ...)",
        )
        return
    shape = node.output if not isinstance(node.output, list) else None
    masked_shapes = [s for s, m in zip(input_shapes, masks, strict=True) if m is not None]
    if len(sources) > 1 or shape is None or not _same_axes(shape[:-1], masked_shapes[0][:-1]):
        _mask_problem(
            graph,
            node,
            f"{what} covers axes {layer.type} does not keep (input "
            f"{fmt_shape(masked_shapes[0])}, output "
            f"{fmt_shape(shape) if shape is not None else node.output}): it cannot carry it on",
        )
        return
    node.mask = sources[0]


def _same_axes(a: Shape, b: Shape) -> bool:
    return len(a) == len(b) and all(
        x is None or y is None or x == y for x, y in zip(a, b, strict=True)
    )


def _mask_problem(graph: Graph, node: Node, message: str) -> None:
    graph.problems.append(Problem(_inputs_path(node), message))

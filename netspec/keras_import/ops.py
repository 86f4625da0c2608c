"""`keras.ops` nodes of functional code (`x + y`, `ops.reshape(x, (-1, 24))`, `x[:, 1:3]`) as
netspec layers: a layer with Keras's semantics where one exists (Add, Reshape, Permute, Dot,
Activation, Maximum, ...), else a Lambda expression (the safe language, netspec.expr), checked
here against the operands' saved shapes so that what cannot work is refused with its reason.
Keras 3 saves them as "layers" whose module is `keras.src.ops.*`; an op's own arguments (axis,
keepdims, newshape, ...) are in its config, the operands in its one call's args."""

from __future__ import annotations

import math
from typing import Any

from .. import expr
from ..vocab.activations import ACTIVATIONS
from .op_tables import (
    ACTIVATION_OPS,
    BINARY_FUNCTIONS,
    KNOWN,
    MERGES,
    OPERATORS,
    REDUCE,
    REDUCE_FIXED,
    UNARY,
)

Shape = tuple[int | None, ...]  # with the batch axis first, as Keras saves a tensor's shape


class _Refused(Exception):
    """Why an op has no netspec entry (returned by `op_entry` as its reason)."""


def is_op(layer: dict[str, Any]) -> bool:
    """Whether a serialized "layer" is a keras.ops node: its module says so in Keras 3's
    formats; Keras 3's legacy .h5 writes no module, and an op's config, unlike a layer's,
    has no `trainable` (its class name alone is ambiguous: ops.Add and layers.Add)."""
    module = layer.get("module")
    if isinstance(module, str):
        return module.startswith("keras.src.ops")
    config = layer.get("config")
    return (
        isinstance(config, dict)
        and "trainable" not in config
        and bool(layer.get("inbound_nodes"))
        and layer.get("class_name") != "InputLayer"
    )


def _is_tensor(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shape(tensor: dict[str, Any]) -> Shape:
    shape = (tensor.get("config") or {}).get("shape")
    if not isinstance(shape, list | tuple):
        raise _Refused("an operand without a saved shape")
    return tuple(shape)


def _literal(value: int | float) -> str:
    """A number as the Lambda language writes it; an int stays an int (as Keras's dtype rules
    keep `int_tensor * 2` an int), a negative one in parentheses (`(-1.0) ** x`)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise _Refused(f"the number {value} (not finite)")
    text = repr(value)
    return f"({text})" if value < 0 else text


def _lambda(name: str, text: str, shapes: list[Shape]) -> dict[str, Any]:
    """A Lambda entry, its expression checked on the operands' shapes (as validation will)."""
    try:
        inputs = None if len(shapes) == 1 else tuple(str(i) for i in range(len(shapes)))
        expr.infer(expr.parse(text, inputs), [(None, *s[1:]) for s in shapes])
    except expr.ExprError as exc:
        raise _Refused(f"as the Lambda expression '{text}': {exc}") from None
    return {"type": "Lambda", "name": name, "expression": text}


def _param(config: dict[str, Any], key: str) -> Any:
    if key not in config:  # a Keras that did not save it: its value is unknown
        raise _Refused(f"its config has no '{key}'")
    return config[key]


def _axes_text(axis: Any) -> str:
    if isinstance(axis, int) and not isinstance(axis, bool):
        return str(axis)
    if isinstance(axis, list | tuple) and axis and all(isinstance(a, int) for a in axis):
        return "(" + ", ".join(map(str, axis)) + ("," if len(axis) == 1 else "") + ")"
    if axis is None:
        raise _Refused("axis=None (every axis, the batch axis included)")
    raise _Refused(f"axis={axis!r}")


def _binary(kind: str, args: list[Any], name: str) -> dict[str, Any]:
    if len(args) != 2:
        raise _Refused(f"{len(args)} operands")
    if not all(_is_tensor(a) or _number(a) for a in args) or not any(map(_is_tensor, args)):
        raise _Refused("operands other than tensors and numbers")
    tensors = [a for a in args if _is_tensor(a)]
    shapes = [_shape(t) for t in tensors]
    if len(tensors) == 2 and kind in MERGES and shapes[0] == shapes[1]:
        return {"type": MERGES[kind], "name": name}  # no broadcasting: same result
    names = iter(["x"] if len(tensors) == 1 else ["x0", "x1"])
    parts = [next(names) if _is_tensor(a) else _literal(a) for a in args]
    if kind in BINARY_FUNCTIONS:
        if not _is_tensor(args[0]):  # symmetric: the tensor first, as the language wants it
            parts.reverse()
        return _lambda(name, f"{BINARY_FUNCTIONS[kind]}({', '.join(parts)})", shapes)
    return _lambda(name, f" {OPERATORS[kind]} ".join(parts), shapes)


def _item(item: Any) -> str | None:
    if isinstance(item, int) and not isinstance(item, bool):
        return str(item)
    kind = item.get("class_name") if isinstance(item, dict) else None
    if kind == "__ellipsis__":
        return "..."
    if kind == "__slice__":
        c = item.get("config") or {}
        start, stop, step = (c.get(k) for k in ("start", "stop", "step"))
        if not all(v is None or isinstance(v, int) for v in (start, stop, step)):
            return None
        text = f"{'' if start is None else start}:{'' if stop is None else stop}"
        return text + (f":{step}" if step is not None else "")
    return None


def _get_item(args: list[Any], name: str) -> dict[str, Any]:
    if len(args) != 2 or not _is_tensor(args[0]):
        raise _Refused("an index other than constants")
    items = args[1] if isinstance(args[1], list) else [args[1]]
    texts = [_item(i) for i in items]
    if any(t is None for t in texts):
        raise _Refused("an index other than ints, slices and '...'")
    return _lambda(name, f"x[{', '.join(texts)}]", [_shape(args[0])])  # type: ignore[arg-type]


def _activation(kind: str, config: dict[str, Any], name: str) -> dict[str, Any]:
    """An Activation layer; the op's arguments written where they differ from the defaults."""
    act = ACTIVATION_OPS[kind]
    fields = ACTIVATIONS.get(act).model_fields
    given: dict[str, Any] = {"type": act}
    for key, value in config.items():
        if key == "name":
            continue
        if key not in fields:
            raise _Refused(f"argument '{key}', which the activation '{act}' does not take")
        if fields[key].is_required() or value != fields[key].default:
            given[key] = value
    return {"type": "Activation", "name": name, "activation": given if len(given) > 1 else act}


def _reshape(config: dict[str, Any], shape: Shape, name: str) -> dict[str, Any]:
    """Reshape when the first entry is the batch axis: -1 with the others giving each sample's
    size exactly (else the batch axis would change size or could not be told apart)."""
    new = _param(config, "newshape")
    if not isinstance(new, list | tuple) or not new or not all(isinstance(d, int) for d in new):
        raise _Refused(f"newshape {new!r}")
    rest, size = list(new[1:]), shape[1:]
    known = all(isinstance(d, int) for d in size)
    if new[0] != -1 or -1 in rest or not known or math.prod(rest) != math.prod(size):  # type: ignore[arg-type]
        raise _Refused(
            f"newshape {list(new)} on {list(shape)}: only (-1, sizes...) keeping the batch "
            "axis, on an input of known size, has a netspec counterpart (Reshape)"
        )
    return {"type": "Reshape", "name": name, "target_shape": rest}


def _transpose(config: dict[str, Any], shape: Shape, name: str) -> dict[str, Any]:
    axes, rank = _param(config, "axes"), len(shape)
    if not isinstance(axes, list | tuple) or not all(isinstance(a, int) for a in axes):
        raise _Refused(f"axes={axes!r}: the batch axis would move (Permute keeps it first)")
    dims = [a % rank for a in axes] if all(-rank <= a < rank for a in axes) else []
    if sorted(dims) != list(range(rank)) or dims[0] != 0:
        raise _Refused(f"axes={list(axes)}: not a permutation keeping the batch axis first")
    return {"type": "Permute", "name": name, "dims": dims[1:]}


def _axis_list(value: Any, rank: int, what: str) -> list[int]:
    """Axes (an int or a list of them) in [0, rank), or refused naming `what`."""
    axes = [value] if isinstance(value, int) else value
    if not isinstance(axes, list | tuple) or not all(
        isinstance(a, int) and not isinstance(a, bool) and -rank <= a < rank for a in axes
    ):
        raise _Refused(f"{what}={value!r}")
    return [a % rank for a in axes]


def _moved(kind: str, config: dict[str, Any], shape: Shape, name: str) -> dict[str, Any]:
    """swapaxes and moveaxis as the permutation they make (Permute when the batch axis stays;
    moveaxis as numpy's: the other axes keep their order, each source goes to its place)."""
    rank = len(shape)
    keys = ("axis1", "axis2") if kind == "Swapaxes" else ("source", "destination")
    src, dst = (_axis_list(_param(config, k), rank, k) for k in keys)
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise _Refused(f"{keys[0]}={src} and {keys[1]}={dst} do not pair up")
    order = list(range(rank))
    if kind == "Swapaxes":
        order[src[0]], order[dst[0]] = dst[0], src[0]
    else:
        order = [a for a in order if a not in src]
        for d, a in sorted(zip(dst, src, strict=True)):
            order.insert(d, a)
    return _transpose({"axes": order}, shape, name)


def _cast(config: dict[str, Any], tensor: dict[str, Any], name: str) -> dict[str, Any]:
    """A cast to the dtype the tensor already has does nothing (Identity); netspec has no
    layer that changes a dtype."""
    dtype, has = _param(config, "dtype"), (tensor.get("config") or {}).get("dtype")
    if dtype != has:
        raise _Refused(f"a cast from {has} to {dtype} (netspec keeps each layer's dtype)")
    return {"type": "Identity", "name": name}


def _matmul(shapes: list[Shape], name: str) -> dict[str, Any]:
    if len(shapes) != 2 or len(shapes[0]) != 3 or len(shapes[1]) != 3:
        raise _Refused(
            "matmul other than of two tensors of rank 3 (batch axis included), which is "
            "Dot(axes=[2, 1])"
        )
    return {"type": "Dot", "name": name, "axes": [2, 1]}


def _reduce(kind: str, config: dict[str, Any], shape: Shape, name: str) -> dict[str, Any]:
    for key, fixed in REDUCE_FIXED.items():
        if config.get(key, fixed) != fixed:
            raise _Refused(f"{key}={config[key]!r}")
    axis, keepdims = _axes_text(_param(config, "axis")), _param(config, "keepdims")
    text = f"{REDUCE[kind]}(x, axis={axis}{', keepdims=True' if keepdims else ''})"
    return _lambda(name, text, [shape])


def _shaping(kind: str, config: dict[str, Any], shape: Shape, name: str) -> dict[str, Any]:
    """expand_dims and squeeze: Lambda functions of one axis (squeeze: axes)."""
    axis = _param(config, "axis")
    if kind == "ExpandDims":
        if isinstance(axis, list | tuple) and len(axis) == 1:
            axis = axis[0]
        if not isinstance(axis, int):
            raise _Refused(f"axis={axis!r} (one int has a netspec counterpart)")
        return _lambda(name, f"expand_dims(x, axis={axis})", [shape])
    return _lambda(name, f"squeeze(x, axis={_axes_text(axis)})", [shape])


def _one_tensor(args: list[Any]) -> Shape:
    if len(args) != 1 or not _is_tensor(args[0]):
        raise _Refused("operands other than one tensor")
    return _shape(args[0])


def _check_kwargs(node: dict[str, Any]) -> None:
    """Keyword arguments of the call (Keras saves an op's own arguments in its config, so
    these are operands passed by keyword, which netspec cannot route)."""
    kwargs = {k: v for k, v in (node.get("kwargs") or {}).items() if v is not None}
    if kwargs:
        raise _Refused(f"call arguments {sorted(kwargs)} passed by keyword")


def _elementwise(kind: str, config: dict[str, Any], shape: Shape, name: str) -> dict[str, Any]:
    if kind == "Clip":
        lo, hi = (_param(config, k) for k in ("x_min", "x_max"))
        if not (_number(lo) and _number(hi)):
            raise _Refused(f"bounds x_min={lo!r}, x_max={hi!r} other than numbers")
        return _lambda(name, f"clip(x, x_min={_literal(lo)}, x_max={_literal(hi)})", [shape])
    if config.get("decimals", 0) != 0:  # round's: torch's round has none
        raise _Refused(f"decimals={config['decimals']!r}")
    return _lambda(name, f"{UNARY[kind]}(x)", [shape])


def _entry(kind: str, config: dict[str, Any], name: str, args: list[Any]) -> dict[str, Any]:
    """The entry of one op kind (`_Refused` when there is none)."""
    if kind in OPERATORS or kind in BINARY_FUNCTIONS:
        return _binary(kind, args, name)
    if kind == "GetItem":
        return _get_item(args, name)
    if kind == "Concatenate":
        axis = config.get("axis", -1)
        return {"type": "Concatenate", "name": name, **({"axis": axis} if axis != -1 else {})}
    if kind == "Matmul":
        if len(args) != 2 or not all(map(_is_tensor, args)):
            raise _Refused("operands other than two tensors")
        return _matmul([_shape(a) for a in args], name)
    shape = _one_tensor(args)
    if kind in UNARY or kind == "Clip":
        return _elementwise(kind, config, shape, name)
    if kind in ACTIVATION_OPS:
        return _activation(kind, config, name)
    if kind in REDUCE:
        return _reduce(kind, config, shape, name)
    if kind in ("ExpandDims", "Squeeze"):
        return _shaping(kind, config, shape, name)
    if kind in ("Swapaxes", "Moveaxis"):
        return _moved(kind, config, shape, name)
    if kind == "Cast":
        return _cast(config, args[0], name)
    if kind == "Reshape":
        return _reshape(config, shape, name)
    return _transpose(config, shape, name)


def op_entry(layer: dict[str, Any]) -> dict[str, Any] | str:
    """The netspec entry of an ops node, or why there is none."""
    kind = layer.get("class_name", "?")
    config = layer.get("config") or {}
    name = config.get("name") or layer.get("name") or "?"
    nodes = layer.get("inbound_nodes") or []
    node = nodes[0] if len(nodes) == 1 and isinstance(nodes[0], dict) else {}
    if kind not in KNOWN:
        return f"keras.ops.{kind} is not supported by netspec import yet"
    try:
        _check_kwargs(node)
        return _entry(kind, config, name, list(node.get("args") or []))
    except _Refused as exc:
        return str(exc)

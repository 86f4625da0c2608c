"""`keras.ops` nodes of functional code (`x + y`, `2.0 * x`, `x[:, 1:3]`, `ops.concatenate`)
as netspec layers: merges where every operand is a tensor, else a Lambda expression (the safe
language, with numpy's basic indexing). Keras 3 saves them as "layers" whose module is
`keras.src.ops.*`."""

from __future__ import annotations

from typing import Any

MERGES = {"Add": "Add", "Subtract": "Subtract", "Multiply": "Multiply"}
OPERATORS = {"Add": "+", "Subtract": "-", "Multiply": "*", "TrueDivide": "/", "Divide": "/"}


def is_op(layer: dict[str, Any]) -> bool:
    module = layer.get("module")
    return isinstance(module, str) and module.startswith("keras.src.ops")


def _is_tensor(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _binary(kind: str, args: list[Any], name: str) -> dict[str, Any] | str:
    if len(args) != 2:
        return f"{len(args)} operands"
    tensors = [a for a in args if _is_tensor(a)]
    if len(tensors) == 2 and kind in MERGES:
        return {"type": MERGES[kind], "name": name}
    if len(tensors) != 1 or not any(_number(a) for a in args):
        return "operands other than tensors and numbers"
    parts = ["x" if _is_tensor(a) else repr(float(a)) for a in args]
    return {"type": "Lambda", "name": name, "expression": f" {OPERATORS[kind]} ".join(parts)}


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


def _get_item(args: list[Any], name: str) -> dict[str, Any] | str:
    if len(args) != 2 or not _is_tensor(args[0]):
        return "an index other than constants"
    items = args[1] if isinstance(args[1], list) else [args[1]]
    texts = [_item(i) for i in items]
    if any(t is None for t in texts):
        return "an index other than ints, slices and '...'"
    return {"type": "Lambda", "name": name, "expression": f"x[{', '.join(texts)}]"}  # type: ignore[arg-type]


def op_entry(layer: dict[str, Any]) -> dict[str, Any] | str:
    """The netspec entry of an ops node, or why there is none."""
    kind = layer.get("class_name", "?")
    config = layer.get("config") or {}
    name = config.get("name") or layer.get("name") or "?"
    nodes = layer.get("inbound_nodes") or []
    args = (nodes[0].get("args") or []) if len(nodes) == 1 and isinstance(nodes[0], dict) else []
    if kind in OPERATORS:
        return _binary(kind, list(args), name)
    if kind == "GetItem":
        return _get_item(list(args), name)
    if kind == "Concatenate":
        axis = config.get("axis", -1)
        return {"type": "Concatenate", "name": name, **({"axis": axis} if axis != -1 else {})}
    return f"keras.ops.{kind} is not supported by netspec import yet"

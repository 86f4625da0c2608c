"""A Keras model config as netspec spec data: a Sequential as a plain layer list with
`input_shape`, a Functional as `inputs`/`layers`/`outputs` with `inputs:` written only where a
layer does not take the previous one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..graph import automatic_name
from ..layers.base import snake_case
from .ops import is_op, op_entry
from .translate import is_custom, layer_entry

MODELS = ("Sequential", "Functional", "Model")


@dataclass
class Imported:
    """Spec data of an imported model, every layer named as in Keras (`entries`)."""

    name: str
    inputs: dict[str, dict[str, Any]]  # {name: {shape, dtype?}}
    entries: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    sequential: bool = False
    reasons: list[str] = field(default_factory=list)


def convert(config: dict[str, Any], label: str) -> Imported:
    """The model of a Keras config; unsupported things collected in `reasons`."""
    kind, inner = config.get("class_name"), config.get("config") or {}
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(inner.get("name") or "model"))
    if kind == "Sequential":
        out = _sequential(inner, name)
    elif kind in ("Functional", "Model") and "layers" in inner:
        out = _functional(inner, name)
    else:
        out = Imported(name, {})
        out.reasons.append(f"model class '{kind}' is not Sequential or Functional")
    out.reasons[:] = [f"{label}: {r}" for r in out.reasons]
    return out


def _input(config: dict[str, Any]) -> dict[str, Any]:
    shape = config.get("batch_shape") or config.get("batch_input_shape") or [None]
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name")
    out: dict[str, Any] = {"shape": list(shape[1:])}
    if dtype not in (None, "float32"):
        out["dtype"] = dtype
    return out


def _layer(layer: dict[str, Any], reasons: list[str]) -> dict[str, Any]:
    config = layer.get("config") or {}
    kind = layer.get("class_name", "?")
    name = config.get("name") or layer.get("name") or "?"
    problems: list[str] = []
    if is_custom(layer):
        problems.append(f"custom class '{layer.get('registered_name') or kind}' (not Keras's)")
    elif kind in MODELS:
        problems.append("nested models are not supported by netspec import yet")
    elif is_op(layer):  # `x + y`, `2.0 * x`, `x[:, 1:3]` of functional code
        found = op_entry(layer)
        problems += [found] if isinstance(found, str) else []
        entry = found if isinstance(found, dict) else {}
        if not problems:
            return entry
    else:
        entry = layer_entry(kind, config, problems)
    reasons.extend(f"layer '{name}' ({kind}): {p}" for p in problems)
    return {} if problems else {"type": kind, "name": name, **entry}


def _sequential(config: dict[str, Any], name: str) -> Imported:
    layers = list(config.get("layers") or [])
    first: dict[str, Any] = {}
    if layers and layers[0].get("class_name") == "InputLayer":
        first = layers.pop(0).get("config") or {}
    elif layers:
        shape = (layers[0].get("config") or {}).get("batch_input_shape")
        first = {"batch_shape": shape or config.get("build_input_shape")}
    out = Imported(name, {"input": _input(first)}, sequential=True)
    out.entries = [_layer(layer, out.reasons) for layer in layers]
    return out


def _functional(config: dict[str, Any], name: str) -> Imported:
    out = Imported(name, {})
    previous = None
    for layer in config["layers"]:
        if layer.get("class_name") == "InputLayer":
            lname = (layer.get("config") or {}).get("name") or layer.get("name")
            out.inputs[lname] = _input(layer.get("config") or {})
            previous = _single(out.inputs)
            continue
        entry = _layer(layer, out.reasons)
        refs = _refs(layer, out.reasons)
        if entry and refs != [previous]:
            entry["inputs"] = refs[0] if len(refs) == 1 else refs
        previous = (layer.get("config") or {}).get("name") or layer.get("name")
        out.entries.append(entry)
    outputs = config.get("output_layers") or []
    if outputs and not isinstance(outputs[0], list):
        outputs = [outputs]
    out.outputs = [_ref(o[0], o[2]) for o in outputs]
    return out


def _single(inputs: dict[str, Any]) -> str | None:
    return next(iter(inputs)) if len(inputs) == 1 else None


def _ref(name: str, index: int) -> str:
    return name if index == 0 else f"{name}:{index}"


def _refs(layer: dict[str, Any], reasons: list[str]) -> list[str]:
    """The tensors a layer's one call takes, as netspec references."""
    nodes = layer.get("inbound_nodes") or []
    where = f"layer '{layer.get('name')}' ({layer.get('class_name')})"
    if len(nodes) != 1:
        reasons.append(f"{where}: called {len(nodes)} times (shared layers are not supported)")
        return []
    node = nodes[0]
    if isinstance(node, list):  # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
        return [_ref(t[0], t[2]) for t in node]
    kwargs = {k: v for k, v in (node.get("kwargs") or {}).items() if v is not None}
    kwargs.pop("training", None)
    if kwargs:
        reasons.append(f"{where}: call arguments {sorted(kwargs)} are not supported")
    return [_ref(*_history(t)) for t in _tensors(node.get("args") or [])]


def _tensors(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _tensors(v)]
    return []


def _history(tensor: dict[str, Any]) -> tuple[str, int]:
    name, _, index = tensor["config"]["keras_history"]
    return name, index


def written_names(imported: Imported) -> list[str | None]:
    """Each layer's name as written: a Keras automatic name is left out where no reference
    needs it, or where netspec's automatic naming gives the same name."""
    entries = imported.entries
    referenced = {r.split(":")[0] for e in entries for r in _as_list(e.get("inputs"))}
    referenced |= {o.split(":")[0] for o in imported.outputs}
    names: list[str | None] = [e["name"] for e in entries]
    for i, entry in enumerate(entries):
        if not _automatic(entry["name"], entry["type"]):
            continue
        trial = names[:i] + [None] + names[i + 1 :]
        if _resolves(trial, entries, referenced, set(imported.inputs)):
            names = trial
    return names


def _automatic(name: str, kind: str) -> bool:
    return re.fullmatch(re.escape(snake_case(kind)) + r"(_[0-9]+)?", name) is not None


def _resolves(
    names: list[str | None], entries: list[dict[str, Any]], referenced: set, inputs: set
) -> bool:
    """Whether netspec's automatic naming gives every referenced layer its Keras name."""
    taken = {n for n in names if n is not None} | inputs
    counters: dict[str, int] = {}
    for name, entry in zip(names, entries, strict=True):
        given = name or automatic_name(entry["type"], counters, taken)
        if entry["name"] in referenced and given != entry["name"]:
            return False
    return True


def _as_list(value: Any) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)

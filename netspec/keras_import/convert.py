"""A Keras model config as one flat graph of layer calls, every layer named as in Keras: nested
`Sequential`/`Functional` models inlined (each remembered as a `Group`, which the writer turns
into a block), a layer called more than once as `Shared` entries, the masks Keras serializes
as `mask=` arguments and `NotEqual`/`Any` nodes left to netspec's own mask propagation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..layers.base import snake_case
from . import masks
from .ops import is_op, op_entry
from .translate import call_arguments, is_custom, layer_entry

MODELS = ("Sequential", "Functional", "Model")
# Tensors a layer may take by keyword, in the order netspec's `inputs` lists them.
TENSOR_KEYWORDS = ("inputs", "query", "value", "key")


@dataclass
class Call:
    """One call of a Keras layer: its netspec entry (`type`, `name` (Keras's), arguments), the
    tensors it takes (flat references `name` / `name:k`) and its innermost group."""

    entry: dict[str, Any]
    refs: list[str]
    group: int | None = None
    op: bool = False  # a keras.ops node (which drops masks, unlike layers)
    keras_class: str = ""  # Keras's class (its automatic names: `add_3` of an ops Add)

    def automatic(self) -> bool:
        """Whether its name is one Keras made (`dense_3`), not one a person chose."""
        name = self.entry["name"]
        return any(automatic(name, k) for k in (self.entry["type"], self.keras_class) if k)


@dataclass
class Group:
    """One call of a nested model, inlined as the calls `start:end` of the flat list."""

    name: str  # the instance name: the nested model's name (or its call's, when shared)
    parent: int | None
    inputs: list[str]  # the flat references it takes
    input_names: list[str]  # the nested model's own names for them
    outputs: list[str] = field(default_factory=list)
    start: int = 0
    end: int = 0
    shared: bool = False  # a further call: its layers are Shared entries


@dataclass
class Imported:
    """A Keras model as a flat graph of calls; what cannot be imported is in `reasons`."""

    name: str
    inputs: dict[str, dict[str, Any]]  # {name: {shape, dtype?}}
    calls: list[Call] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    sequential: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [c.entry for c in self.calls]


def automatic(name: str, kind: str) -> bool:
    """Whether `name` is Keras's automatic name for a layer of class `kind`."""
    return re.fullmatch(re.escape(snake_case(kind)) + r"(_[0-9]+)?", name) is not None


def clean_name(name: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(name or "model"))


def convert(config: dict[str, Any], label: str) -> Imported:
    """The flat graph of a Keras model config; unsupported things collected in `reasons`."""
    kind, inner = config.get("class_name"), config.get("config") or {}
    out = Imported(clean_name(inner.get("name")), {})
    if kind == "Sequential":
        out.sequential = True
        first = _sequential_input(inner)
        out.inputs["input"] = _input(first)
        out.outputs = _Builder(out).sequential(inner, ["input"], None, False)
    elif kind in ("Functional", "Model") and "layers" in inner:
        out.outputs = _Builder(out).functional(inner, None, None, False)
    else:
        out.reasons.append(f"model class '{kind}' is not Sequential or Functional")
    out.reasons[:] = [f"{label}: {r}" for r in out.reasons]
    return out


def _sequential_input(config: dict[str, Any]) -> dict[str, Any]:
    layers = config.get("layers") or []
    if layers and layers[0].get("class_name") == "InputLayer":
        return layers[0].get("config") or {}
    shape = (layers[0].get("config") or {}).get("batch_input_shape") if layers else None
    return {"batch_shape": shape or config.get("build_input_shape")}


def _input(config: dict[str, Any]) -> dict[str, Any]:
    shape = config.get("batch_shape") or config.get("batch_input_shape") or [None]
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name")
    out: dict[str, Any] = {"shape": list(shape[1:])}
    if dtype not in (None, "float32"):
        out["dtype"] = dtype
    return out


def layer_name(layer: dict[str, Any]) -> str:
    return str((layer.get("config") or {}).get("name") or layer.get("name") or "?")


class _Builder:
    """Appends the calls of one model (and, recursively, of its nested models) to `out`."""

    def __init__(self, out: Imported):
        self.out = out
        self.taken: set[str] = set()

    def sequential(
        self, config: dict[str, Any], refs: list[str], group: int | None, sharing: bool
    ) -> list[str]:
        """A Sequential's layers as a chain from `refs`; returns its output reference."""
        layers = [x for x in config.get("layers") or [] if x.get("class_name") != "InputLayer"]
        for layer in layers:
            name = layer_name(layer)
            if layer.get("class_name") in MODELS:
                refs = self.nested(layer, name, refs, group, sharing)
            else:
                refs = [self.add(layer, name, refs, {}, group, sharing)]
        return refs

    def functional(
        self, config: dict[str, Any], bind: dict[str, str] | None, group: int | None,
        sharing: bool,
    ) -> list[str]:  # fmt: skip
        """A Functional's calls in dependency order; `bind` maps a nested model's input names
        to the tensors it is called on (None: the model's own inputs); `sharing`: every
        layer is a further call of a layer inlined before (a nested model called again)."""
        graph = masks.MaskGraph(config.get("layers") or [])
        where: dict[tuple[str, int], list[str]] = {}  # a call's outputs, as flat references
        for layer, k in _calls(config):
            name = layer_name(layer)
            if layer.get("class_name") == "InputLayer":
                if bind is None:
                    self.out.inputs[name] = _input(layer.get("config") or {})
                    self.taken.add(name)
                where[(name, k)] = [bind.get(name, name) if bind is not None else name]
                continue
            if graph.mask_only(name):  # Keras's serialized automatic mask: netspec's own
                continue
            node = _nodes(layer)[k]
            args = [_flat(where, t) for t in _node_tensors(node, self.out.reasons, layer)]
            kwargs = _kwargs(node)
            graph.check(name, layer.get("class_name"), kwargs.pop("mask", None), self.out.reasons)
            if layer.get("class_name") in MODELS:
                where[(name, k)] = self.nested(layer, name, args, group, sharing or k > 0)
            else:
                made = self.add(layer, name, args, kwargs, group, sharing or k > 0)
                where[(name, k)] = [made]
        return [_flat(where, t) for t in _output_refs(config)]

    def add(
        self, layer: dict[str, Any], name: str, refs: list[str], kwargs: dict[str, Any],
        group: int | None, shared: bool,
    ) -> str:  # fmt: skip
        """Append one call (a further call of a layer: a Shared entry); its flat name."""
        if shared:
            made = self._unique(f"{name}_call")
            entry = {"type": "Shared", "name": made, "layer": name}
            self.out.calls.append(Call(entry, refs, group))
            return made
        self.taken.add(name)
        entry = _entry(layer, name, kwargs, self.out.reasons)
        kind = str(layer.get("class_name") or "")
        self.out.calls.append(Call(entry, refs, group, op=is_op(layer), keras_class=kind))
        return name

    def nested(
        self, layer: dict[str, Any], name: str, refs: list[str], parent: int | None,
        sharing: bool,
    ) -> list[str]:  # fmt: skip
        """A nested model's call, inlined as a group; returns its outputs."""
        config = layer.get("config") or {}
        group = Group(self._unique(f"{name}_call") if sharing else name, parent, refs, [])
        group.shared = sharing
        self.taken.add(group.name)
        self.out.groups.append(group)
        index = len(self.out.groups) - 1
        group.start = len(self.out.calls)
        if layer.get("class_name") == "Sequential":
            group.input_names = ["x"]
            group.outputs = self.sequential(config, refs, index, sharing)
        else:
            names = [layer_name(x) for x in config.get("layers") or []
                     if x.get("class_name") == "InputLayer"]  # fmt: skip
            group.input_names = names
            if len(names) != len(refs):
                kind = layer.get("class_name")
                self.out.reasons.append(
                    f"layer '{name}' ({kind}): called on {len(refs)} tensors, "
                    f"has {len(names)} inputs"
                )
            bind = dict(zip(names, refs, strict=False))
            group.outputs = self.functional(config, bind, index, sharing)
        group.end = len(self.out.calls)
        return group.outputs

    def _unique(self, base: str) -> str:
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return name


def _entry(
    layer: dict[str, Any], name: str, kwargs: dict[str, Any], reasons: list[str]
) -> dict[str, Any]:
    config = layer.get("config") or {}
    kind = layer.get("class_name", "?")
    problems: list[str] = []
    entry: dict[str, Any] = {}
    if is_custom(layer) and not is_op(layer):
        problems.append(f"custom class '{layer.get('registered_name') or kind}' (not Keras's)")
    elif is_op(layer):  # `x + y`, `2.0 * x`, `x[:, 1:3]` of functional code
        found = op_entry(layer)
        problems += [found] if isinstance(found, str) else []
        entry = found if isinstance(found, dict) else {}
    else:
        given = layer.get("registered_name") or kind  # a plugin's layer may import a custom class
        entry = layer_entry(given, config, problems, layer.get("build_config"))
        entry.update(call_arguments(entry.get("type", kind), kwargs, problems))
    reasons.extend(f"layer '{name}' ({kind}): {p}" for p in problems)
    return {**entry, "name": name} if not problems else {"type": kind, "name": name}


def _nodes(layer: dict[str, Any]) -> list[Any]:
    return list(layer.get("inbound_nodes") or [])


def _calls(config: dict[str, Any]) -> list[tuple[dict[str, Any], int]]:
    """Every (layer, call index) in an order where each call follows the calls it takes from
    (Keras lists a layer once, at its first call; a shared layer's later calls may take
    later layers)."""
    layers = list(config.get("layers") or [])
    by_name = {layer_name(x): x for x in layers}
    pending = [(x, k) for x in layers for k in range(max(1, len(_nodes(x))))]
    done: set[tuple[str, int]] = set()
    order: list[tuple[dict[str, Any], int]] = []
    while pending:
        ready = next((c for c in pending if _ready(c, done, by_name)), None)
        if ready is None:  # a cycle cannot be saved by Keras; keep Keras's order
            ready = pending[0]
        pending.remove(ready)
        done.add((layer_name(ready[0]), ready[1]))
        order.append(ready)
    return order


def _ready(call: tuple[dict[str, Any], int], done: set, by_name: dict[str, Any]) -> bool:
    return all(d in done or d[0] not in by_name for d in _deps(*call))


def _deps(layer: dict[str, Any], k: int) -> list[tuple[str, int]]:
    nodes = _nodes(layer)
    if k >= len(nodes):
        return []
    return [(h[0], h[1]) for h in _histories(nodes[k])]


def _histories(node: Any) -> list[list[Any]]:
    if isinstance(node, list):  # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
        return [list(t[:3]) for t in node]
    return [t["config"]["keras_history"] for t in _tensors(node)]


def _node_tensors(node: Any, reasons: list[str], layer: dict[str, Any]) -> list[list[Any]]:
    """The keras_history of each tensor a call takes: positional ones, then keyword ones
    (`query=`, `value=`); other tensor keywords are reported."""
    if isinstance(node, list):
        return [list(t[:3]) for t in node]
    found = [t["config"]["keras_history"] for t in _tensors(node.get("args") or [])]
    kwargs = node.get("kwargs") or {}
    for key in TENSOR_KEYWORDS:
        found += [t["config"]["keras_history"] for t in _tensors(kwargs.get(key))]
    for key, value in kwargs.items():
        if key not in (*TENSOR_KEYWORDS, "mask") and _tensors(value) and not is_op(layer):
            reasons.append(f"layer '{layer_name(layer)}' ({layer.get('class_name')}): "
                           f"a tensor as call argument '{key}' is not supported")  # fmt: skip
    return found


def _kwargs(node: Any) -> dict[str, Any]:
    """A call's keyword arguments other than tensors, `training` and Nones (mask kept)."""
    if isinstance(node, list):
        found = node[0][3] if node and len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
    else:
        found = node.get("kwargs") or {}
    out = {k: v for k, v in found.items() if v is not None and k != "training"}
    return {k: v for k, v in out.items() if k == "mask" or not _tensors(v)}


def _tensors(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict) and "class_name" not in value:
        return [t for v in value.values() for t in _tensors(v)]
    return []


def _flat(where: dict[tuple[str, int], list[str]], history: list[Any]) -> str:
    """A flat reference for Keras's (layer, call, tensor)."""
    name, k, t = history[0], history[1], history[2]
    outs = where.get((name, k))
    if outs is None or t >= len(outs) and len(outs) != 1:
        return name if t == 0 else f"{name}:{t}"
    if len(outs) == 1:
        base = outs[0]
        return base if t == 0 else f"{base.split(':')[0]}:{t}"
    return outs[t]


def _output_refs(config: dict[str, Any]) -> list[list[Any]]:
    outputs = config.get("output_layers") or []
    if outputs and not isinstance(outputs[0], list):
        outputs = [outputs]
    return [list(o) for o in outputs]

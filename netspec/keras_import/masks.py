"""Keras 3 saves the automatic masks of a functional model as graph nodes: `Embedding
(mask_zero=True)` adds `NotEqual(inputs, 0)`, `Masking` adds `Any(NotEqual(inputs,
mask_value), axis=-1)`, and each layer that receives one gets it as a `mask=` call argument.
netspec propagates those masks itself (statically, as Keras does), so such nodes and arguments
are dropped; a mask built any other way (a boolean model input, a computed mask) would be lost
and is reported instead."""

from __future__ import annotations

from typing import Any

# keras.ops nodes that compute masks from a tensor (Keras's compute_mask of Embedding/Masking,
# and merges combining masks).
MASK_OPS = {"NotEqual", "Any", "All", "LogicalAnd", "LogicalOr", "ExpandDims", "Cast"}


def _name(layer: dict[str, Any]) -> str:
    return str((layer.get("config") or {}).get("name") or layer.get("name") or "?")


def _tensor_sources(value: Any) -> list[str]:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return [value["config"]["keras_history"][0]]
    if isinstance(value, list):
        return [s for v in value for s in _tensor_sources(v)]
    return []


class MaskGraph:
    """The layers of one functional model, with how each one's output is used."""

    def __init__(self, layers: list[dict[str, Any]]):
        self.by_name = {_name(x): x for x in layers}
        self.uses: dict[str, set[str]] = {}  # {layer: {"mask", "mask-op", "arg"}}
        for layer in layers:
            for node in layer.get("inbound_nodes") or []:
                if not isinstance(node, dict):
                    continue
                kwargs = node.get("kwargs") or {}
                for source in _tensor_sources(kwargs.get("mask")):
                    self.uses.setdefault(source, set()).add("mask")
                others = [node.get("args"), *(v for k, v in kwargs.items() if k != "mask")]
                use = "mask-op" if self._is_mask_op(layer) else "arg"
                for source in _tensor_sources(others):
                    self.uses.setdefault(source, set()).add(use)

    def _is_mask_op(self, layer: dict[str, Any]) -> bool:
        from .ops import is_op

        return is_op(layer) and layer.get("class_name") in MASK_OPS

    def _sources(self, layer: dict[str, Any]) -> list[str]:
        return [s for node in layer.get("inbound_nodes") or [] if isinstance(node, dict)
                for s in _tensor_sources(node.get("args"))]  # fmt: skip

    def mask_only(self, name: str, depth: int = 0) -> bool:
        """Whether a node only computes masks (its output feeds `mask=` arguments and other
        such nodes only)."""
        layer = self.by_name.get(name)
        if layer is None or not self._is_mask_op(layer) or depth > 50:
            return False
        uses = self.uses.get(name, set())
        if not uses or "arg" in uses:
            return False
        consumers = [n for n, x in self.by_name.items()
                     if self._is_mask_op(x) and name in self._sources(x)]  # fmt: skip
        return all(self.mask_only(c, depth + 1) for c in consumers)

    def automatic(self, name: str, depth: int = 0) -> bool:
        """Whether the mask node `name` is one Keras made for an Embedding(mask_zero=True) or
        a Masking layer (a chain of mask nodes down to `NotEqual(t, value)` where t is such
        a layer's input)."""
        layer = self.by_name.get(name)
        if layer is None or not self._is_mask_op(layer) or depth > 50:
            return False
        if layer.get("class_name") != "NotEqual":
            return all(self.automatic(s, depth + 1) for s in self._sources(layer))
        sources = self._sources(layer)
        return len(sources) == 1 and any(self._masks(sources[0], x) for x in self.by_name.values())

    def _masks(self, tensor: str, layer: dict[str, Any]) -> bool:
        """Whether `layer` is a masking layer that takes `tensor`."""
        config = layer.get("config") or {}
        kind = layer.get("class_name")
        masking = kind == "Masking" or (kind == "Embedding" and config.get("mask_zero"))
        return bool(masking) and tensor in self._sources(layer)

    def check(self, name: str, kind: Any, mask: Any, reasons: list[str]) -> None:
        """A `mask=` argument netspec reproduces passes; any other is reported."""
        if all(self.automatic(s) for s in _tensor_sources(mask)):
            return
        reasons.append(f"layer '{name}' ({kind}): a mask passed explicitly (mask=...) is not "
                       "supported: netspec propagates Keras's automatic masks only "
                       "(Embedding mask_zero, Masking)")  # fmt: skip

"""The imported model as one flat spec with Keras's layer names and every input written (the
spec Keras's weights are loaded into), and the masks Keras drops made explicit: a keras.ops
node drops the masks of its inputs (ops know nothing of masks), and so does a layer that
neither uses nor carries them (Keras warns "will destroy the mask"); netspec says it with
`drops_mask: true` on the Lambda of the op, or on an identity Lambda put before the layer."""

from __future__ import annotations

from typing import Any

from .convert import Call, Imported

MAX_PASSES = 100


def top_keys(imported: Imported, outputs: list[str] | None) -> dict[str, Any]:
    top: dict[str, Any] = {"netspec": 1, "name": imported.name}
    if imported.sequential:
        (only,) = imported.inputs.values()
        top["input_shape"] = only["shape"]
        if "dtype" in only:
            top["input_dtype"] = only["dtype"]
    else:
        top["inputs"] = imported.inputs
    if outputs is not None:
        top["outputs"] = outputs[0] if len(outputs) == 1 else outputs
    return top


def flat_spec(imported: Imported, channels_first: bool = False) -> dict[str, Any]:
    """The model as one flat spec: Keras's layer names, every `inputs` written."""
    top = top_keys(imported, imported.outputs)
    if channels_first:
        top["data_format"] = "channels_first"
    layers = []
    for call in imported.calls:
        refs = call.refs
        layers.append({**call.entry, "inputs": refs[0] if len(refs) == 1 else refs})
    return {**top, "layers": layers}


# A keras.ops merge of two tensors as a Lambda expression (which can drop masks).
MERGES = {"Add": "x0 + x1", "Subtract": "x0 - x1", "Multiply": "x0 * x1",
          "Maximum": "maximum(x0, x1)", "Minimum": "minimum(x0, x1)"}  # fmt: skip
MASKING = ("Embedding", "Masking")


def drop_masks(imported: Imported, channels_first: bool) -> None:
    """Make every mask Keras drops dropped in the spec too, first one first (a drop changes
    which values downstream are masked). In a model with masks, every keras.ops node written
    as a Lambda or a merge says `drops_mask: true` (also where its inputs happen to be
    unmasked: the same code then gives the same entries, and repeated blocks stay one)."""
    if not any(c.entry["type"] in MASKING for c in imported.calls):
        return
    for call in imported.calls:
        if call.op and call.entry["type"] == "Lambda":
            call.entry["drops_mask"] = True
        elif call.op and call.entry["type"] in MERGES and len(call.refs) == 2:
            name = call.entry["name"]
            call.entry = {"type": "Lambda", "name": name, "expression": MERGES[call.entry["type"]],
                          "drops_mask": True}  # fmt: skip
    for _ in range(MAX_PASSES):
        found = _first_drop(imported, channels_first)
        if found is None:
            return
        at, masked = found
        _drop(imported, at, masked)


def _first_drop(imported: Imported, channels_first: bool) -> tuple[int, list[int]] | None:
    """(the first call that must drop its inputs' masks, which inputs are masked), or None."""
    from pydantic import ValidationError

    from ..graph import resolve
    from ..spec import Spec

    data = flat_spec(imported, channels_first)
    try:
        spec = Spec.model_validate(data)
    except ValidationError:
        return None  # reported by the validation of the written spec
    graph = resolve(spec, data["layers"])
    for i, (call, node) in enumerate(zip(imported.calls, graph.nodes, strict=True)):
        masked = [k for k, m in enumerate(node.input_masks) if m is not None]
        layer = node.layer
        if not masked or layer is None or call.entry.get("drops_mask"):
            continue
        carries = layer.propagates_mask or layer.consumes_mask or layer.mask_inputs
        if call.op or not (carries or layer.produces_mask()):
            return i, masked
    return None


def _drop(imported: Imported, at: int, masked: list[int]) -> None:
    call = imported.calls[at]
    if call.entry["type"] == "Lambda":
        call.entry["drops_mask"] = True
        return
    taken = {c.entry["name"] for c in imported.calls}
    for k in masked:  # an identity Lambda that drops the mask, before the layer
        ref = call.refs[k]
        name, n = f"{ref.split(':')[0]}_unmasked", 1
        while name in taken:
            n += 1
            name = f"{ref.split(':')[0]}_unmasked_{n}"
        taken.add(name)
        entry = {"type": "Lambda", "name": name, "expression": "x", "drops_mask": True}
        imported.calls.insert(at, Call(entry, [ref], call.group))
        _shift(imported, at)
        call.refs = [name if r == ref else r for r in call.refs]
        at += 1


def _shift(imported: Imported, at: int) -> None:
    """Group ranges after a call is inserted at `at`, inside the groups of the call there."""
    for g in imported.groups:
        if g.start > at:
            g.start += 1
        if g.end > at:
            g.end += 1

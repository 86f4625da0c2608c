"""The imported model's Keras weights in netspec's layout (a safetensors file): the spec built
with every Keras layer name, the Keras file loaded into it, and the tensors renamed to the
names the written spec resolves to (imports torch when called)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_weights(full: dict[str, Any], written: Any, source: Path, target: Path) -> None:
    """Load `source` (a .keras or Keras 2 .h5 model) into the model of `full` (spec data whose
    layers carry Keras's names) and save it to `target` under the names of `written` (the
    ValidSpec of the spec as written, the same layers in the same order)."""
    import netspec
    from netspec.training.output.runs import load_weights, write_tensors

    valid = netspec.from_data(full, file=str(source))
    model = netspec.build(valid, device="cpu")
    load_weights(model, source, graph=valid.graph)
    rename = {
        f"layers.{a.name}.": f"layers.{b.name}."
        for a, b in zip(valid.graph.nodes, written.graph.nodes, strict=True)
    }
    state = {}
    for key, value in model.state_dict().items():
        prefix = next((p for p in rename if key.startswith(p)), None)
        state[rename[prefix] + key[len(prefix) :] if prefix else key] = value
    write_tensors(target, state)

"""torch.export: an ExportedProgram with the same dynamic axes as the ONNX file (the batch, and
each `null` axis of the spec where the model leaves it free), saved as a .pt2 by
`torch.export.save` and loaded back by `torch.export.load` for the check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..errors import NetspecError
from .common import (
    EXPORT_BATCH,
    EXPORT_VAR,
    Exported,
    dynamic_axes,
    output_names,
    sample_inputs,
)
from .quiet import quiet


def exported_program(model, graph):
    """`torch.export.export` of `model` on a sample batch: the batch one named axis of every
    input; a variable axis left to the exporter (AUTO), which keeps it free unless the model
    fixes it (the report says which)."""
    from torch.export import Dim

    batch = Dim("batch")
    names = [i.name for i in graph.inputs]
    axes = dynamic_axes(graph)
    per_input = tuple({k: batch if k == 0 else Dim.AUTO for k in axes[n]} for n in names)
    args = tuple(sample_inputs(graph, EXPORT_BATCH, EXPORT_VAR))
    with quiet():
        # forward(*inputs): the dynamic shapes of the varargs are one tuple
        return torch.export.export(model, args, dynamic_shapes=(per_input,))


def export_program(model, graph, path: Path) -> Exported:
    """Write `model` to `path`: inputs' and outputs' axes as exported."""
    program = exported_program(model, graph)
    with quiet():
        torch.export.save(program, str(path))
    inputs, outputs, _ = program_axes(program, graph)
    return Exported(path, "torch-export", "torch.export", None, inputs, outputs)


def program_axes(program, graph) -> tuple[dict, dict, dict[str, str]]:
    """Shapes of the program's user inputs and outputs; a free axis by the name the ONNX file
    gives it (`batch`, `<input>_<axis>`), an expression of those by its text; and the names of
    the program's symbols."""
    from torch.fx.experimental.symbolic_shapes import is_concrete_int

    signature = program.graph_signature
    nodes = {n.name: n for n in program.graph.nodes}

    def dims(name: str) -> tuple:
        # A size the exporter fixed may still be a SymInt: concrete ones become ints.
        shape = getattr(nodes[name].meta.get("val"), "shape", ())
        return tuple(int(d) if is_concrete_int(d) else d for d in shape)

    inputs = [s.arg.name for s in signature.input_specs if s.kind.name == "USER_INPUT"]
    outputs = [s.arg.name for s in signature.output_specs if s.kind.name == "USER_OUTPUT"]
    axes = dynamic_axes(graph)
    symbols: dict[str, str] = {}
    for inp, name in zip(graph.inputs, inputs, strict=True):
        for k, d in enumerate(dims(name)):
            if not isinstance(d, int) and k in axes[inp.name]:
                symbols.setdefault(str(d), axes[inp.name][k])

    def shape(name: str) -> tuple:
        return tuple(d if isinstance(d, int) else symbols.get(str(d), str(d)) for d in dims(name))

    return (
        {i.name: shape(n) for i, n in zip(graph.inputs, inputs, strict=True)},
        {r: shape(n) for r, n in zip(output_names(graph), outputs, strict=True)},
        symbols,
    )


def program_runner(path: Path) -> Callable[[list[torch.Tensor]], list[np.ndarray]]:
    """Run the saved program through `torch.export.load(...).module()`."""
    with quiet():
        module = torch.export.load(str(path)).module()

    def run(inputs: list[torch.Tensor]) -> list[np.ndarray]:
        try:
            with torch.no_grad(), quiet():
                out = module(*inputs)
        except Exception as exc:  # noqa: BLE001 - the program's guards, shape errors
            raise NetspecError(f"the loaded program cannot run: {_first_line(exc)}") from None
        outs = out if isinstance(out, tuple | list) else (out,)
        return [o.detach().numpy() for o in outs]

    return run


def try_program_layer(module, args: tuple, kwargs: dict) -> None:
    """One layer alone through torch.export (to find the layer that fails)."""
    with quiet():
        torch.export.export(module, args, kwargs=kwargs)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__

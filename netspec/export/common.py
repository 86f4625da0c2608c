"""What both formats share: the result and its report, the dynamic axes of the spec's inputs,
sample batches, and the comparison of an exported file's outputs with the netspec module's."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import NetspecError

# Relative tolerance of the check: the largest difference over the largest magnitude of the
# netspec module's output (an integer or bool output must be equal).
TOLERANCE = 1e-5
# The batch sizes the check runs (1, and one more, to prove the batch axis dynamic); the batch
# of the sample given to the exporter (2 or more: torch.export specialises a size-1 axis).
CHECK_BATCHES = (1, 5)
EXPORT_BATCH = 3
# The sizes a variable (`null`) axis gets: at export, and at each check batch.
EXPORT_VAR = 8
CHECK_VARS = (8, 6)
TORCH_DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int64": torch.int64,
    "int32": torch.int32,
    "int16": torch.int16,
    "int8": torch.int8,
    "uint8": torch.uint8,
    "bool": torch.bool,
}


@dataclass
class Exported:
    """What `export_spec` wrote: `report()` is what the command prints."""

    path: Path
    fmt: str
    exporter: str  # "dynamo", "torchscript" (ONNX), or "torch.export"
    opset: int | None
    # name -> (shape with the batch axis, each axis an int or the name of a dynamic axis)
    inputs: dict[str, tuple] = field(default_factory=dict)
    outputs: dict[str, tuple] = field(default_factory=dict)
    max_difference: float = 0.0
    batches: tuple[int, ...] = CHECK_BATCHES
    # Why the dynamo exporter failed, when the TorchScript one wrote the file instead (the
    # error to locate if that file fails the check too).
    dynamo_error: BaseException | None = field(default=None, repr=False)

    def report(self) -> str:
        how = f"opset {self.opset}, {self.exporter} exporter" if self.opset else self.exporter
        if self.dynamo_error is not None:
            how += " (the dynamo exporter failed)"
        lines = [f"wrote {self.path} ({self.fmt}: {how})"]
        for kind, values in (("input", self.inputs), ("output", self.outputs)):
            for name, shape in values.items():
                dims = ", ".join(str(d) for d in shape)
                lines.append(f"  {kind} {name}: ({dims})")
        sizes = " and ".join(str(b) for b in self.batches)
        lines.append(
            f"checked at batch {sizes}: max relative difference {self.max_difference:.2e} "
            f"(tolerance {TOLERANCE:g})"
        )
        return "\n".join(lines)


def output_names(graph) -> list[str]:
    """The names of the model's output tensors: the spec's outputs, a multi-output layer named
    whole giving `name:0`, `name:1`, ... (as `outputs:` would name each)."""
    names = []
    for ref in graph.outputs:
        node = graph.node(ref.node)
        if ref.index is None and node is not None and isinstance(node.output, list):
            names += [f"{ref.node}:{k}" for k in range(len(node.output))]
        else:
            names.append(str(ref))
    return names


def input_bounds(graph) -> dict[str, int]:
    """Index inputs (those a layer with `input_dim` reads, as Embedding): their upper bound."""
    bounds: dict[str, int] = {}
    for node in graph.nodes:
        bound = getattr(node.layer, "input_dim", None)
        if not isinstance(bound, int):
            continue
        for ref in node.inputs:
            bounds[ref.node] = min(bounds.get(ref.node, bound), bound)
    return bounds


def sample_inputs(graph, batch: int, var: int, seed: int = 0) -> list[torch.Tensor]:
    """Random inputs of the spec's shapes and dtypes, `var` for each variable axis; indices
    within `input_dim` for index inputs, 0..4 for other integers, 0/1 for bools."""
    gen = torch.Generator().manual_seed(seed)
    bounds = input_bounds(graph)
    out = []
    for inp in graph.inputs:
        shape = (batch, *(var if d is None else d for d in inp.shape))
        dtype = TORCH_DTYPES[inp.dtype]
        bound = bounds.get(inp.name)
        if dtype.is_floating_point and bound is None:
            x = torch.randn(shape, generator=gen)
        else:
            high = bound or (2 if dtype == torch.bool else 5)
            x = torch.randint(0, high, shape, generator=gen)
        out.append(x.to(dtype))
    return out


def dynamic_axes(graph) -> dict[str, dict[int, str]]:
    """Per input, the axes left free: the batch (0) and every `null` axis of the spec."""
    return {
        inp.name: {0: "batch"}
        | {k + 1: f"{inp.name}_{k + 1}" for k, d in enumerate(inp.shape) if d is None}
        for inp in graph.inputs
    }


def reference(model, inputs: list[torch.Tensor]) -> list[np.ndarray]:
    """The netspec module's outputs, as numpy arrays (float32 stays float32)."""
    with torch.no_grad():
        out = model(*inputs)
    outs = out if isinstance(out, tuple | list) else (out,)
    return [o.detach().cpu().numpy() for o in outs]


def difference(got: list[np.ndarray], want: list[np.ndarray], names: list[str]) -> float:
    """The largest relative difference over the outputs; raises on a shape or dtype mismatch."""
    if len(got) != len(want):
        raise NetspecError(f"the exported model gives {len(got)} outputs, netspec {len(want)}")
    worst = 0.0
    for name, g, w in zip(names, got, want, strict=True):
        g = np.asarray(g)
        if g.shape != w.shape:
            raise NetspecError(f"output '{name}': shape {g.shape}, netspec gives {w.shape}")
        if w.dtype.kind in "biu":
            worst = max(worst, 0.0 if np.array_equal(g, w) else float("inf"))
            continue
        g64, w64 = g.astype(np.float64), w.astype(np.float64)
        both_nan = np.isnan(g64) & np.isnan(w64)  # the same NaN on both sides agrees
        diff = np.where(both_nan, 0.0, np.abs(g64 - w64)).max(initial=0.0)
        scale = max(float(np.nanmax(np.abs(w64), initial=0.0)), 1e-30)
        worst = max(worst, float(diff) / scale if np.isfinite(diff) else float("inf"))
    return worst

"""Torch module of the elementwise merge layers (Add, Average, Subtract, Multiply, Maximum,
Minimum)."""

from __future__ import annotations

import torch
from torch import nn

from .base import as_float

_BINARY = {
    "add": torch.add,
    "average": torch.add,
    "subtract": torch.sub,
    "multiply": torch.mul,
    "maximum": torch.maximum,
    "minimum": torch.minimum,
}


class ElementwiseModule(nn.Module):
    """Keras's elementwise merges. Inputs of lower rank get size-1 axes after the batch axis
    (Keras's `expand_dims(x, 1)`), then torch broadcasting does the rest."""

    def __init__(self, op: str, ranks: list[int]):
        super().__init__()
        self.op_name = op
        self.op = _BINARY[op]
        top = max(ranks)
        # An index adding the missing axes after the batch axis, or None when there are none.
        self.expand = [None if r == top else (slice(None), *([None] * (top - r))) for r in ranks]
        self.count = len(ranks)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        op, expand = self.op, self.expand
        out = as_float(xs[0] if expand[0] is None else xs[0][expand[0]])
        for x, index in zip(xs[1:], expand[1:], strict=True):
            out = op(out, as_float(x if index is None else x[index]))
        return out / self.count if self.op_name == "average" else out

    def extra_repr(self) -> str:
        return f"{self.op_name}, inputs={self.count}"

    def compute_mask(self, *xs: torch.Tensor, mask: list[torch.Tensor | None]) -> torch.Tensor:
        """Keras's Merge.compute_mask (every input masked here): the OR of the masks."""
        out = mask[0]
        for m in mask[1:]:
            out = out | m
        return out

"""Torch modules of the merge layers (Add ... Minimum, Concatenate, Dot)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .core_layers import as_float

EPSILON = 1e-7  # keras.config.epsilon(), the floor of the norms in Dot(normalize=True)
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


class ConcatenateModule(nn.Module):
    """Keras Concatenate along `axis` (non-negative, counted with the batch axis)."""

    def __init__(self, axis: int):
        super().__init__()
        self.axis = axis

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class DotModule(nn.Module):
    """Keras's `batch_dot` along axis a1 of x and a2 of y (both counted with the batch axis):
    x's other axes, then y's, as one batched matmul on (batch, m, k) @ (batch, k, n) views."""

    def __init__(self, a1: int, a2: int, normalize: bool):
        super().__init__()
        self.a1, self.a2, self.normalize = a1, a2, normalize

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x, y = as_float(x), as_float(y)
        if self.normalize:
            x = F.normalize(x, dim=self.a1, eps=EPSILON)
            y = F.normalize(y, dim=self.a2, eps=EPSILON)
        x = x.movedim(self.a1, -1)  # (batch, *xs, k)
        y = y.movedim(self.a2, 1)  # (batch, k, *ys)
        batch, k = x.shape[0], x.shape[-1]
        out = torch.bmm(x.reshape(batch, -1, k), y.reshape(batch, k, -1))
        shape = (*x.shape[:-1], *y.shape[2:])
        return out.reshape(shape if len(shape) > 1 else (batch, 1))

    def extra_repr(self) -> str:
        return f"axes=({self.a1}, {self.a2}), normalize={self.normalize}"

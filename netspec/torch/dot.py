"""Torch module of the Dot layer."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import as_float

EPSILON = 1e-7  # keras.config.epsilon(), the floor of the norms in Dot(normalize=True)


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

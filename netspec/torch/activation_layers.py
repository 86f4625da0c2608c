"""Torch modules of the activation layers that are not one vocabulary function (PReLU, and
Softmax over several axes); imported by builders."""

from __future__ import annotations

import torch
from torch import nn

from .base import as_float
from .weights import create_weight


class PReLUModule(nn.Module):
    """Keras PReLU: `x` where x >= 0, `alpha * x` below (alpha broadcast over the batch)."""

    def __init__(self, weights, ctx):
        super().__init__()
        create_weight(self, weights[0], ctx)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = as_float(x)
        return torch.where(x >= 0, x, x * self.alpha)


class SoftmaxModule(nn.Module):
    """Keras Softmax over several axes: `exp(x - logsumexp(x, axes))`."""

    def __init__(self, axes: tuple[int, ...]):
        super().__init__()
        self.axes = axes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = as_float(x)
        return torch.exp(x - torch.logsumexp(x, dim=self.axes, keepdim=True))

    def extra_repr(self) -> str:
        return f"axis={self.axes}"

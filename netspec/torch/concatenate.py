"""Torch module of the Concatenate layer."""

from __future__ import annotations

import torch
from torch import nn


class ConcatenateModule(nn.Module):
    """Keras Concatenate along `axis` (non-negative, counted with the batch axis)."""

    def __init__(self, axis: int):
        super().__init__()
        self.axis = axis

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"

"""Torch module of the RepeatVector layer."""

from __future__ import annotations

import torch
from torch import nn


class RepeatVectorModule(nn.Module):
    """Keras RepeatVector: (batch, f) -> (batch, n, f), as a broadcast view."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1).expand(-1, self.n, -1)

    def extra_repr(self) -> str:
        return f"n={self.n}"

"""Torch module of the Permute layer."""

from __future__ import annotations

import torch
from torch import nn


class PermuteModule(nn.Module):
    """Keras Permute (1-based dims, batch axis fixed): a view."""

    def __init__(self, dims: tuple[int, ...]):
        super().__init__()
        self.perm = (0, *dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.perm)

    def extra_repr(self) -> str:
        return f"perm={self.perm}"

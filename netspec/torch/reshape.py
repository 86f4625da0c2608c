"""Torch module of the Reshape layer."""

from __future__ import annotations

import torch
from torch import nn


class ReshapeModule(nn.Module):
    """Keras Reshape to (batch, *target) (-1 for the size left to infer)."""

    def __init__(self, target: tuple[int, ...]):
        super().__init__()
        self.target = target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.target)

    def extra_repr(self) -> str:
        return f"target={self.target}"

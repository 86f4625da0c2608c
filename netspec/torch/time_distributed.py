"""Torch module of the TimeDistributed wrapper."""

from __future__ import annotations

import torch
from torch import nn


class TimeDistributedModule(nn.Module):
    """Keras TimeDistributed: `layer` on (batch * timesteps, ...), reshaped back."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps = x.shape[0], x.shape[1]
        y = self.layer(x.reshape(batch * steps, *x.shape[2:]))
        return y.reshape(batch, steps, *y.shape[1:])

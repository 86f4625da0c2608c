"""Torch module of the Flatten layer."""

from __future__ import annotations

import torch
from torch import nn


class FlattenModule(nn.Module):
    """Keras Flatten: channels_first inputs (rank >= 3) are flattened in channels_last order."""

    def __init__(self, channels_first: bool):
        super().__init__()
        self.channels_first = channels_first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 1:
            return x.unsqueeze(1)
        if self.channels_first:
            x = x.movedim(1, -1)
        return x.reshape(x.shape[0], -1)

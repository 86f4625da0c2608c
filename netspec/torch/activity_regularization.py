"""Torch module of ActivityRegularization (the penalty itself is the model's activity loss)."""

from __future__ import annotations

import torch
from torch import nn

from .base import as_float


class FloatIdentity(nn.Module):
    """Identity (ActivityRegularization); integer inputs come out as float32."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return as_float(x)

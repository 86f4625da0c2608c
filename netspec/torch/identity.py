"""Torch module of the Identity layer (imported by its builder)."""

from __future__ import annotations

import torch
from torch import nn


class IdentityModule(nn.Module):
    """Keras Identity: the input itself (no copy, dtype kept)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

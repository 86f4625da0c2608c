"""Torch modules of LayerScale and CustomScaleLayer (imported by their builders)."""

from __future__ import annotations

import torch
from torch import nn

from .base import as_float
from .weights import create_weight


class LayerScaleModule(nn.Module):
    """ConvNeXt's LayerScale: `x * gamma`, gamma of shape (projection_dim,) on the last axis."""

    def __init__(self, weights, ctx):
        super().__init__()
        for w in weights:
            create_weight(self, w, ctx)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return as_float(x) * self.gamma


class CustomScaleModule(nn.Module):
    """InceptionResNetV2's CustomScaleLayer: `x + up * scale`."""

    def __init__(self, scale: float):
        super().__init__()
        self.scale = float(scale)

    def forward(self, x: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
        return as_float(x) + as_float(up) * self.scale

    def extra_repr(self) -> str:
        return f"scale={self.scale}"

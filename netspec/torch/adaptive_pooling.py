"""Torch module of the adaptive pooling layers (imported by their builders)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_MAX = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}
_AVG = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}


class AdaptivePoolModule(nn.Module):
    """Keras AdaptiveAveragePooling / AdaptiveMaxPooling (1D, 2D, 3D), as Keras's torch backend
    computes them: torch's adaptive pooling on the channels-first view of the input
    (channels_last inputs are viewed so and back, as Keras transposes them). Integer and bool
    inputs are pooled as float32."""

    def __init__(self, mode: str, output_size: tuple[int, ...], channels_last: bool):
        super().__init__()
        self.mode = mode
        self.output_size = tuple(output_size)
        self.channels_last = channels_last
        self.fn = (_MAX if mode == "max" else _AVG)[len(self.output_size)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not x.is_floating_point():
            x = x.float()
        if self.channels_last:
            x = x.movedim(-1, 1)
        y = self.fn(x, self.output_size)
        return y.movedim(1, -1) if self.channels_last else y

    def extra_repr(self) -> str:
        return f"{self.mode}, output_size={self.output_size}"

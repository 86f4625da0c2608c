"""Torch module of Dropout, which SpatialDropout1D/2D/3D build too (a mask broadcast over the
spatial axes)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .random import SeededModule


class DropoutModule(SeededModule):
    """Keras Dropout: in training mode, zeroes elements with probability `rate` and scales the
    rest by 1 / (1 - rate); the mask has `noise_shape` (None entries: the input's size) and is
    broadcast over the input. A seed gives the layer its own generators (`SeededModule`)."""

    def __init__(self, rate: float, noise_shape, seed: int | None):
        super().__init__(seed)
        self.rate = float(rate)
        self.noise_shape = tuple(noise_shape) if noise_shape is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        if self.noise_shape is None and self.seed is None:
            return F.dropout(x, self.rate, training=True)
        keep = 1.0 - self.rate
        shape = (
            x.shape
            if self.noise_shape is None
            else [d if n is None else n for n, d in zip(self.noise_shape, x.shape, strict=True)]
        )
        mask = self.keep_mask(shape, keep, x.device)
        return torch.where(mask.bool(), x / keep, torch.zeros((), dtype=x.dtype, device=x.device))

    def extra_repr(self) -> str:
        return f"rate={self.rate}, noise_shape={self.noise_shape}, seed={self.seed}"

"""Torch module of the (preprocessing) Normalization layer (imported by its builder)."""

from __future__ import annotations

import torch
from torch import nn

from ..layers.preprocessing_normalization import EPSILON
from .weights import create_weight


class NormalizationModule(nn.Module):
    """Keras Normalization: `(x - mean) / max(sqrt(variance), epsilon)`, or its inverse, in
    float32. The statistics are either given (`stats`: mean, variance and the shape Keras
    reshapes them to; non-persistent buffers, Keras has no weights then) or Keras's
    non-trainable weights mean, variance and count (count unused, as in Keras's call), viewed
    in `broadcast` shape (batch axis 1, the kept axes' sizes, others 1)."""

    def __init__(self, weights, ctx, broadcast: tuple[int, ...], stats, invert: bool):
        super().__init__()
        for w in weights:
            create_weight(self, w, ctx)
        if stats is not None:
            mean, variance, shape = stats
            for name, value in (("mean", mean), ("variance", variance)):
                tensor = torch.tensor(value, dtype=torch.float32).reshape(shape)
                tensor = tensor.expand(broadcast).contiguous()  # Keras's broadcast_to
                self.register_buffer(name, tensor, persistent=False)
        self.broadcast = broadcast
        self.invert = invert

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = self.mean.reshape(self.broadcast)
        std = self.variance.reshape(self.broadcast).sqrt().clamp_min(EPSILON)
        x = x if x.dtype == mean.dtype else x.to(mean.dtype)
        return mean + x * std if self.invert else (x - mean) / std

    def extra_repr(self) -> str:
        return f"broadcast={self.broadcast}, invert={self.invert}"

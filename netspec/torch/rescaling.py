"""Torch module of the Rescaling layer (imported by its builder)."""

from __future__ import annotations

import torch
from torch import nn


class RescalingModule(nn.Module):
    """Keras Rescaling: `x * scale + offset` in float32 (the input cast first, as Keras casts
    it to its compute dtype). `scale` and `offset` are constants (non-persistent buffers: no
    weights, nothing in the state dict), `scale` reshaped to `scale_shape` (Keras's
    channels_first reshape)."""

    def __init__(self, scale, scale_shape: tuple[int, ...], offset):
        super().__init__()
        value = torch.tensor(scale, dtype=torch.float32).reshape(scale_shape)
        self.register_buffer("scale", value, persistent=False)
        self.register_buffer("offset", torch.tensor(offset, dtype=torch.float32), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x if x.dtype == self.scale.dtype else x.to(self.scale.dtype)
        return x * self.scale + self.offset

    def extra_repr(self) -> str:
        return f"scale_shape={tuple(self.scale.shape)}, offset_shape={tuple(self.offset.shape)}"

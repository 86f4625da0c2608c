"""Torch module of the global pooling layers (GlobalMaxPooling1D/2D/3D,
GlobalAveragePooling1D/2D/3D)."""

from __future__ import annotations

import torch
from torch import nn

from .base import as_float


class GlobalPoolModule(nn.Module):
    """Keras GlobalMaxPooling / GlobalAveragePooling: max or mean over the spatial axes; for
    GlobalAveragePooling1D with a timestep mask, the mean over the valid steps (Keras's)."""

    def __init__(self, mode: str, dims: tuple[int, ...], keepdims: bool):
        super().__init__()
        self.mode = mode
        self.dims = dims
        self.keepdims = keepdims

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = as_float(x)
        if self.mode == "max":
            return x.amax(dim=self.dims, keepdim=self.keepdims)
        if mask is None:
            return x.mean(dim=self.dims, keepdim=self.keepdims)
        # GlobalAveragePooling1D with a (batch, steps) timestep mask: Keras's masked mean.
        if self.dims != (1,):
            raise ValueError(
                "GlobalAveragePooling1D with channels_first cannot use a (batch, steps) "
                "timestep mask: its steps are the last axis"
            )
        valid = mask.unsqueeze(-1).bool()
        total = torch.where(valid, x, 0).sum(dim=1, keepdim=self.keepdims)
        return total / valid.to(x.dtype).sum(dim=1, keepdim=self.keepdims)

    def extra_repr(self) -> str:
        return f"{self.mode}, dims={self.dims}, keepdims={self.keepdims}"

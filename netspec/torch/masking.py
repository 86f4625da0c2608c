"""Torch module of the Masking layer."""

from __future__ import annotations

import torch
from torch import nn


class MaskingModule(nn.Module):
    """Keras Masking: zeroes the steps whose features all equal `mask_value`; `compute_mask`
    gives the mask (True: a valid step) that the model hands to the layers that use it."""

    def __init__(self, mask_value: float):
        super().__init__()
        self.mask_value = float(mask_value)

    def compute_mask(self, x: torch.Tensor) -> torch.Tensor:
        return (x != self.mask_value).any(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x if x.is_floating_point() else x.float()
        keep = (x != self.mask_value).any(-1, keepdim=True)
        return torch.where(keep, x, torch.zeros((), dtype=x.dtype, device=x.device))

    def extra_repr(self) -> str:
        return f"mask_value={self.mask_value}"

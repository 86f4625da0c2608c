"""Torch module of the Concatenate layer."""

from __future__ import annotations

import torch
from torch import nn


class ConcatenateModule(nn.Module):
    """Keras Concatenate along `axis` (non-negative, counted with the batch axis)."""

    def __init__(self, axis: int):
        super().__init__()
        self.axis = axis

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"

    def compute_mask(self, *xs: torch.Tensor, mask: list[torch.Tensor | None]) -> torch.Tensor:
        """Keras's Concatenate.compute_mask: each mask (all True for an unmasked input) widened
        to its input's shape, concatenated along the axis, then any() over the last axis."""
        full = [
            torch.ones_like(x, dtype=torch.bool) if m is None else m.unsqueeze(-1).expand(x.shape)
            for x, m in zip(xs, mask, strict=True)
        ]
        return torch.cat(full, dim=self.axis).any(-1)

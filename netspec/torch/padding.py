"""Torch modules of ZeroPadding1D/2D/3D and Cropping1D/2D/3D."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ZeroPaddingModule(nn.Module):
    """Keras ZeroPadding1D/2D/3D: `F.pad` with zeros (`pads` in F.pad's order, last axis
    first), on the tensor as laid out (no permutation)."""

    def __init__(self, pads: list[int]):
        super().__init__()
        self.pads = list(pads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pads)

    def extra_repr(self) -> str:
        return f"pads={self.pads}"


class CroppingModule(nn.Module):
    """Keras Cropping1D/2D/3D: a slicing view. `crops[axis]` is (before, after); axes whose
    size was unknown statically are checked in forward, as Keras checks them when called."""

    def __init__(self, crops: dict[int, tuple[int, int]], variable: list[int]):
        super().__init__()
        self.crops = dict(crops)
        self.index = (slice(None),) * min(crops) + tuple(
            slice(crops[a][0], -crops[a][1] or None) for a in sorted(crops)
        )
        self.variable = [(a, sum(crops[a])) for a in variable]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for axis, cut in self.variable:
            if x.shape[axis] <= cut:
                raise ValueError(
                    f"cropping {self.crops[axis]} leaves nothing of axis {axis} "
                    f"(size {x.shape[axis]}) of the input {tuple(x.shape)}"
                )
        return x[self.index]

    def extra_repr(self) -> str:
        return f"crops={self.crops}"

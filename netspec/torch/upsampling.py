"""Torch modules of UpSampling1D/2D/3D."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layout import ChannelsFirstCapable

_INTEGERS = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


class RepeatModule(nn.Module):
    """Keras UpSampling1D/3D and UpSampling2D `nearest`: each axis repeated `repeats[axis]`
    times (Keras's `ops.repeat`), as one broadcast view and a single copy."""

    def __init__(self, repeats: list[int]):
        super().__init__()
        self.repeats = list(repeats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        view, expanded, out = [], [], []
        for n, r in zip(x.shape, self.repeats, strict=True):
            view.append(n)
            expanded.append(n)
            out.append(n * r)
            if r != 1:
                view.append(1)
                expanded.append(r)
        return x.reshape(view).expand(expanded).reshape(out)

    def extra_repr(self) -> str:
        return f"repeats={self.repeats}"


class ResizeModule(ChannelsFirstCapable):
    """Keras UpSampling2D `bilinear` / `bicubic`, as Keras's torch backend's `image.resize`:
    `F.interpolate` to (rows * f0, cols * f1), align_corners=False, no antialiasing, computed in
    float32 unless the input is float64; the result goes back to the input's dtype (integers
    rounded first, uint8 bicubic clamped to [0, 255]). channels_last inputs are viewed channels
    first (torch's channels_last memory format) and back."""

    def __init__(self, mode: str, factors: tuple[int, int], channels_last: bool):
        super().__init__()
        self.mode = mode
        self.factors = tuple(factors)
        self.channels_last = channels_last

    def takes_channels_first(self, rank: int) -> bool:
        return self.channels_last

    def forward(self, x: torch.Tensor, channels_first: bool = False) -> torch.Tensor:
        """`channels_first`: x and the result are channels-first views (layout.py)."""
        dtype = x.dtype
        moved = self.channels_last and not channels_first
        if moved:
            x = x.movedim(-1, 1)
        if dtype not in (torch.float32, torch.float64):
            x = x.float()
        size = (x.shape[2] * self.factors[0], x.shape[3] * self.factors[1])
        y = F.interpolate(x, size=size, mode=self.mode, align_corners=False)
        if dtype != y.dtype:
            if self.mode == "bicubic" and dtype == torch.uint8:
                y = y.clamp(0, 255)
            if dtype in _INTEGERS:
                y = y.round()
            y = y.to(dtype)
        return y.movedim(1, -1) if moved else y

    def extra_repr(self) -> str:
        return f"{self.mode}, factors={self.factors}"

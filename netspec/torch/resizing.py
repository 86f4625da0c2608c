"""Torch module of the Resizing layer, and the aspect-ratio crop that CenterCrop shares
(imported by builders)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..layers.resizing import aspect_crop, aspect_pad

_INTEGERS = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
_MODES = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic"}


def crop_to_aspect(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The largest centred window of a (N, C, H, W) image with the aspect ratio of (height,
    width), as Keras's torch backend and `smart_resize` crop it."""
    top, left, rows, cols = aspect_crop(x.shape[-2], x.shape[-1], height, width)
    return x[:, :, top : top + rows, left : left + cols]


def pad_to_aspect(x: torch.Tensor, height: int, width: int, fill: float) -> torch.Tensor:
    """A (N, C, H, W) image padded with `fill` on both sides of its short axis towards the
    aspect ratio of (height, width), as Keras's torch backend pads it."""
    rows, cols = aspect_pad(x.shape[-2], x.shape[-1], height, width)
    if rows or cols:
        x = F.pad(x, (cols, cols, rows, rows), value=fill)
    return x


def resize(x: torch.Tensor, size: tuple[int, int], mode: str, antialias: bool) -> torch.Tensor:
    """Keras's torch-backend `image.resize` of a float (N, C, H, W) image."""
    smooth = mode in ("bilinear", "bicubic")
    return F.interpolate(
        x,
        size=size,
        mode=_MODES[mode],
        align_corners=False if smooth else None,
        antialias=antialias and smooth,  # Keras ignores antialias for nearest
    )


class ResizingModule(nn.Module):
    """Keras Resizing on the torch backend: channels_last images viewed channels first and
    back, computed in float32 (float64 stays), an optional aspect-ratio crop or padding, then
    `F.interpolate`; integer images are rounded and cast back (uint8 bicubic clamped to
    [0, 255] first; other integer types wrap on overflow, as the cast in Keras does)."""

    def __init__(self, spec, channels_last: bool):
        super().__init__()
        self.size = (spec.height, spec.width)
        self.mode = spec.interpolation
        self.antialias = spec.antialias
        self.crop = spec.crop_to_aspect_ratio
        self.pad = spec.pad_to_aspect_ratio
        self.fill = float(spec.fill_value)
        self.channels_last = channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        if self.channels_last:
            x = x.movedim(-1, 1)
        if dtype not in (torch.float32, torch.float64):
            x = x.float()
        if self.crop:
            x = crop_to_aspect(x, *self.size)
        elif self.pad:
            x = pad_to_aspect(x, *self.size, self.fill)
        y = resize(x, self.size, self.mode, self.antialias)
        if self.mode == "bicubic" and dtype == torch.uint8:
            y = y.clamp(0, 255)
        if self.channels_last:
            y = y.movedim(1, -1)
        if y.dtype != dtype:
            y = (y.round() if dtype in _INTEGERS else y).to(dtype)
        return y

    def extra_repr(self) -> str:
        return f"{self.mode}, size={self.size}"

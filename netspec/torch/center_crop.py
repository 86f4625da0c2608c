"""Torch module of the CenterCrop layer (imported by its builder)."""

from __future__ import annotations

import torch
from torch import nn

from .resizing import crop_to_aspect, resize


class CenterCropModule(nn.Module):
    """Keras CenterCrop on the torch backend: images cast to float32; a slicing view of the
    central window when the image is at least (height, width), else Keras's `smart_resize`
    (aspect-ratio crop, then bilinear resize), decided per call from the actual sizes."""

    def __init__(self, height: int, width: int, channels_last: bool):
        super().__init__()
        self.height = height
        self.width = width
        self.channels_last = channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.float32:  # Keras casts the images to its compute dtype
            x = x.float()
        if self.channels_last:
            x = x.movedim(-1, 1)
        h, w = x.shape[-2], x.shape[-1]
        if h >= self.height and w >= self.width:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            y = x[:, :, top : top + self.height, left : left + self.width]
        else:
            size = (self.height, self.width)
            y = resize(crop_to_aspect(x, *size), size, "bilinear", antialias=False)
        return y.movedim(1, -1) if self.channels_last else y

    def extra_repr(self) -> str:
        return f"height={self.height}, width={self.width}"

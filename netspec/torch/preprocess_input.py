"""Torch module of the PreprocessInput layer (imported by its builder)."""

from __future__ import annotations

import torch
from torch import nn

from ..layers.preprocess_input import CAFFE_MEAN, TORCH_MEAN, TORCH_STD


class PreprocessInputModule(nn.Module):
    """Keras's imagenet_utils preprocessing (tensor path), in float32: tf `x / 127.5 - 1`;
    torch `(x / 255 - mean) / std`; caffe the channels reversed, then `x - mean`. The
    constants are non-persistent buffers (no weights, nothing in the state dict)."""

    def __init__(self, mode: str, channels_first: bool):
        super().__init__()
        self.mode = mode
        self.axis = 1 if channels_first else -1
        shape = (3, 1, 1) if channels_first else (3,)
        mean = CAFFE_MEAN if mode == "caffe" else TORCH_MEAN
        self.register_buffer("mean", torch.tensor(mean).reshape(shape), persistent=False)
        self.register_buffer("std", torch.tensor(TORCH_STD).reshape(shape), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            return (x / 255.0 - self.mean) / self.std
        return x.flip(self.axis) - self.mean

    def extra_repr(self) -> str:
        return f"mode={self.mode}, axis={self.axis}"

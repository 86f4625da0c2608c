"""Torch module of the Activation layer, which the elementwise activation layers (ReLU, ELU,
LeakyReLU, Softmax on one axis ...) build too."""

from __future__ import annotations

import torch
from torch import nn

from .base import as_float


class ActivationModule(nn.Module):
    """Keras Activation: the activation's torch function."""

    def __init__(self, spec):
        super().__init__()
        self.fn = spec.function()
        self.name = spec.type

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(as_float(x))

    def extra_repr(self) -> str:
        return self.name

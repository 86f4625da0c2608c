"""Torch module of the Activation layer, which the elementwise activation layers (ReLU, ELU,
LeakyReLU, Softmax on one axis ...) build too."""

from __future__ import annotations

import torch

from .base import as_float
from .layout import ChannelsFirstCapable


class ActivationModule(ChannelsFirstCapable):
    """Keras Activation: the activation's torch function. One without an `axis` (not softmax,
    glu ...) is elementwise, so it runs on a channels-first view as given (layout.py)."""

    follows_input = True

    def __init__(self, spec):
        super().__init__()
        self.fn = spec.function()
        self.name = spec.type
        self.elementwise = "axis" not in type(spec).model_fields

    def takes_channels_first(self, rank: int) -> bool:
        return self.elementwise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(as_float(x))

    def extra_repr(self) -> str:
        return self.name

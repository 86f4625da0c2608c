"""Torch modules of the noise layers GaussianNoise, GaussianDropout and AlphaDropout:
training-only noise with Keras's distributions, seeded draws as `SeededModule` makes them."""

from __future__ import annotations

import math

import torch

from .base import as_float
from .random import SeededModule

# SELU's constants, as keras.layers.AlphaDropout writes them.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class GaussianNoiseModule(SeededModule):
    """Keras GaussianNoise: `x + stddev * N(0, 1)` while training."""

    def __init__(self, stddev: float, seed: int | None):
        super().__init__(seed)
        self.stddev = float(stddev)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = as_float(x)
        if not self.training or self.stddev == 0.0:
            return x
        return torch.add(x, self.draw("normal", x.shape, x), alpha=self.stddev)

    def extra_repr(self) -> str:
        return f"stddev={self.stddev}, seed={self.seed}"


class GaussianDropoutModule(SeededModule):
    """Keras GaussianDropout: `x * N(1, rate / (1 - rate))` while training."""

    def __init__(self, rate: float, seed: int | None):
        super().__init__(seed)
        self.rate = float(rate)
        self.stddev = math.sqrt(self.rate / (1.0 - self.rate))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = as_float(x)
        if not self.training or self.rate == 0.0:
            return x
        return torch.addcmul(x, x, self.draw("normal", x.shape, x), value=self.stddev)

    def extra_repr(self) -> str:
        return f"rate={self.rate}, seed={self.seed}"


class AlphaDropoutModule(SeededModule):
    """Keras AlphaDropout while training: values dropped with probability `rate` (one draw per
    `noise_shape` entry, broadcast) become `alpha_p = -SELU_ALPHA * SELU_SCALE`, then
    `a * x + b` keeps SELU's mean and variance."""

    def __init__(self, rate: float, noise_shape, seed: int | None):
        super().__init__(seed)
        self.rate = float(rate)
        self.noise_shape = tuple(noise_shape) if noise_shape is not None else None
        alpha_p = -SELU_ALPHA * SELU_SCALE
        self.a = ((1 - self.rate) * (1 + self.rate * alpha_p**2)) ** -0.5
        self.b = -self.a * alpha_p * self.rate
        self.dropped = self.a * alpha_p + self.b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = as_float(x)
        if not self.training or self.rate == 0.0:
            return x
        shape = (
            x.shape
            if self.noise_shape is None
            else [d if n is None else n for n, d in zip(self.noise_shape, x.shape, strict=True)]
        )
        kept = self.draw("uniform", shape, x) >= self.rate
        return torch.where(kept, x * self.a + self.b, self.dropped)

    def extra_repr(self) -> str:
        return f"rate={self.rate}, noise_shape={self.noise_shape}, seed={self.seed}"

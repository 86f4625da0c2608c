"""Torch module of RandomBrightness."""

from __future__ import annotations

import torch

from .augmentation import AugmentationModule


class RandomBrightnessModule(AugmentationModule):
    """Keras's RandomBrightness while training: per image, an offset uniform in
    [lower, upper] times (high - low) added to every value, then clipped to [low, high]."""

    def __init__(
        self, factor: tuple[float, float], value_range: tuple[float, float], seed: int | None
    ):
        super().__init__(seed)
        self.factor = factor
        self.value_range = value_range

    def sample(self, x: torch.Tensor) -> torch.Tensor:
        low, high = self.value_range
        return self.uniform((x.shape[0], 1, 1, 1), *self.factor, x) * (high - low)

    def transform(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x + params, *self.value_range)

    def extra_repr(self) -> str:
        return f"factor={self.factor}, value_range={self.value_range}, seed={self.seed}"

"""Torch module of RandomContrast."""

from __future__ import annotations

import torch

from .augmentation import AugmentationModule


class RandomContrastModule(AugmentationModule):
    """Keras's RandomContrast while training: per image, c uniform in [1 - lower, 1 + upper];
    each value x of a channel becomes (x - m) * c + m, m the channel's mean over the image
    (Keras averages the height axis, then the width axis), clipped to value_range as written
    (torch.clip, as Keras's torch backend: a reversed range gives its upper end)."""

    def __init__(
        self,
        factor: tuple[float, float],
        value_range: tuple[float, float],
        channels_first: bool,
        seed: int | None,
    ):
        super().__init__(seed)
        self.factor = factor
        self.value_range = value_range
        self.channels_first = channels_first

    def sample(self, x: torch.Tensor) -> torch.Tensor:
        lower, upper = self.factor
        return self.uniform((x.shape[0], 1, 1, 1), 1.0 - lower, 1.0 + upper, x)

    def transform(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        height_axis, width_axis = (2, 3) if self.channels_first else (1, 2)
        mean = x.mean(height_axis, keepdim=True).mean(width_axis, keepdim=True)
        return torch.clip((x - mean) * params + mean, *self.value_range)

    def extra_repr(self) -> str:
        return f"factor={self.factor}, value_range={self.value_range}, seed={self.seed}"

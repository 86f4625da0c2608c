"""Torch module of RandomFlip."""

from __future__ import annotations

import torch

from .augmentation import AugmentationModule


class RandomFlipModule(AugmentationModule):
    """Keras's RandomFlip while training: one uniform draw per image, flipped where it is
    <= 0.5; horizontal flips the width axis, vertical the height axis, both modes both axes
    with the same draw."""

    def __init__(self, mode: str, channels_first: bool, seed: int | None):
        super().__init__(seed)
        self.mode = mode
        self.channels_first = channels_first

    def sample(self, x: torch.Tensor) -> torch.Tensor:
        return self.draw("uniform", (x.shape[0], 1, 1, 1), x) <= 0.5

    def transform(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        height_axis, width_axis = (2, 3) if self.channels_first else (1, 2)
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            x = torch.where(params, x.flip(width_axis), x)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            x = torch.where(params, x.flip(height_axis), x)
        return x

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, seed={self.seed}"

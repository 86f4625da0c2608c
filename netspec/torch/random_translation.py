"""Torch module of RandomTranslation."""

from __future__ import annotations

import torch

from .augmentation import AffineModule, image_size


class RandomTranslationModule(AffineModule):
    """Keras's RandomTranslation while training: per image dy = height * a draw from the
    height range, dx = width * one from the width range (drawn in that order, as Keras), and
    Keras's translation matrix [1, 0, -dx, 0, 1, -dy] applied by its affine transform."""

    def __init__(
        self,
        height_factor: tuple[float, float],
        width_factor: tuple[float, float],
        fill_mode: str,
        interpolation: str,
        fill_value: float,
        channels_first: bool,
        seed: int | None,
    ):
        super().__init__(fill_mode, interpolation, fill_value, channels_first, seed)
        self.height_factor = height_factor
        self.width_factor = width_factor

    def sample(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, 2) translations in pixels: (dx, dy), Keras's order."""
        height, width = image_size(x, self.channels_first)
        shape = (x.shape[0], 1)
        dy = self.uniform(shape, *self.height_factor, x) * height
        dx = self.uniform(shape, *self.width_factor, x) * width
        return torch.cat([dx, dy], dim=1)

    def matrix(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        ones, zeros = torch.ones_like(params[:, 0]), torch.zeros_like(params[:, 0])
        return torch.stack([ones, zeros, -params[:, 0], zeros, ones, -params[:, 1]], dim=1)

    def extra_repr(self) -> str:
        return (
            f"height_factor={self.height_factor}, width_factor={self.width_factor}, "
            f"{self.settings_repr()}"
        )

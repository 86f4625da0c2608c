"""Torch module of RandomZoom."""

from __future__ import annotations

import torch

from .augmentation import AffineModule, image_size


def zoom_matrix(zooms: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Keras's `_get_zoom_matrix` of (batch, 2) zooms (x, y): [zx, 0, (width - 1) / 2 *
    (1 - zx), 0, zy, (height - 1) / 2 * (1 - zy)] per image."""
    zx, zy = zooms[:, 0], zooms[:, 1]
    x_offset = (float(width) - 1.0) / 2.0 * (1.0 - zx)
    y_offset = (float(height) - 1.0) / 2.0 * (1.0 - zy)
    zeros = torch.zeros_like(zx)
    return torch.stack([zx, zeros, x_offset, zeros, zy, y_offset], dim=1)


class RandomZoomModule(AffineModule):
    """Keras's RandomZoom while training: per image zy = 1 + a draw from the height range,
    zx = 1 + one from the width range (zy itself without a width range), applied by Keras's
    affine transform."""

    def __init__(
        self,
        height_factor: tuple[float, float],
        width_factor: tuple[float, float] | None,
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
        """(batch, 2) zooms: (x, y), Keras's order; drawn y first, as Keras."""
        shape = (x.shape[0], 1)
        low, high = self.height_factor
        height_zoom = self.uniform(shape, 1.0 + low, 1.0 + high, x)
        width_zoom = height_zoom
        if self.width_factor is not None:
            low, high = self.width_factor
            width_zoom = self.uniform(shape, 1.0 + low, 1.0 + high, x)
        return torch.cat([width_zoom, height_zoom], dim=1)

    def matrix(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        return zoom_matrix(params, *image_size(x, self.channels_first))

    def extra_repr(self) -> str:
        return (
            f"height_factor={self.height_factor}, width_factor={self.width_factor}, "
            f"{self.settings_repr()}"
        )
